import { cpuUsage } from 'node:process';

/**
 * The least CPU time, in milliseconds, that `run` took over `passes` runs. A cost that grows with
 * the input shows in every pass; a burst of load on shared cores, a collection or a first-run
 * compilation shows in one. Code with a cache must be given a different input in each pass (`run`
 * receives the pass number), or the later passes measure the cache.
 */
export function bestCpuMsOf(run: (pass: number) => void, passes = 3): number {
  let best = Infinity;
  for (let pass = 0; pass < passes; pass += 1) {
    const started = cpuUsage();
    run(pass);
    const spent = cpuUsage(started);
    best = Math.min(best, (spent.user + spent.system) / 1000);
  }
  return best;
}
