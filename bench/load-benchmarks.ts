import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBenchEnvironment } from './bench-environment';
import { runConcurrencyScaling, type ConcurrencyScalingResult } from './concurrency-scaling-benchmark';
import {
  runLargePromptBenchmark,
  runTokenCountBenchmark,
  type LargePromptResult,
  type TokenCountResult,
} from './prompt-size-benchmarks';
import { runSoak, type SoakResult } from './soak-benchmark';
import { round, type Summary } from './statistics';
import {
  formatThroughputTable,
  gatehouseSender,
  markdownTable,
  runClosedLoop,
  runThroughputBenchmark,
  throughputVerdict,
  type ThroughputConfiguration,
} from './throughput-benchmark';

/** The load scenarios of BENCHMARKS.md, in the order they run. */
export const LOAD_SCENARIOS = ['T1', 'B4', 'B3', 'M1', 'B6'];

interface LoadResults {
  T1?: TokenCountResult;
  B4?: ThroughputConfiguration[];
  B3?: ConcurrencyScalingResult;
  M1?: SoakResult;
  B6?: LargePromptResult;
}

/** T1, then B4, B3, M1 and B6 on one environment of their own (emulator latency set per scenario). */
export async function runLoadBenchmarks(options: {
  quick: boolean;
  scenarios: string[];
  /** M1's length; two minutes (30 s quick) when unset. */
  soakMinutes?: number;
  log: (line: string) => void;
}): Promise<void> {
  const { quick, scenarios, soakMinutes, log } = options;
  const results: LoadResults = {};
  if (scenarios.includes('T1')) results.T1 = runTokenCountBenchmark({ quick });
  if (scenarios.some((scenario) => scenario !== 'T1' && LOAD_SCENARIOS.includes(scenario))) {
    log('B4, B3, M1, B6: one environment, emulator latency set per scenario');
    const env = await startBenchEnvironment({ latencyMs: 0, log });
    try {
      if (scenarios.includes('B4')) results.B4 = await runThroughputBenchmark(env, { quick, log });
      if (scenarios.includes('B3')) results.B3 = await runConcurrencyScaling(env, { quick, log });
      if (scenarios.includes('M1')) {
        // Half of B4's rate at 64 callers and a 0 ms model; measured here when B4 was not selected.
        const b4 = results.B4?.find((entry) => entry.concurrency === 64 && entry.modelLatencyMs === 0);
        const rate =
          b4?.gatehouse.requestsPerSecond ??
          (
            await runClosedLoop({
              concurrency: 64,
              modelLatencyMs: 0,
              warmupMs: 2_000,
              windowMs: 5_000,
              serverPid: env.serverPid,
              send: gatehouseSender(env, log).send,
            })
          ).requestsPerSecond;
        const durationMs = (soakMinutes ?? (quick ? 0.5 : 2)) * 60_000;
        log(`M1: ${round(rate / 2, 2)} requests/s for ${durationMs / 1000} s`);
        results.M1 = await runSoak(env, { requestsPerSecond: rate / 2, durationMs, log });
      }
      if (scenarios.includes('B6')) results.B6 = await runLargePromptBenchmark(env, { quick, log });
    } finally {
      await env.close();
    }
  }
  printLoadResults(results);
  const file = path.resolve(
    __dirname,
    'results',
    `load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ machine: { cpus: os.cpus().length, node: process.version }, quick, ...results }, null, 2)}\n`,
  );
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}

function printLoadResults(results: LoadResults): void {
  const ms = (value: number) => `${round(value)} ms`;
  const summaryCells = (summary: Summary) => `${ms(summary.p50)} / ${ms(summary.p95)} / ${ms(summary.p99)}`;
  const rows: string[][] = [];
  if (results.B3) {
    const b3 = results.B3;
    rows.push([
      'B3',
      `${b3.modelLatencyMs} ms model, 16 callers vs 1 (added, n ${b3.atSixteen.count} / ${b3.atOne.count})`,
      `16: ${summaryCells(b3.atSixteen)}; 1: ${summaryCells(b3.atOne)}`,
      String(b3.errors),
      `p99 at 16 ≤ 2 × p99 at 1 (${ms(2 * b3.atOne.p99)}): ${b3.met ? 'met' : 'NOT met'}`,
    ]);
  }
  if (results.B6) {
    const b6 = results.B6;
    rows.push([
      'B6',
      `${b6.promptTokens}-token prompt template by reference (n ${b6.b6Added.count})`,
      `${summaryCells(b6.b6Added)}; B1 same rounds ${ms(b6.b1Added.p50)} p50; history ${round(b6.historyBytesPerRequest.b6 / 1024, 0)} KB (B1 ${round(b6.historyBytesPerRequest.b1 / 1024, 0)} KB)`,
      String(b6.errors),
      `added p50 ≤ B1 + 60 ms (${ms(b6.addedOverB1P50)} over): ${b6.met ? 'met' : 'NOT met'}`,
    ]);
  }
  if (results.T1) {
    const t1 = results.T1;
    rows.push([
      'T1',
      `token count, ${t1.promptChars}-character prompt (${t1.promptTokens} tokens), encoder loaded (n ${t1.countMs.count})`,
      `${round(t1.countMs.p50, 3)} / ${round(t1.countMs.p95, 3)} / ${round(t1.countMs.p99, 3)} ms; first count ${ms(t1.firstCountMs)}`,
      '0',
      `≤ 1 ms p50: ${t1.met ? 'met' : 'NOT met'}`,
    ]);
  }
  if (results.M1) {
    const m1 = results.M1;
    const first = m1.samples[0]!;
    const last = m1.samples[m1.samples.length - 1]!;
    rows.push([
      'M1',
      `soak at ${m1.targetRequestsPerSecond} req/s for ${round(m1.durationMs / 1000, 0)} s (${m1.requests} requests)`,
      `RSS ${first.rssMb} → ${last.rssMb} MB; heap ${first.heapUsedMb} → ${last.heapUsedMb} MB; last half ${m1.growthOverLastHalfPercent}%`,
      String(m1.errors),
      `RSS growth < 10% over the last half: ${m1.met ? 'met' : 'NOT met'}`,
    ]);
  }
  if (results.B4) {
    console.log(
      '\nB4 throughput, closed loop (latency p50 / p95 / p99 end to end; CPU per completed request):',
    );
    console.log(formatThroughputTable(results.B4));
    console.log(`B4 target: ${throughputVerdict(results.B4)}`);
  }
  if (rows.length > 0) {
    console.log('');
    console.log(markdownTable(['id', 'scenario', 'p50 / p95 / p99', 'errors', 'target'], rows));
  }
}
