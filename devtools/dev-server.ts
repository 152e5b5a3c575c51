// Long by design: starting, probing and stopping one child server, with the port races that go with it.
/**
 * Runs `temporal server start-dev` as a child process and reports when it can serve requests.
 *
 * Used by the embedded `npm start` path and by the test suite's global setup.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import net from 'node:net';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes, type SearchAttributeTypeName } from '../worker/search-attributes';

/**
 * Settings for the embedded single-shard server (docs/decisions/0010):
 * - the dev server batches timers to a 1 s time shift by default, so a 20 ms retry backoff would wait a
 *   whole second (`sleep(20 ms)` in a workflow: p50 1016 ms before, 100 ms after);
 * - the history queues' readers poll at most 20 times a second per shard (a token bucket, burst 20) and
 *   the dev server has one shard, so under back-to-back load every new transfer or timer task waited for
 *   the next 50 ms token. That limiter, not dispatch, was the "~50 ms per hand-off".
 */
export const EMBEDDED_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = {
  'history.timerProcessorMaxTimeShift': '10ms',
  'history.transferProcessorMaxPollRPS': 10_000,
  'history.timerProcessorMaxPollRPS': 10_000,
};

/**
 * The server's state file with a write-ahead log and `synchronous=normal`: each state write 1.1 ms
 * instead of 5.1 ms. A power loss (not a process crash) may lose the last transactions; README says so.
 */
export const EMBEDDED_SQLITE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'normal',
};

export interface StartDevServerOptions {
  /** Absolute path of the Temporal CLI (see ensureTemporalCli). */
  cliPath: string;
  /** SQLite file that keeps state across restarts; in-memory when omitted. */
  dbFile?: string;
  /** Address the frontend (and UI) bind to. Default 127.0.0.1. */
  ip?: string;
  /** Frontend gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted. Ignored when headless. */
  uiPort?: number;
  headless?: boolean;
  /** The codec server the embedded Web UI decodes payloads through (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  /** Namespace created at start and checked for readiness. Default 'default'. */
  namespace?: string;
  searchAttributes: Readonly<Record<string, SearchAttributeTypeName>>;
  /** Extra `--dynamic-config-value KEY=JSON` entries. */
  dynamicConfig?: Readonly<Record<string, unknown>>;
  /** Server stdout/stderr are appended here; the last lines are always kept for error messages. */
  logFile?: string;
  /** Default 60 s: a cold start on a busy 2-core machine can take 10–20 s. */
  startupTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface DevServerHandle {
  /** host:port for `Connection.connect({ address })`. */
  address: string;
  uiUrl?: string;
  port: number;
  uiPort?: number;
  namespace: string;
  /** The server process id, for diagnostics and leak checks. */
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s; safe to call more than once. */
  stop(): Promise<void>;
}

const TAIL_LINES = 50;
const STOP_GRACE_MS = 10_000;
/** Free ports are found by binding and releasing them, so another process may grab one first. */
const MAX_PORT_RACE_RETRIES = 3;

export async function startDevServer(options: StartDevServerOptions): Promise<DevServerHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      // Ports we picked (and the internal ones the server picks itself) can be taken between the
      // pick and the bind, so a collision is worth a retry; a busy port the caller chose is not.
      const portInUse = err instanceof DevServerStartError && /address already in use/i.test(err.message);
      const callerPortBusy = [options.port, options.uiPort].some(
        (p) => p !== undefined && err instanceof Error && new RegExp(`:${p}\\b`).test(err.message),
      );
      if (!portInUse || callerPortBusy || attempt >= MAX_PORT_RACE_RETRIES) throw err;
      options.log?.('Temporal dev server port was taken meanwhile; retrying on other ports');
    }
  }
}

class DevServerStartError extends Error {}
class ReadinessTimeout extends Error {}

