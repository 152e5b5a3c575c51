import type { BenchEnvironment } from './bench-environment';
import { round } from './statistics';
import { gatehouseSender } from './throughput-benchmark';

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
