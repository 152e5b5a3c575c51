import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Timed } from '../domain/step-contracts';
import { withStepRun } from '../domain/step-failure';

/**
 * Wraps an activity so it returns its result with the milliseconds it took and the run it ran for — and
 * its failures name that run too. The run id is what attributes a side effect to the run that performed
 * it: a Reset copies results and failures, run id and all, into the new run, which then knows the work
 * was not its own.
 */
export function timed<A extends unknown[], T>(
  run: (...args: A) => Promise<T>,
): (...args: A) => Promise<Timed<T>> {
  return async (...args: A) => {
    const runId = currentRunId();
    const started = performance.now();
    try {
      const value = await run(...args);
      return { value, elapsedMs: Math.round((performance.now() - started) * 1000) / 1000, runId };
    } catch (error) {
      throw namingRun(error, runId);
    }
  };
}

function namingRun(error: unknown, runId: string): unknown {
  // A cancelled attempt already names its run in its own details (domain/inference-failure.ts).
  if (error instanceof CancelledFailure) return error;
  if (error instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      message: error.message,
      type: error.type ?? undefined,
      nonRetryable: error.nonRetryable ?? false,
      details: withStepRun(error.details ?? [], runId),
      nextRetryDelay: error.nextRetryDelay ?? undefined,
      cause: error.cause,
    });
  }
  const cause = error instanceof Error ? error : new Error(String(error));
  // Anything else stays retryable, as Temporal would treat it.
  return ApplicationFailure.create({
    message: cause.message,
    type: cause.name,
    nonRetryable: false,
    details: withStepRun([], runId),
    cause,
  });
}

/** The run the current activity serves. */
export function currentRunId(): string {
  return Context.current().info.workflowExecution?.runId ?? '';
}
