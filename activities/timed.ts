import type { Timed } from '../domain/step-contracts';

/** Wraps an activity so it returns its result with the milliseconds it took. */
export function timed<A extends unknown[], T>(
  run: (...args: A) => Promise<T>,
): (...args: A) => Promise<Timed<T>> {
  return async (...args: A) => {
    const started = performance.now();
    const value = await run(...args);
    return { value, elapsedMs: Math.round((performance.now() - started) * 1000) / 1000 };
  };
}