async function startOnce(options: StartDevServerOptions): Promise<DevServerHandle> {
  const log = options.log ?? (() => undefined);
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const headless = options.headless ?? false;
  const timeoutMs = options.startupTimeoutMs ?? 60_000;

  const wanted = [options.port, headless ? 0 : options.uiPort];
  const [port, uiPort] = await freePorts(ip, wanted);
  if (port === undefined) throw new Error('no frontend port');

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  if (headless) args.push('--headless');
  // Only flags CLI 1.5 already had (e.g. not --ui-disable-news-fetch): the binary may be an older
  // one on PATH or the Go-installed fallback.
  else args.push('--ui-port', String(uiPort));
  if (!headless && options.uiCodecEndpoint !== undefined)
    args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (options.dbFile !== undefined) {
    args.push('--db-filename', options.dbFile);
    for (const [pragma, value] of Object.entries(EMBEDDED_SQLITE_PRAGMAS)) {
      args.push('--sqlite-pragma', `${pragma}=${value}`);
    }
  }
  // 'default' always exists; passing it again is harmless but noisy in the server log.
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(options.searchAttributes)) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  for (const [key, value] of Object.entries({ ...EMBEDDED_DYNAMIC_CONFIG, ...options.dynamicConfig })) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  args.push('--log-level', 'warn');

  const [command, commandArgs] = withParentDeathSignal(options.cliPath, args);
  const output = new OutputTail(TAIL_LINES, options.logFile);
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => output.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.write(chunk));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // A persistent listener: an unhandled later 'error' (e.g. a failed kill) would crash the caller.
  const spawnFailed = new Promise<Error>((resolve) => child.on('error', resolve));

  // 'exit' handlers must be synchronous; SIGKILL is the only thing we can still do there.
  const running = (): boolean =>
    child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const killOnParentExit = (): void => {
    if (running()) child.kill('SIGKILL');
  };
  process.on('exit', killOnParentExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (running()) {
        child.kill('SIGTERM');
        // The timer is cleared on exit so it cannot hold the caller's event loop open for 10 s.
        let timer: NodeJS.Timeout | undefined;
        const graceful = await Promise.race([
          exited.then(() => true),
          new Promise<false>((resolve) => {
            timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
          }),
        ]);
        clearTimeout(timer);
        if (!graceful) {
          log(
            `Temporal dev server (pid ${child.pid}) ignored SIGTERM for ${STOP_GRACE_MS / 1000} s; killing it`,
          );
          child.kill('SIGKILL');
          await exited;
        }
      }
      process.removeListener('exit', killOnParentExit);
      await output.close();
    })();
    return stopping;
  };

  const connectHost = ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '::1' : ip;
  const hostForUrl = connectHost.includes(':') ? `[${connectHost}]` : connectHost;
  const address = `${hostForUrl}:${port}`;
  const started = Date.now();
  log(
    `Starting the Temporal dev server on ${address}${options.dbFile ? ` (state in ${options.dbFile})` : ''} …`,
  );

  const failure = (reason: string): DevServerStartError =>
    new DevServerStartError(
      `Temporal dev server ${reason}\nCommand: ${options.cliPath} ${args.join(' ')}\n` +
        (options.logFile ? `Log: ${options.logFile}\n` : '') +
        `Last output:\n${output.tail() || '(none)'}`,
    );

  const abort = new AbortController();
  try {
    await Promise.race([
      waitUntilServing(address, namespace, options.searchAttributes, Date.now() + timeoutMs, abort.signal),
      exited.then(({ code, signal }) => {
        throw failure(`exited during startup (${code !== null ? `code ${code}` : `signal ${signal}`}).`);
      }),
      spawnFailed.then((err) => {
        throw failure(`could not be started (${err.message}).`);
      }),
    ]);
  } catch (err) {
    abort.abort();
    await stop();
    if (err instanceof DevServerStartError) throw err;
    if (err instanceof ReadinessTimeout) {
      throw failure(`did not become ready within ${timeoutMs / 1000} s (last error: ${err.message}).`);
    }
    throw failure(`started but failed its readiness check: ${errorMessage(err)}`);
  }

  if (child.pid === undefined) throw failure('has no pid.');
  const uiUrl = headless ? undefined : `http://${hostForUrl}:${uiPort}`;
  log(
    `Temporal dev server ready on ${address} after ${((Date.now() - started) / 1000).toFixed(1)} s` +
      (uiUrl ? `; UI at ${uiUrl}` : ''),
  );
  return {
    address,
    port,
    namespace,
    pid: child.pid,
    stop,
    ...(uiUrl !== undefined && uiPort !== undefined ? { uiUrl, uiPort } : {}),
  };
}

