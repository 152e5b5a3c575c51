import type { BenchEnvironment } from './bench-environment';
import { PRIMARY_MODEL } from './bench-environment';
import { round, summarize, type Summary } from './statistics';
import { directSender, gatehouseSender } from './throughput-benchmark';

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
