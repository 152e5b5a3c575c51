import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FAILURE_TYPES, INFERENCE_FAILURE_TYPES } from '../../domain/failure-types';
import { FRONT_DOOR_FAILURE_TYPES } from '../../frontdoor/openai-error';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCE_FOLDERS = [
  'activities',
  'bench',
  'client',
  'codec',
  'domain',
  'emulators',
  'frontdoor',
  'governance',
  'history',
  'net',
  'providers',
  'retrieval',
  'scripts',
  'store',
  'telemetry',
  'workflows',
  'worker',
];
const MAX_LINES = 350;
const MAX_WORKFLOW_FUNCTION_LINES = 150;

function sourceFiles(folder: string): string[] {
  const absolute = path.join(ROOT, folder);
  let entries: string[];
  try {
    entries = readdirSync(absolute);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const file = path.join(absolute, entry);
    if (statSync(file).isDirectory()) return sourceFiles(path.join(folder, entry));
    return entry.endsWith('.ts') ? [path.join(folder, entry)] : [];
  });
}

/** Issue: hot files had grown past what a new maintainer can hold in their head. */
describe('the shape of the source', () => {
  it(`has no file over ${MAX_LINES} lines without a one-line reason at its top`, () => {
    const unexplained = SOURCE_FOLDERS.flatMap(sourceFiles).filter((file) => {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      const lines = text.split('\n');
      return (
        lines.length > MAX_LINES && !lines.slice(0, 2).some((line) => line.startsWith('// Long by design: '))
      );
    });
    expect(unexplained).toEqual([]);
  });

  it(`has no function in workflows/ longer than ${MAX_WORKFLOW_FUNCTION_LINES} lines`, () => {
    const long: string[] = [];
    for (const file of sourceFiles('workflows')) {
      const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, index) => {
        const match = /^(?:export )?(?:async )?function (\w+)/.exec(line);
        if (!match) return;
        const end = lines.findIndex((candidate, after) => after > index && candidate === '}');
        if (end - index + 1 > MAX_WORKFLOW_FUNCTION_LINES)
          long.push(`${file}: ${match[1]} (${end - index + 1} lines)`);
      });
    }
    expect(long).toEqual([]);
  });

  it.each([
    ['domain/failure-types.ts', [...Object.values(FAILURE_TYPES), ...Object.values(INFERENCE_FAILURE_TYPES)]],
    ['frontdoor/openai-error.ts', Object.values(FRONT_DOOR_FAILURE_TYPES)],
  ])('names each failure type of %s only there, its registry', (registry, types) => {
    expect(types.length).toBeGreaterThan(5);
    const literals = new Set(types.flatMap((type) => [`'${type}'`, `"${type}"`, `\`${type}\``]));
    const inRegistry = readFileSync(path.join(ROOT, registry), 'utf8');
    expect(types.filter((type) => !inRegistry.includes(`'${type}'`))).toEqual([]);
    const elsewhere = SOURCE_FOLDERS.flatMap(sourceFiles)
      .filter((file) => file !== path.normalize(registry))
      .flatMap((file) => {
        const text = readFileSync(path.join(ROOT, file), 'utf8');
        return [...literals]
          .filter((literal) => text.includes(literal))
          .map((literal) => `${file}: ${literal}`);
      });
    expect(elsewhere).toEqual([]);
  });
});