/**
 * Polls until the frontend answers getSystemInfo, the namespace exists, and the search attributes
 * are registered. Each attempt uses a fresh connection: a gRPC channel that failed to connect
 * backs off for up to minutes, which would hide a server that came up meanwhile.
 */
async function waitUntilServing(
  address: string,
  namespace: string,
  searchAttributes: Readonly<Record<string, SearchAttributeTypeName>>,
  deadline: number,
  signal: AbortSignal,
): Promise<void> {
  let lastError: unknown = new Error('no attempt made');
  const [host, portText] = splitAddress(address);
  while (!signal.aborted) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new ReadinessTimeout(errorMessage(lastError));
    // A plain TCP probe is far cheaper than a gRPC connect while the process is still booting.
    const listening = await canConnect(host, Number(portText));
    if (signal.aborted) return;
    if (!listening) {
      lastError = new Error(`nothing listening on ${address} yet`);
      await delay(200);
      continue;
    }
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: Math.min(5_000, remaining) });
      await connection.withDeadline(Date.now() + Math.min(5_000, remaining), () =>
        connection!.workflowService.describeNamespace({ namespace }),
      );
      if (signal.aborted) return;
      // The flags registered them at boot; this verifies the types when a persisted db file was reused.
      await ensureSearchAttributes(connection, namespace, searchAttributes);
      return;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('Search attribute type conflict')) throw err;
      lastError = err;
      await delay(250);
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
}

/**
 * On Linux, `setpriv --pdeathsig` makes the kernel send SIGTERM to the server when this process
 * dies, even by SIGKILL, where no 'exit' handler runs. setpriv execs the CLI, so the pid is the
 * server's own.
 */
function withParentDeathSignal(cliPath: string, args: string[]): [string, string[]] {
  if (process.platform === 'linux' && setprivSupportsPdeathsig()) {
    return ['setpriv', ['--pdeathsig', 'TERM', '--', cliPath, ...args]];
  }
  return [cliPath, args];
}

let setprivChecked: boolean | undefined;
function setprivSupportsPdeathsig(): boolean {
  if (setprivChecked === undefined) {
    try {
      const help = execFileSync('setpriv', ['--help'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5_000,
      });
      setprivChecked = help.includes('--pdeathsig');
    } catch {
      setprivChecked = false;
    }
  }
  return setprivChecked;
}

/** Returns the wanted ports, replacing undefined with free ones (0 stays 0 = not needed). */
async function freePorts(host: string, wanted: (number | undefined)[]): Promise<(number | undefined)[]> {
  // Hold every probe socket until all are chosen so two picks cannot return the same port.
  const servers: net.Server[] = [];
  try {
    const result: (number | undefined)[] = [];
    for (const port of wanted) {
      if (port !== undefined) {
        result.push(port === 0 ? undefined : port);
        continue;
      }
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, resolve);
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
      result.push(address.port);
    }
    return result;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function splitAddress(address: string): [string, string] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index).replace(/^\[|\]$/g, ''), address.slice(index + 1)];
}

/** Keeps the last lines of the server's output in memory and optionally appends everything to a file. */
class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';
  private readonly file: WriteStream | undefined;

  constructor(
    private readonly max: number,
    logFile: string | undefined,
  ) {
    this.file = logFile === undefined ? undefined : createWriteStream(logFile, { flags: 'a' });
    // A log file that cannot be written must not take the server down; the tail still works.
    this.file?.on('error', () => undefined);
  }

  write(chunk: Buffer): void {
    this.file?.write(chunk);
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.push(line);
  }

  tail(): string {
    return [...this.lines, ...(this.partial === '' ? [] : [this.partial])].join('\n');
  }

  close(): Promise<void> {
    const file = this.file;
    if (file === undefined || file.closed) return Promise.resolve();
    return new Promise((resolve) => file.end(resolve));
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
