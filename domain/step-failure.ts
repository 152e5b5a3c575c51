/** The last detail of a step's failure names the run whose activity failed (activities/timed.ts). */
interface StepRunDetail {
  stepRunId: string;
}

export function withStepRun(details: readonly unknown[], runId: string): unknown[] {
  return [...details, { stepRunId: runId } satisfies StepRunDetail];
}

/** The run a failed step ran for, when its failure says. */
export function stepRunOf(details: readonly unknown[] | null | undefined): string | undefined {
  const last = details?.[details.length - 1] as Partial<StepRunDetail> | undefined;
  return typeof last?.stepRunId === 'string' ? last.stepRunId : undefined;
}
