import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { FAILURE_TYPES, isFailureType, type FailureType } from '../domain/failure-types';
import type { CancelNoteInput } from '../domain/request-messages';
import {
  STEP_SUMMARIES,
  type ActivityStep,
  type StepSummary,
  type StepValues,
} from '../domain/request-steps';
import { SEARCH_ATTRIBUTE_KEYS, type RequestOutcome } from '../domain/search-attribute-keys';
import type {
  DataClassView,
  RequestFailure,
  RequestProgress,
  StepLog,
  Timed,
} from '../domain/step-contracts';
import { stepRunOf } from '../domain/step-failure';
import type { StepName } from '../domain/step-names';
import { cancelNoteSignal, progressQuery } from './request-messages';

/** A failure the workflow decided on, or one an activity reported; always ends as ApplicationFailure. */
export class RequestFailed extends Error {
  constructor(readonly failure: RequestFailure) {
    super(failure.message);
    this.name = 'RequestFailed';
  }
}

/** Ends the request with a typed failure; `record` still runs in the workflow's catch. */
export function fail(type: FailureType, step: StepName, message: string): never {
  throw new RequestFailed({ type, step, message });
}

export function failureOf(step: StepName, error: unknown): RequestFailure {
  if (error instanceof RequestFailed) return error.failure;
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && isFailureType(cause.type)) {
    return { type: cause.type, step, message: cause.message };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { type: FAILURE_TYPES.internal, step, message: `step '${step}' failed: ${message}` };
}

function failedRunOf(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  return cause instanceof ApplicationFailure ? stepRunOf(cause.details) : undefined;
}

/**
 * The bookkeeping of one run of a request: the step log (each entry attributed to the run that did the
 * work), the progress query, the search attributes an operator filters on, and who cancelled it. The
 * workflow reads as its steps; everything it records about them happens here.
 */
export class RequestRun {
  readonly runId = workflowInfo().runId;
  readonly steps: StepLog[] = [];
  currentStep: StepName | 'done' = 'authorize';
  outcome: RequestProgress['outcome'] = 'running';
  failure?: RequestFailure;
  dataClass?: DataClassView;
  cancelNote?: CancelNoteInput;
  /** The run of the most recent step result, to which decisions taken from it are attributed. */
  private lastRunId = this.runId;
  private route?: string;

  constructor() {
    setHandler(progressQuery, () => ({
      runId: this.runId,
      currentStep: this.currentStep,
      outcome: this.outcome,
      steps: [...this.steps],
      dataClass: this.dataClass,
      failure: this.failure,
    }));
    setHandler(cancelNoteSignal, (note) => {
      this.cancelNote ??= note;
    });
  }

  /** Runs one step's activity and logs it with its summary; a failure ends the request as that step's. */
  async step<Step extends ActivityStep>(
    step: Step,
    call: () => Promise<Timed<StepValues[Step]>>,
    attempt = 0,
  ): Promise<StepValues[Step]> {
    this.currentStep = step;
    const started = Date.now();
    try {
      const { value, elapsedMs, runId } = await call();
      const summarize = STEP_SUMMARIES[step] as (value: StepValues[Step]) => StepSummary;
      const { status, detail } = summarize(value);
      this.lastRunId = runId;
      this.steps.push({ step, attempt, status, elapsedMs, runId, detail });
      return value;
    } catch (error) {
      const failure = isCancellation(error)
        ? { type: FAILURE_TYPES.cancelled, step, message: 'the request was cancelled' }
        : failureOf(step, error);
      this.steps.push({
        step,
        attempt,
        status: 'failed',
        elapsedMs: Date.now() - started,
        runId: failedRunOf(error) ?? this.runId,
        detail: { failureType: failure.type, reason: failure.message },
      });
      if (isCancellation(error)) throw error;
      throw new RequestFailed(failure);
    }
  }

  /** A step the workflow decided without an activity (skipped, or the attempt loop's summary). */
  log(entry: Omit<StepLog, 'runId'> & { runId?: string }): void {
    this.steps.push({ ...entry, runId: entry.runId ?? this.lastRunId });
  }

  setOutcome(outcome: RequestOutcome, extra: SearchAttributeUpdatePair[] = []): void {
    this.outcome = outcome === 'parked' || outcome === 'partially-failed' ? 'running' : outcome;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.outcome, value: outcome }, ...extra]);
  }

  /** `Route` is the last route tried, set before every attempt, so failed requests can be found by route. */
  setRoute(routeId: string): void {
    if (this.route === routeId) return;
    this.route = routeId;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.route, value: routeId }]);
  }

  /** The run whose work the last logged step was. */
  lastStepRunId(): string | undefined {
    return this.steps[this.steps.length - 1]?.runId;
  }

  /** Milliseconds per step, summed over attempts. */
  timings(): Partial<Record<StepName, number>> {
    const timings: Partial<Record<StepName, number>> = {};
    for (const entry of this.steps) {
      if (entry.status !== 'skipped') timings[entry.step] = (timings[entry.step] ?? 0) + entry.elapsedMs;
    }
    return timings;
  }
}
