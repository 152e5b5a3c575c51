import { nearestRankPercentile } from '../domain/percentile';

/** Percentiles by nearest rank: honest for small samples, no interpolation between observations. */
export function percentile(values: number[], p: number): number {
  return (
    nearestRankPercentile(
      [...values].sort((left, right) => left - right),
      p,
    ) ?? Number.NaN
  );
}

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
  };
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** One round of a paired comparison: the subject's and its baseline's milliseconds. */
export interface PairedRound {
  subjectMs: number;
  baselineMs: number;
}

/**
 * Runs `rounds` rounds of a paired comparison; a round that returns undefined (either side failed) counts
 * as an error and adds no times. Progress goes to `log` every 50 rounds.
 */
export async function runPairedRounds<Round extends PairedRound>(
  options: { id: string; rounds: number; log: (line: string) => void },
  runRound: (index: number) => Promise<Round | undefined>,
): Promise<{
  completed: Round[];
  subjectMs: number[];
  baselineMs: number[];
  addedMs: number[];
  errors: number;
}> {
  const completed: Round[] = [];
  let errors = 0;
  for (let index = 0; index < options.rounds; index++) {
    const result = await runRound(index);
    if (result === undefined) errors += 1;
    else completed.push(result);
    if ((index + 1) % 50 === 0) options.log(`${options.id}: ${index + 1}/${options.rounds} rounds`);
  }
  return {
    completed,
    subjectMs: completed.map((result) => result.subjectMs),
    baselineMs: completed.map((result) => result.baselineMs),
    addedMs: completed.map((result) => result.subjectMs - result.baselineMs),
    errors,
  };
}
