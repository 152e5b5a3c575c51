/**
 * Ranking quality of one question: `ranked` are document ids best first (distinct), `relevant` the
 * documents that answer it. Binary relevance.
 */
export interface QuestionScores {
  /** 1 when any relevant document is among the first k (the share of questions answered within k). */
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  /** 1 / rank of the first relevant document within 10, else 0. */
  reciprocalRankAt10: number;
  ndcgAt10: number;
}

export function scoreRanking(ranked: readonly string[], relevant: readonly string[]): QuestionScores {
  const wanted = new Set(relevant);
  if (wanted.size === 0) throw new RangeError('a question needs at least one relevant document');
  const firstHit = ranked.findIndex((id) => wanted.has(id));
  const within = (k: number) => (firstHit >= 0 && firstHit < k ? 1 : 0);
  let dcg = 0;
  ranked.slice(0, 10).forEach((id, index) => {
    if (wanted.has(id)) dcg += 1 / Math.log2(index + 2);
  });
  let ideal = 0;
  for (let index = 0; index < Math.min(wanted.size, 10); index += 1) ideal += 1 / Math.log2(index + 2);
  return {
    recallAt1: within(1),
    recallAt5: within(5),
    recallAt10: within(10),
    reciprocalRankAt10: firstHit >= 0 && firstHit < 10 ? 1 / (firstHit + 1) : 0,
    ndcgAt10: dcg / ideal,
  };
}

export interface MetricSummary {
  questions: number;
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  mrrAt10: number;
  ndcgAt10: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
}

/** Means of the per-question scores, and nearest-rank latency percentiles. */
export function summarizeScores(
  results: ReadonlyArray<{ scores: QuestionScores; latencyMs: number }>,
): MetricSummary {
  const mean = (pick: (scores: QuestionScores) => number) =>
    results.length === 0
      ? Number.NaN
      : results.reduce((sum, result) => sum + pick(result.scores), 0) / results.length;
  const latencies = results.map((result) => result.latencyMs);
  return {
    questions: results.length,
    recallAt1: mean((scores) => scores.recallAt1),
    recallAt5: mean((scores) => scores.recallAt5),
    recallAt10: mean((scores) => scores.recallAt10),
    mrrAt10: mean((scores) => scores.reciprocalRankAt10),
    ndcgAt10: mean((scores) => scores.ndcgAt10),
    latencyP50Ms: nearestRank(latencies, 50),
    latencyP95Ms: nearestRank(latencies, 95),
  };
}

/** Percentile by nearest rank: honest for small samples. */
export function nearestRank(values: readonly number[], percentile: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((left, right) => left - right);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
