import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createGatehouseDataConverter } from '../../codec/gatehouse-data-converter';
import type { PayloadKeyring } from '../../codec/payload-keyring';
import type { RouteTable } from '../../domain/route-table';

const ROOT = path.resolve(__dirname, '..', '..');

/** How large the reliability runs are: `reduced` in CI, `full` with GATEHOUSE_RELIABILITY_SCALE=full. */
export const FULL_SCALE = process.env.GATEHOUSE_RELIABILITY_SCALE === 'full';
export const scaled = (reduced: number, full: number): number => (FULL_SCALE ? full : reduced);

/** Prints a scenario's figures, so a run's log says what each row measured. */
export function report(row: string, figures: Record<string, unknown>): void {
  process.stdout.write(
    `[reliability] ${row}: ${Object.entries(figures)
      .map(
        ([name, value]) => `${name} ${typeof value === 'number' ? Number(value.toFixed(2)) : String(value)}`,
      )
      .join(' · ')}\n`,
  );
}

export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The payload keys as a deployment hands them to a process: through the environment. */
export function keysForEnvironment(keyring: PayloadKeyring): string {
  return `${keyring.activeKeyId}:${keyring.key(keyring.activeKeyId)!.toString('base64')}`;
}

export interface WorkerProcess {
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<string>;
}

/**
 * Runs `npm run worker` (worker/start-platform.ts in worker mode) as its own process, the way a fleet
 * runs it: settings from the environment only. Resolves once it says it is ready.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv, name: string): Promise<WorkerProcess> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-reliability-'));
  const logFile = path.join(logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  // One process (tsx as a loader, not its CLI, which would run the worker as a grandchild): a kill hits the worker.
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/start-platform.ts', 'worker'], {
    cwd: ROOT,
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      output += chunk.toString();
      if (output.includes('[gatehouse] ready.')) resolve();
      if (output.includes('[gatehouse] failed:'))
        reject(new Error(`worker ${name} failed to start:\n${output}`));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  // Cleared once the race is decided: a pending 90 s timer kept the test process alive after its run.
  let readyTimer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      exited.then((how) => {
        throw new Error(`worker ${name} exited (${how}) before it was ready:\n${output}`);
      }),
      new Promise((_, reject) => {
        readyTimer = setTimeout(
          () => reject(new Error(`worker ${name} not ready after 90 s:\n${output}`)),
          90_000,
        );
      }),
    ]);
  } finally {
    clearTimeout(readyTimer);
  }
  return {
    child,
    logFile,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** How many runs Temporal knows of for a workflow id (1 = never reset, retried or started twice). */
export async function runsOf(client: Client, workflowId: string): Promise<number> {
  let runs = 0;
  for await (const _execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs += 1;
  return runs;
}

/** A route table file for a worker process. */
export function writeRouteTable(table: RouteTable): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'gatehouse-routes-')), 'routes.json');
  writeFileSync(file, JSON.stringify(table));
  return file;
}

/** A client of the given server with the given payload keys. */
export async function connectClient(
  address: string,
  keyring: PayloadKeyring,
): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  return {
    client: new Client({ connection, dataConverter: createGatehouseDataConverter(keyring) }),
    close: () => connection.close(),
  };
}
