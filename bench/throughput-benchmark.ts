import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { BENCH_QUESTION, benchRequest, PRIMARY_MODEL, type BenchEnvironment } from './bench-environment';
import { countHistoryEvents, startCpuMeter } from './cpu-per-request';
import { round, summarize, type Summary } from './statistics';

/** One closed-loop measurement window: N callers, each sending its next request when the last returns. */
export interface LoadWindow {
  concurrency: number;
  modelLatencyMs: number;
  /** Requests completed inside the window, successes and errors. */
  requests: number;
  errors: number;
  requestsPerSecond: number;
  latency: Summary;
  /** This process: the workers (main and workflow threads), the client and the in-process emulator. */
  processCpuMsPerRequest: number;
  serverCpuMsPerRequest?: number;
  windowMs: number;
}

export interface ThroughputConfiguration {
  id: string;
  concurrency: number;
  modelLatencyMs: number;
  gatehouse: LoadWindow;
  /** The same callers calling the emulator directly with the AWS SDK: the model's own latency and CPU. */
  direct: LoadWindow;
  historyEvents: number;
}

interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  windowMs: number;
  serverPid: number;
  modelLatencyMs: number;
  /** Sends one request; resolves true on success. */
  send: (caller: number) => Promise<boolean>;
}

/**
 * Runs `concurrency` callers back to back until the loop is steady — at least `warmupMs` and one completed
 * request per caller — then measures a window of at least `windowMs` and `concurrency` completions (so a
 * window is never shorter than one round of the slowest caller): requests that complete inside it, their
 * latency, and the CPU this process and the dev server used over it. Callers stop after the window and
 * in-flight requests are awaited, not counted.
 */
