// Long by design: the request-path scenarios share one environment, one interleaving loop and one report.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import type { GatehouseClient } from '../client/gatehouse-client';
import { STEP_NAMES } from '../domain/step-names';
import type { LlmResult } from '../domain/step-contracts';
import {
  benchRequest,
  startBenchEnvironment,
  PRIMARY_MODEL,
  FALLBACK_MODEL,
  type BenchEnvironment,
  type CalibrationFloor,
} from './bench-environment';
import {
  formatRetrievalResults,
  runRetrievalBenchmarks,
  type RetrievalScenario,
} from './retrieval-benchmarks';
import {
  printFrontDoorResult,
  runFrontDoorScenario,
  type FrontDoorScenarioResult,
} from './front-door-benchmark';
import {
  countHistoryEvents,
  measureCpuPerRequest,
  measureIdleCpu,
  type CpuPerRequest,
} from './cpu-per-request';
import { round, runPairedRounds, summarize, type Summary } from './statistics';
import { LOAD_SCENARIOS, runLoadBenchmarks } from './load-benchmarks';

/**
 * B1, B2 and B5 of BENCHMARKS.md: Gatehouse against the same request sent directly with the AWS SDK to
 * the same Bedrock emulator, interleaved (A B A B …) after a warm-up, on this machine, in one run.
 */
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface Prompt {
  system: string;
  user: string;
}

