import { compileTenantPatterns, createEntityFinder, redactText } from '../../../governance/redaction';
import { BUILT_IN_RECOGNIZERS } from '../../../governance/redaction/built-in-recognizers';
import { bestCpuMsOf } from '../../support/cpu-time';

/**
 * Redaction runs on the worker's event loop over text callers control, so no input may make it slow.
 * Each adversarial input below is built to trip one recognizer into backtracking; each must be
 * handled in well under 100 ms per 32,000 characters (the 100k-character input gets 3.1 times that). What is measured is the CPU time this process spent (best of three
 * runs), not wall-clock time: on a machine shared by several test workers, wall-clock time mostly
 * measures waiting for a core. A superlinear recognizer would spend seconds of CPU on these inputs.
 */
const LIMIT_MS = 100;
const LIMIT_CHARS = 32_000;

const fill = (unit: string, length = 32_000) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);

function mixedScripts(length: number): string {
  const pieces = [
    'Grüße aus Köln ',
    'Привет, мир ',
    '日本語のテキスト',
    'مرحبا بالعالم ',
    '🙂👍 ',
    'abc123 ',
    '4111 ',
    '@.',
    'ñ-1.2:',
  ];
  let text = '';
  for (let index = 0; text.length < length; index += 1) text += pieces[index % pieces.length];
  return text.slice(0, length);
}

const ADVERSARIAL: Record<string, string> = {
  'letters without spaces': fill('a'),
  'digits without spaces': fill('7'),
  '@ signs': fill('@'),
  dots: fill('.'),
  'digits, @ and dots': fill('1@.'),
  'local@label. repeated': fill('a@a.'),
  'digits and spaces': fill('1 '),
  'digits and hyphens': fill('1-'),
  'digits and dots': fill('1.'),
  'hex and colons': fill('a:1:'),
  'base64 run': fill('aB3/+x9Z'),
  'eyJ segments': fill('eyJa.'),
  'PEM BEGIN markers without END': fill('-----BEGIN RSA PRIVATE KEY-----\n'),
  'plus signs and digits': fill('+1 '),
  'brackets and digits': fill('(1'),
  'IBAN-like groups': fill('DE89 '),
  'placeholder starts': fill('[A_1'),
  'AKIA repeated': fill('AKIA'),
  '100k characters of mixed scripts': mixedScripts(100_000),
};

const tenant = compileTenantPatterns([
  { name: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}' },
  { name: 'NESTED', pattern: 'X(a+)+(b|bb)*\\d' },
  { name: 'WIDE', pattern: '[A-Za-z0-9.@:+/-]{2,64}Z', caseInsensitive: true },
]);
if (!tenant.ok) throw new Error(tenant.problems.join('\n'));
const finder = createEntityFinder({ tenantPatterns: tenant.recognizers });

describe('every recognizer is linear in its input', () => {
  const worst: Array<[input: string, slowestMs: number, redactMs: number]> = [];

  afterAll(() => {
    console.log(
      [
        'CPU ms per adversarial input (best of 3): slowest single measurement / whole redaction',
        ...worst.map(
          ([input, slowest, redact]) =>
            `${input.padEnd(36)} ${slowest.toFixed(1).padStart(6)} ${redact.toFixed(1).padStart(6)}`,
        ),
      ].join('\n'),
    );
  });

  beforeAll(() => {
    // Compile the regexes and warm the JIT once, as a running worker has.
    redactText(`${mixedScripts(2000)} jane@example.com 4111 1111 1111 1111`, {
      tenantPatterns: tenant.recognizers,
    });
  });

  it.each(Object.entries(ADVERSARIAL))('%s', (name, text) => {
    const timings: Record<string, number> = {};
    for (const [type, recognizer] of Object.entries(BUILT_IN_RECOGNIZERS)) {
      timings[type] = bestCpuMsOf(() => recognizer.find(text));
    }
    for (const recognizer of tenant.recognizers) {
      timings[recognizer.type] = bestCpuMsOf(() => recognizer.find(text));
    }
    timings['all, with overlaps resolved'] = bestCpuMsOf(() => finder.find(text));
    timings['redact'] = bestCpuMsOf(() => redactText(text, { tenantPatterns: tenant.recognizers }));
    worst.push([name, Math.max(...Object.values(timings)), timings['redact']]);
    const limitMs = LIMIT_MS * Math.max(1, text.length / LIMIT_CHARS);
    const slow = Object.entries(timings).filter(([, ms]) => ms >= limitMs);
    expect(slow).toEqual([]);
  });

  it('scales linearly: 8× the input costs far less than 64× the time', () => {
    // A quadratic recognizer would take 64 times longer on 8 times the text.
    const small = mixedScripts(12_500) + fill('1 ', 12_500);
    const large = mixedScripts(100_000) + fill('1 ', 100_000);
    const smallMs = Math.max(
      bestCpuMsOf(() => finder.find(small)),
      1,
    );
    const largeMs = bestCpuMsOf(() => finder.find(large));
    console.log(
      `redaction scan, CPU time: ${small.length} chars ${smallMs.toFixed(1)} ms, ${large.length} chars ${largeMs.toFixed(1)} ms`,
    );
    expect(largeMs / smallMs).toBeLessThan(24);
  });
});