export async function runClosedLoop(options: LoadOptions): Promise<LoadWindow> {
  let measuring = false;
  let stopping = false;
  const latencies: number[] = [];
  let warmedUp = 0;
  let completed = 0;
  let errors = 0;
  const caller = async (index: number) => {
    while (!stopping) {
      const sent = performance.now();
      const ok = await options.send(index).catch(() => false);
      if (!measuring) {
        warmedUp += 1;
        continue;
      }
      completed += 1;
      if (ok) latencies.push(performance.now() - sent);
      else errors += 1;
    }
  };
  const callers = Array.from({ length: options.concurrency }, (_, index) => caller(index));
  const until = async (done: () => boolean, capMs: number) => {
    const started = performance.now();
    while (!done() && performance.now() - started < capMs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const warmupStarted = performance.now();
  await until(
    () => performance.now() - warmupStarted >= options.warmupMs && warmedUp >= options.concurrency,
    Math.max(60_000, options.warmupMs),
  );
  const meter = startCpuMeter(options.serverPid);
  const started = performance.now();
  measuring = true;
  await until(
    () => performance.now() - started >= options.windowMs && completed >= options.concurrency,
    Math.max(120_000, options.windowMs),
  );
  measuring = false;
  const { processMs, serverMs, wallMs: windowMs } = meter();
  stopping = true;
  await Promise.all(callers);
  const perRequest = (ms: number) => (completed === 0 ? Number.NaN : round(ms / completed, 1));
  return {
    concurrency: options.concurrency,
    modelLatencyMs: options.modelLatencyMs,
    requests: completed,
    errors,
    requestsPerSecond: round((completed - errors) / (windowMs / 1000), 2),
    latency: summarize(latencies),
    processCpuMsPerRequest: perRequest(processMs),
    serverCpuMsPerRequest: serverMs === undefined ? undefined : perRequest(serverMs),
    windowMs: round(windowMs, 0),
  };
}

/** One Gatehouse request of B1's shape; keeps the workflow id of the last success for counting events. */
export function gatehouseSender(env: BenchEnvironment, log: (line: string) => void) {
  const state = { lastWorkflowId: '' };
  const send = async () => {
    try {
      const result = await env.gatehouse.execute(benchRequest(env));
      state.lastWorkflowId = result.workflowId;
      return true;
    } catch (error) {
      log(`gatehouse request failed: ${(error as Error).message}`);
      return false;
    }
  };
  return { send, state };
}

/** The baseline: the same model call sent straight to the emulator with the AWS SDK. */
export function directSender(env: BenchEnvironment, log: (line: string) => void) {
  return async () => {
    try {
      await env.direct.send(
        new ConverseCommand({
          modelId: PRIMARY_MODEL,
          system: [{ text: 'Answer from the context.' }],
          messages: [{ role: 'user', content: [{ text: BENCH_QUESTION }] }],
          inferenceConfig: { maxTokens: 512 },
        }),
      );
      return true;
    } catch (error) {
      log(`direct request failed: ${(error as Error).message}`);
      return false;
    }
  };
}

/**
 * B4: requests per second with 16 and 64 closed-loop callers, model at 0 ms and 1 s. Each configuration is
 * one block (warm-up, then the measured window) of Gatehouse and then a shorter block of direct calls.
 */
export async function runThroughputBenchmark(
  env: BenchEnvironment,
  options: { quick: boolean; log: (line: string) => void },
): Promise<ThroughputConfiguration[]> {
  const windowMs = options.quick ? 6_000 : 30_000;
  const warmupMs = options.quick ? 2_000 : 5_000;
  const gatehouse = gatehouseSender(env, options.log);
  const direct = directSender(env, options.log);
  const configurations: ThroughputConfiguration[] = [];
  for (const modelLatencyMs of [0, 1_000]) {
    env.emulator.setScript(PRIMARY_MODEL, { latencyMs: modelLatencyMs });
    for (const concurrency of [16, 64]) {
      const id = `B4 c${concurrency} ${modelLatencyMs} ms`;
      options.log(`${id}: ${warmupMs} ms warm-up, ${windowMs} ms window`);
      const common = { concurrency, modelLatencyMs, serverPid: env.serverPid };
      const measured = await runClosedLoop({ ...common, warmupMs, windowMs, send: gatehouse.send });
      const baseline = await runClosedLoop({
        ...common,
        warmupMs: 1_000,
        windowMs: Math.round(windowMs / 3),
        send: direct,
      });
      const events = await countHistoryEvents(env.client, gatehouse.state.lastWorkflowId);
      configurations.push({
        id,
        concurrency,
        modelLatencyMs,
        gatehouse: measured,
        direct: baseline,
        historyEvents: events.total,
      });
      options.log(
        `${id}: ${measured.requestsPerSecond} req/s, p50 ${round(measured.latency.p50)} ms, ` +
          `p99 ${round(measured.latency.p99)} ms, errors ${measured.errors}`,
      );
    }
  }
  env.emulator.setScript(PRIMARY_MODEL, {});
  return configurations;
}

/** B4's verdict: ≥ 20 requests/s and 0 errors at 64 callers, 0 ms; the same rate with p99 ≤ 1.6 s at 1 s. */
export function throughputVerdict(configurations: ThroughputConfiguration[]): string {
  const fast = configurations.find((entry) => entry.concurrency === 64 && entry.modelLatencyMs === 0);
  const slow = configurations.find((entry) => entry.concurrency === 64 && entry.modelLatencyMs === 1_000);
  if (!fast || !slow) return 'not measured';
  const fastMet = fast.gatehouse.requestsPerSecond >= 20 && fast.gatehouse.errors === 0;
  const slowMet =
    slow.gatehouse.requestsPerSecond >= 20 &&
    slow.gatehouse.errors === 0 &&
    slow.gatehouse.latency.p99 <= 1_600;
  return `≥ 20 req/s, 0 errors at 64 callers (0 ms): ${fastMet ? 'met' : 'NOT met'}; same at 1 s with p99 ≤ 1.6 s: ${slowMet ? 'met' : 'NOT met'}`;
}

export function formatThroughputTable(configurations: ThroughputConfiguration[]): string {
  const header = [
    'id',
    'callers',
    'model',
    'req/s',
    'p50',
    'p95',
    'p99',
    'errors',
    'direct p50 / p99',
    'process CPU / req',
    'of it direct call',
    'server CPU / req',
    'events',
  ];
  const rows = configurations.map((entry) => [
    entry.id,
    String(entry.concurrency),
    `${entry.modelLatencyMs} ms`,
    String(entry.gatehouse.requestsPerSecond),
    `${round(entry.gatehouse.latency.p50)} ms`,
    `${round(entry.gatehouse.latency.p95)} ms`,
    `${round(entry.gatehouse.latency.p99)} ms`,
    `${entry.gatehouse.errors}/${entry.gatehouse.requests}`,
    `${round(entry.direct.latency.p50)} / ${round(entry.direct.latency.p99)} ms`,
    `${entry.gatehouse.processCpuMsPerRequest} ms`,
    `${entry.direct.processCpuMsPerRequest} ms`,
    `${entry.gatehouse.serverCpuMsPerRequest ?? 'n/a'} ms`,
    String(entry.historyEvents),
  ]);
  return markdownTable(header, rows);
}

export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
