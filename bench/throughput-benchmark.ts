import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import type { BenchEnvironment } from './bench-environment';
import { PRIMARY_MODEL } from './bench-environment';
import { countHistoryEvents, processCpuMs } from './cpu-per-request';
import { round, summarize, type Summary } from './statistics';

const QUESTION = 'What is the refund policy?';

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
  const processBefore = process.cpuUsage();
  const serverBefore = processCpuMs(options.serverPid);
  const started = performance.now();
  measuring = true;
  await until(
    () => performance.now() - started >= options.windowMs && completed >= options.concurrency,
    Math.max(120_000, options.windowMs),
  );
  measuring = false;
  const windowMs = performance.now() - started;
  const processUsed = process.cpuUsage(processBefore);
  const serverAfter = processCpuMs(options.serverPid);
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
    processCpuMsPerRequest: perRequest((processUsed.user + processUsed.system) / 1000),
    serverCpuMsPerRequest:
      serverBefore === undefined || serverAfter === undefined
        ? undefined
        : perRequest(serverAfter - serverBefore),
    windowMs: round(windowMs, 0),
  };
}

/** One Gatehouse request of B1's shape; keeps the workflow id of the last success for counting events. */
export function gatehouseSender(env: BenchEnvironment, log: (line: string) => void) {
  const state = { lastWorkflowId: '' };
  const send = async () => {
    try {
      const result = await env.gatehouse.execute({
        tenantId: 'demo',
        apiKey: env.apiKey,
        taskType: 'qa',
        question: QUESTION,
      });
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
          messages: [{ role: 'user', content: [{ text: QUESTION }] }],
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

export interface ConcurrencyScalingResult {
  id: 'B3';
  modelLatencyMs: number;
  /** Added latency (Gatehouse − direct, pair by pair) with one caller and with 16. */
  atOne: Summary;
  atSixteen: Summary;
  errors: number;
  met: boolean;
}

/** Each caller alternates a Gatehouse request and a direct call; added = the pair's difference. */
async function addedLatencyAt(
  concurrency: number,
  pairsPerCaller: number,
  gatehouse: () => Promise<boolean>,
  direct: () => Promise<boolean>,
): Promise<{ added: number[]; errors: number }> {
  const added: number[] = [];
  let errors = 0;
  const caller = async () => {
    for (let pair = 0; pair < pairsPerCaller; pair++) {
      const first = performance.now();
      const gatehouseOk = await gatehouse();
      const second = performance.now();
      const directOk = await direct();
      const end = performance.now();
      if (gatehouseOk && directOk) added.push(second - first - (end - second));
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return { added, errors };
}

/**
 * B3: p99 added latency at 16 concurrent callers against twice the p99 at one caller, model at 100 ms, in
 * back-to-back blocks (one caller, then 16) after a warm-up at each concurrency.
 */
export async function runConcurrencyScaling(
  env: BenchEnvironment,
  options: { quick: boolean; log: (line: string) => void },
): Promise<ConcurrencyScalingResult> {
  const modelLatencyMs = 100;
  env.emulator.setScript(PRIMARY_MODEL, { latencyMs: modelLatencyMs });
  const gatehouse = gatehouseSender(env, options.log).send;
  const direct = directSender(env, options.log);
  try {
    await addedLatencyAt(1, 5, gatehouse, direct);
    const one = await addedLatencyAt(1, options.quick ? 20 : 100, gatehouse, direct);
    options.log(`B3: one caller, added p99 ${round(summarize(one.added).p99)} ms`);
    await addedLatencyAt(16, 2, gatehouse, direct);
    const sixteen = await addedLatencyAt(16, options.quick ? 4 : 15, gatehouse, direct);
    const atOne = summarize(one.added);
    const atSixteen = summarize(sixteen.added);
    const errors = one.errors + sixteen.errors;
    options.log(`B3: 16 callers, added p99 ${round(atSixteen.p99)} ms, errors ${errors}`);
    return {
      id: 'B3',
      modelLatencyMs,
      atOne,
      atSixteen,
      errors,
      met: errors === 0 && atSixteen.p99 <= 2 * atOne.p99,
    };
  } finally {
    env.emulator.setScript(PRIMARY_MODEL, {});
  }
}

export interface SoakResult {
  id: 'M1';
  targetRequestsPerSecond: number;
  durationMs: number;
  requests: number;
  errors: number;
  /** Samples of this process's resident set (MB) and V8 heap in use (MB), seconds since the start. */
  samples: { atSeconds: number; rssMb: number; heapUsedMb: number }[];
  /** RSS at the end against RSS at the half-way point. */
  growthOverLastHalfPercent: number;
  met: boolean;
}

/**
 * M1: requests sent at a fixed rate (half of B4's at 64 callers) for `durationMs`, sampling the resident
 * set of this process (the workers, with the client and emulator beside them) every few seconds.
 */
export async function runSoak(
  env: BenchEnvironment,
  options: { requestsPerSecond: number; durationMs: number; log: (line: string) => void },
): Promise<SoakResult> {
  const gatehouse = gatehouseSender(env, options.log).send;
  const intervalMs = 1000 / options.requestsPerSecond;
  const sampleEveryMs = Math.max(1_000, Math.round(options.durationMs / 60));
  const samples: SoakResult['samples'] = [];
  const started = performance.now();
  const sample = () => {
    const memory = process.memoryUsage();
    samples.push({
      atSeconds: round((performance.now() - started) / 1000, 1),
      rssMb: round(memory.rss / 2 ** 20, 1),
      heapUsedMb: round(memory.heapUsed / 2 ** 20, 1),
    });
  };
  sample();
  const sampler = setInterval(sample, sampleEveryMs);
  const inFlight = new Set<Promise<void>>();
  let requests = 0;
  let errors = 0;
  try {
    // Open loop: the schedule, not the answers, decides when the next request goes out.
    for (let index = 0; performance.now() - started < options.durationMs; index++) {
      const due = started + index * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const request = gatehouse().then((ok) => {
        requests += 1;
        if (!ok) errors += 1;
      });
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    await Promise.all(inFlight);
  } finally {
    clearInterval(sampler);
  }
  sample();
  const last = samples[samples.length - 1]!;
  const half = samples.find((entry) => entry.atSeconds >= last.atSeconds / 2) ?? samples[0]!;
  const growth = round(((last.rssMb - half.rssMb) / half.rssMb) * 100, 1);
  return {
    id: 'M1',
    targetRequestsPerSecond: round(options.requestsPerSecond, 2),
    durationMs: Math.round(performance.now() - started),
    requests,
    errors,
    samples,
    growthOverLastHalfPercent: growth,
    met: errors === 0 && growth < 10,
  };
}
