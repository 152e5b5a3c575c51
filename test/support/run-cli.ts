import { buildCli } from '../../client/cli';
import { CliError, EXIT_CODES } from '../../client/cli-context';
import type { GatehouseSettings } from '../../config/environment';

export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs one `gatehouse …` command in this process, as `bin/gatehouse.js` would, and captures what it printed. */
export async function runCli(settings: GatehouseSettings, ...args: string[]): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => stdout.push(String(chunk)) > 0);
  const err = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0);
  const before = process.exitCode;
  process.exitCode = undefined;
  let exitCode = 0;
  try {
    await buildCli(settings).parseAsync(['node', 'gatehouse', ...args]);
    exitCode = Number(process.exitCode ?? 0);
  } catch (error) {
    stderr.push(`gatehouse: ${(error as Error).message}\n`);
    exitCode = error instanceof CliError ? error.exitCode : EXIT_CODES.error;
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
  return { stdout: stdout.join(''), stderr: stderr.join(''), exitCode };
}

/** Runs a command with `--format json` and parses what it printed (the run is returned to assert on too). */
export async function runCliJson<T>(
  settings: GatehouseSettings,
  ...args: string[]
): Promise<CliRun & { json: T }> {
  const run = await runCli(settings, ...args, '--format', 'json');
  try {
    return { ...run, json: JSON.parse(run.stdout) as T };
  } catch {
    throw new Error(`gatehouse ${args.join(' ')} printed no JSON (exit ${run.exitCode}): ${run.stderr}`);
  }
}