/** The Temporal skeleton alone, timed the same way, so the table can separate platform from Gatehouse. */
async function measureFloor(run: () => Promise<void>, rounds: number): Promise<Summary> {
  for (let index = 0; index < 5; index++) await run();
  const times: number[] = [];
  for (let index = 0; index < rounds; index++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return summarize(times);
}

interface ScenarioResult {
  id: string;
  scenario: string;
  latencyMs: number;
  gatehouse: Summary;
  direct: Summary;
  added: Summary;
  ratioP50: number;
  ratioP99: number;
  errors: number;
  steps: Record<string, { p50: number; p95: number }>;
}

async function timeGatehouse(
  env: BenchEnvironment,
  gatehouse = env.gatehouse,
): Promise<{ ms: number; result?: LlmResult }> {
  const started = performance.now();
  try {
    const result = await gatehouse.execute(benchRequest(env));
    return { ms: performance.now() - started, result };
  } catch (error) {
    log(`gatehouse request failed: ${(error as Error).message}`);
    return { ms: performance.now() - started };
  }
}

async function timeDirect(
  env: BenchEnvironment,
  prompt: Prompt,
  modelId: string,
): Promise<{ ms: number; ok: boolean }> {
  const started = performance.now();
  try {
    await env.direct.send(
      new ConverseCommand({
        modelId,
        system: [{ text: prompt.system }],
        messages: [{ role: 'user', content: [{ text: prompt.user }] }],
        inferenceConfig: { maxTokens: 512 },
      }),
    );
    return { ms: performance.now() - started, ok: true };
  } catch (error) {
    log(`direct request failed: ${(error as Error).message}`);
    return { ms: performance.now() - started, ok: false };
  }
}

/** The prompt Gatehouse actually sent, read back from the emulator, so the baseline sends the same. */
function lastPrompt(env: BenchEnvironment): Prompt {
  const call = [...env.emulator.calls()]
    .reverse()
    .find((entry) => entry.operation === 'converse' && entry.userText);
  if (!call) throw new Error('no Converse call reached the emulator during warm-up');
  return { system: call.system ?? '', user: call.userText ?? '' };
}

async function runScenario(
  env: BenchEnvironment,
  options: {
    id: string;
    scenario: string;
    latencyMs: number;
    warmup: number;
    rounds: number;
    directModel: string;
  },
): Promise<ScenarioResult> {
  for (let index = 0; index < options.warmup; index++) await timeGatehouse(env);
  const prompt = lastPrompt(env);
  for (let index = 0; index < options.warmup; index++) await timeDirect(env, prompt, options.directModel);
  const paired = await runPairedRounds({ id: options.id, rounds: options.rounds, log }, async () => {
    const viaGatehouse = await timeGatehouse(env);
    const direct = await timeDirect(env, prompt, options.directModel);
    if (!viaGatehouse.result || !direct.ok) return undefined;
    return { subjectMs: viaGatehouse.ms, baselineMs: direct.ms, timings: viaGatehouse.result.timings };
  });
  const stepTimes = new Map<string, number[]>();
  for (const { timings } of paired.completed) {
    for (const [step, ms] of Object.entries(timings)) {
      stepTimes.set(step, [...(stepTimes.get(step) ?? []), ms]);
    }
  }
  const gatehouse = summarize(paired.subjectMs);
  const direct = summarize(paired.baselineMs);
  const steps: ScenarioResult['steps'] = {};
  for (const step of STEP_NAMES) {
    // Steps the benchmark tenant's policy leaves out (guardrails) have no timings to report.
    const times = stepTimes.get(step);
    if (!times) continue;
    const values = summarize(times);
    steps[step] = { p50: round(values.p50, 2), p95: round(values.p95, 2) };
  }
  return {
    id: options.id,
    scenario: options.scenario,
    latencyMs: options.latencyMs,
    gatehouse,
    direct,
    added: summarize(paired.addedMs),
    ratioP50: gatehouse.p50 / direct.p50,
    ratioP99: gatehouse.p99 / direct.p99,
    errors: paired.errors,
    steps,
  };
}

function printTable(results: ScenarioResult[], verdicts: Record<string, string>): void {
  const header = [
    'id',
    'scenario',
    'n',
    'gatehouse p50',
    'direct p50',
    'added p50',
    'added p95',
    'added p99',
    'added max',
    'ratio p50',
    'ratio p99',
    'errors',
    'target',
  ];
  const rows = results.map((result) => [
    result.id,
    result.scenario,
    String(result.gatehouse.count),
    `${round(result.gatehouse.p50)} ms`,
    `${round(result.direct.p50)} ms`,
    `${round(result.added.p50)} ms`,
    `${round(result.added.p95)} ms`,
    `${round(result.added.p99)} ms`,
    `${round(result.added.max)} ms`,
    round(result.ratioP50, 3).toString(),
    round(result.ratioP99, 3).toString(),
    String(result.errors),
    verdicts[result.id] ?? '',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
  console.log('\nPer-step anatomy (ms, p50 / p95, from the workflow timings):');
  for (const result of results) {
    console.log(
      `  ${result.id}: ${Object.entries(result.steps)
        .map(([step, times]) => `${step} ${times.p50}/${times.p95}`)
        .join(' · ')}`,
    );
  }
}

/** B1, B2 and B5: the request path against the direct AWS SDK baseline. */
async function runRequestPathBenchmarks(quick: boolean): Promise<void> {
  const rounds = (full: number) => (quick ? Math.max(10, Math.round(full / 10)) : full);
  const results: ScenarioResult[] = [];

  log('B1 + B5: emulator at 0 ms');
  const fast = await startBenchEnvironment({ latencyMs: 0, log });
  let floor: Summary;
  let localFloor: Summary;
  let frontDoor: FrontDoorScenarioResult;
  const cpuBlocks: { dispatched: CpuPerRequest[]; eager: CpuPerRequest[] } = { dispatched: [], eager: [] };
  const floorCpu: Partial<Record<CalibrationFloor, CpuPerRequest>> = {};
  let idleCpu: Awaited<ReturnType<typeof measureIdleCpu>>;
  let events: Awaited<ReturnType<typeof countHistoryEvents>>;
  try {
    floor = await measureFloor(() => fast.runFloor('dispatch'), rounds(100));
    localFloor = await measureFloor(() => fast.runFloor('localOnly'), rounds(100));
    // The same blocks as the request path's CPU blocks below, for workflows that do nothing: what the
    // SDK and the server cost before any Gatehouse step runs.
    idleCpu = await measureIdleCpu({ serverPid: fast.serverPid, ms: 5_000 });
    for (const kind of ['empty', 'localOnly', 'dispatch', 'requestShape'] as const) {
      floorCpu[kind] = await measureCpuPerRequest({
        requests: rounds(100),
        serverPid: fast.serverPid,
        send: async () => {
          await fast.runFloor(kind);
          return true;
        },
      });
    }
    log(
      `dispatch floor (no-op skeleton): p50 ${round(floor.p50)} ms; all-local skeleton: p50 ${round(localFloor.p50)} ms`,
    );
    results.push(
      await runScenario(fast, {
        id: 'B1',
        scenario: 'full path, 0 ms model, concurrency 1',
        latencyMs: 0,
        warmup: 20,
        rounds: rounds(300),
        directModel: PRIMARY_MODEL,
      }),
    );
    // Blocks of back-to-back requests, alternating eager and dispatched starts, same server, same run.
    let lastWorkflowId = '';
    const cpuBlock = (gatehouse: GatehouseClient) =>
      measureCpuPerRequest({
        requests: rounds(100),
        serverPid: fast.serverPid,
        send: async () => {
          const { result } = await timeGatehouse(fast, gatehouse);
          if (result) lastWorkflowId = result.workflowId;
          return result !== undefined;
        },
      });
    for (let block = 0; block < 2; block++) {
      cpuBlocks.dispatched.push(await cpuBlock(fast.gatehouseWithoutEagerStart));
      cpuBlocks.eager.push(await cpuBlock(fast.gatehouse));
    }
    events = await countHistoryEvents(fast.client, lastWorkflowId);
    log(`CPU blocks: ${JSON.stringify(cpuBlocks)}; history events per request: ${events.total}`);
    frontDoor = await runFrontDoorScenario(fast, { rounds: rounds(200), warmup: 10, log });
    fast.emulator.setScript(PRIMARY_MODEL, { behaviours: ['throttle'], retryAfterSeconds: 0 });
    results.push(
      await runScenario(fast, {
        id: 'B5',
        scenario: 'one 429, then fallback, 0 ms model',
        latencyMs: 0,
        warmup: 10,
        rounds: rounds(200),
        directModel: FALLBACK_MODEL,
      }),
    );
    const fallbackCalls = fast.emulator.callCount(FALLBACK_MODEL, 'converse');
    log(`B5 fallback model answered ${fallbackCalls} calls`);
  } finally {
    await fast.close();
  }

  log('B2: emulator at 100 ms');
  const slow = await startBenchEnvironment({ latencyMs: 100, log });
  try {
    results.push(
      await runScenario(slow, {
        id: 'B2',
        scenario: 'full path, 100 ms model, concurrency 1',
        latencyMs: 100,
        warmup: 5,
        rounds: rounds(100),
        directModel: PRIMARY_MODEL,
      }),
    );
  } finally {
    await slow.close();
  }

  const [b1, b5, b2] = results as [ScenarioResult, ScenarioResult, ScenarioResult];
  const verdicts: Record<string, string> = {
    B1: `added p50 ≤ 80, p99 ≤ 200: ${b1.added.p50 <= 80 && b1.added.p99 <= 200 ? 'met' : 'NOT met'}`,
    B2: `ratio p50 ≤ 1.8, p99 ≤ 2.2: ${b2.ratioP50 <= 1.8 && b2.ratioP99 <= 2.2 ? 'met' : 'NOT met'}`,
    B5: `added p50 ≤ 150: ${b5.added.p50 <= 150 ? 'met' : 'NOT met'}`,
  };
  printTable(results, verdicts);
  printFrontDoorResult(frontDoor);
  console.log(
    `\nTemporal dispatch floor on this server (the request path's skeleton with no-op steps: a local activity,\n` +
      `an activity on a route queue, a local activity, an activity on the request queue): p50 ${round(floor.p50)} ms, p95 ${round(floor.p95)} ms, ` +
      `p99 ${round(floor.p99)} ms.\nB1 added p50 beyond that floor: ${round(b1.added.p50 - floor.p50)} ms. ` +
      `The same skeleton with every step a local activity: p50 ${round(localFloor.p50)} ms.`,
  );
  console.log('\nCPU per request, B1 path, blocks of back-to-back requests (concurrency 1):');
  for (const [start, blocks] of Object.entries(cpuBlocks)) {
    for (const block of blocks) {
      console.log(
        `  ${start.padEnd(10)} n ${block.requests}, errors ${block.errors}: this process (worker, client, ` +
          `emulator) ${block.processCpuMsPerRequest} ms, dev server ${block.serverCpuMsPerRequest ?? 'n/a'} ms; ` +
          `latency p50 ${round(block.latency.p50)} ms, p99 ${round(block.latency.p99)} ms`,
      );
    }
  }
  console.log(
    'CPU per workflow of the calibration workflows, the same blocks (floors: no Gatehouse code runs):',
  );
  const floorLabels: Record<CalibrationFloor, string> = {
    empty: 'no step',
    localOnly: '4 local no-ops',
    dispatch: 'no-op skeleton',
    requestShape: "request's 9 no-op steps",
  };
  console.log(
    `  idle (no request):        this process ${idleCpu.processCpuMsPerSecond} ms/s, ` +
      `dev server ${idleCpu.serverCpuMsPerSecond ?? 'n/a'} ms/s`,
  );
  for (const [kind, block] of Object.entries(floorCpu) as [CalibrationFloor, CpuPerRequest][]) {
    console.log(
      `  ${floorLabels[kind].padEnd(24)} n ${block.requests}: this process ${block.processCpuMsPerRequest} ms, ` +
        `dev server ${block.serverCpuMsPerRequest ?? 'n/a'} ms; latency p50 ${round(block.latency.p50)} ms`,
    );
  }
  console.log(
    `History events per successful request: ${events.total} ` +
      `(${Object.entries(events.byType)
        .map(([type, count]) => `${count} ${type}`)
        .join(', ')}).`,
  );
  const file = path.resolve(
    __dirname,
    'results',
    `request-path-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ machine: { cpus: os.cpus().length, node: process.version }, quick, dispatchFloor: floor, localOnlyFloor: localFloor, idleCpu, floorCpu, cpuPerRequest: cpuBlocks, historyEvents: events, results, verdicts, frontDoor }, null, 2)}\n`,
  );
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}

const REQUEST_PATH_SCENARIOS = ['B1', 'B2', 'B5'];
const RETRIEVAL_SCENARIOS: RetrievalScenario[] = ['R1', 'R2', 'R3'];

/** `--scenario R1,R2` (or `--scenario=R1,R2`); without it, the request-path and load scenarios. */
function requestedScenarios(argv: string[]): string[] {
  const index = argv.findIndex((arg) => arg === '--scenario' || arg.startsWith('--scenario='));
  if (index < 0) return [...REQUEST_PATH_SCENARIOS, ...LOAD_SCENARIOS];
  const arg = argv[index] as string;
  const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[index + 1] ?? '');
  const scenarios = value
    .split(',')
    .map((scenario) => scenario.trim().toUpperCase())
    .filter(Boolean);
  const known = [...REQUEST_PATH_SCENARIOS, ...LOAD_SCENARIOS, ...RETRIEVAL_SCENARIOS];
  const unknown = scenarios.filter((scenario) => !known.includes(scenario));
  if (scenarios.length === 0 || unknown.length > 0) {
    throw new Error(
      `--scenario takes a comma-separated list of ${known.join(', ')}` +
        (unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''),
    );
  }
  return scenarios;
}

function numberOption(argv: string[], name: string, fallback: number): number {
  const arg = argv.find((entry) => entry.startsWith(`--${name}=`));
  if (!arg) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive whole number`);
  return value;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const scenarios = requestedScenarios(argv);
  if (scenarios.some((scenario) => REQUEST_PATH_SCENARIOS.includes(scenario)))
    await runRequestPathBenchmarks(quick);
  if (scenarios.some((scenario) => LOAD_SCENARIOS.includes(scenario))) {
    const soakMinutes = argv.some((entry) => entry.startsWith('--soak-minutes='))
      ? numberOption(argv, 'soak-minutes', 10)
      : undefined;
    await runLoadBenchmarks({ quick, scenarios, soakMinutes, log });
  }
  const retrieval = RETRIEVAL_SCENARIOS.filter((scenario) => scenarios.includes(scenario));
  if (retrieval.length === 0) return;
  const result = await runRetrievalBenchmarks({
    scenarios: retrieval,
    databaseUrl: process.env.DATABASE_URL || undefined,
    chunks: numberOption(argv, 'chunks', quick ? 10_000 : 100_000),
    queries: numberOption(argv, 'queries', quick ? 50 : 300),
    log,
  });
  console.log(formatRetrievalResults(result));
  const file = path.resolve(
    __dirname,
    'results',
    `retrieval-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...result, quick }, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
