/** The nearest-rank percentile (`p` in 0–100) of values sorted ascending; `undefined` when there are none. */
export function nearestRankPercentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
