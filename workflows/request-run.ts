import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { sumAttemptCosts } from '../domain/build-llm-result';
import { microToUsd } from '../domain/cost';
import { FAILURE_TYPES, isFailureType, type FailureType } from '../domain/failure-types';
import {
  chargedFeatureOf,
  type ApprovalRequirement,
  type DataClassReevaluation,
  type LoggingMode,
  type PolicyDecision,
} from '../domain/policy';
import type { GuardrailVerdict } from '../domain/guardrail-verdict';
import type { LlmRequest } from '../domain/request-contract';
import type { ApprovalOutcome, CancelNoteInput } from '../domain/request-messages';
import {
  STEP_SUMMARIES,
  type ActivityStep,
  type StepSummary,
  type StepValues,
} from '../domain/request-steps';
import { SEARCH_ATTRIBUTE_KEYS, type RequestOutcome } from '../domain/search-attribute-keys';
import type {
  AssembledPrompt,
  DataClassView,
  FallbackRecord,
  InferenceAttempt,
  RecordInput,
  RequestFailure,
  RequestProgress,
  StepLog,
  Timed,
} from '../domain/step-contracts';
import { stepRunOf } from '../domain/step-failure';
import type { StepName } from '../domain/step-names';
import { recordSteps } from './activity-options';
import type { ApprovalGate } from './approval-gate';
import { cancelNoteSignal, progressQuery } from './request-messages';

/** A failure the workflow decided on, or one an activity reported; always ends as ApplicationFailure. */
export class RequestFailed extends Error {
  constructor(readonly failure: RequestFailure) {
    super(failure.message);
    this.name = 'RequestFailed';
  }
}

/** Ends the request with a typed failure; `record` still runs when the run closes. */
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

/** What `record` needs to know about the run so far, on the success path and on every failure path. */
export interface RunFacts {
  principalId?: string;
  /** The feature the request is charged to, as authorize decided: never the caller's claim on its own. */
  feature?: string;
  policyVersion?: number;
  logging: LoggingMode;
  prompt?: AssembledPrompt;
  approval?: ApprovalOutcome;
  output?: string;
  /** Filled in by the attempt loop as it goes, so a cancellation mid-loop still records every attempt. */
  attempts: InferenceAttempt[];
  fallbacks: FallbackRecord[];
  /** Every guardrail verdict, in order: the audit keeps them (masked per the logging mode). */
  guardrailVerdicts: GuardrailVerdict[];
}

/**
 * The bookkeeping of one run of a request: the step log (each entry attributed to the run that did the
 * work), the facts `record` needs, the progress query, the search attributes an operator filters on,
 * approvals, who cancelled it, and how the run closes. The workflow reads as its steps; everything it
 * records about them happens here.
 */
export class RequestRun {
  readonly runId = workflowInfo().runId;
  readonly steps: StepLog[] = [];
  readonly facts: RunFacts = { logging: 'hash', attempts: [], fallbacks: [], guardrailVerdicts: [] };
  currentStep: StepName | 'done' = 'authorize';
  outcome: RequestProgress['outcome'] = 'running';
  failure?: RequestFailure;
  dataClass: DataClassView;
  cancelNote?: CancelNoteInput;
  /** The run of the most recent step result, to which decisions taken from it are attributed. */
  private lastRunId = this.runId;
  private route?: string;

  constructor(private readonly request: LlmRequest) {
    this.dataClass = { declared: request.dataClass, effective: request.dataClass, raisedBy: [] };
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

  /**
   * Runs one step's activity and logs it with its summary; a failure ends the request as that step's,
   * unless `rescue` turns it into a value the policy allows going on with (a guardrail failing open).
   */
  async step<Step extends ActivityStep>(
    step: Step,
    call: () => Promise<Timed<StepValues[Step]>>,
    attempt = 0,
    rescue?: (error: unknown) => StepValues[Step] | undefined,
  ): Promise<StepValues[Step]> {
    this.currentStep = step;
    const started = Date.now();
    const summarize = STEP_SUMMARIES[step] as (value: StepValues[Step]) => StepSummary;
    try {
      const { value, elapsedMs, runId } = await call();
      const { status, detail } = summarize(value);
      this.lastRunId = runId;
      this.steps.push({ step, attempt, status, elapsedMs, runId, detail });
      return value;
    } catch (error) {
      const rescued = isCancellation(error) ? undefined : rescue?.(error);
      if (rescued !== undefined) {
        const runId = failedRunOf(error) ?? this.runId;
        this.steps.push({ step, attempt, ...summarize(rescued), elapsedMs: Date.now() - started, runId });
        return rescued;
      }
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

  /** Keeps what the audit needs from an allowed decision: who, which policy, which feature, logged how. */
  authorized(decision: Extract<PolicyDecision, { allowed: true }>): void {
    this.facts.principalId = decision.principalId;
    this.facts.feature = chargedFeatureOf(decision, this.request);
    // `Feature` holds the caller's claim from the start and follows the charge where it differs, which no
    // decision recorded before 0029 does: replayed histories keep their commands.
    if (this.facts.feature !== undefined && this.facts.feature !== this.request.feature)
      upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.feature, value: this.facts.feature }]);
    this.facts.policyVersion = decision.policyVersion;
    this.facts.logging = decision.logging;
    this.dataClass = { declared: this.request.dataClass, effective: decision.dataClass, raisedBy: [] };
  }

  /** The class the request is handled as once its documents are known. */
  reevaluated(reevaluation: DataClassReevaluation): void {
    this.dataClass = {
      declared: reevaluation.declared,
      effective: reevaluation.effective,
      raisedBy: reevaluation.raisedBy.map((document) => document.documentId),
    };
  }

  /** Waits for an approver where the requirement says so; a denial or timeout ends the request. */
  async requireApproval(requirement: ApprovalRequirement, gate: ApprovalGate): Promise<void> {
    if (!requirement.required) return;
    if (requirement.approverIds.length === 0) {
      fail(
        FAILURE_TYPES.approvalDenied,
        'authorize',
        `${requirement.reason}, but the tenant has no approver other than the requester`,
      );
    }
    this.setOutcome('awaiting-approval');
    const { decided, outcome } = await gate.waitForDecision(requirement);
    this.facts.approval = outcome;
    this.setOutcome('running');
    if (!decided) {
      fail(
        FAILURE_TYPES.approvalTimedOut,
        'authorize',
        `no approver decided within ${Math.round(requirement.timeoutMs / 1000)} s; denied`,
      );
    }
    if (outcome.decision !== 'approved') {
      fail(
        FAILURE_TYPES.approvalDenied,
        'authorize',
        `denied by '${outcome.approverId}'${outcome.comment ? `: ${outcome.comment}` : ''}`,
      );
    }
  }

  /** Step 9: records this run; a Reset to after `record` copied another run's record, so it records itself too. */
  async record(failure?: RequestFailure): Promise<void> {
    await this.step('record', () => recordSteps.record(this.recordInput(failure)));
    if (this.lastStepRunId() !== this.runId) {
      await this.step('record', () => recordSteps.record(this.recordInput(failure)), 1);
    }
  }

  /**
   * Records a success and sets the attributes it is found by. Recording is the run's commit point: a
   * cancellation that arrives while it runs cannot turn a billed, recorded answer into a failure (the
   * failure record would conflict with the success already written), so it completes first.
   */
  async succeed(): Promise<void> {
    await CancellationScope.nonCancellable(() => this.record());
    this.currentStep = 'done';
    this.setOutcome('succeeded', [
      { key: SEARCH_ATTRIBUTE_KEYS.costUsd, value: microToUsd(sumAttemptCosts(this.facts.attempts)) },
    ]);
  }

  /**
   * Every failure path ends here: the failure is recorded (even when the request was cancelled: audit
   * the failure, settle the reservations), then returned as the run's typed `ApplicationFailure`.
   */
  async closeFailed(error: unknown): Promise<ApplicationFailure> {
    const step = this.currentStep === 'done' ? 'record' : this.currentStep;
    const cancelled = isCancellation(error);
    const note = this.cancelNote;
    const failure: RequestFailure = cancelled
      ? {
          type: FAILURE_TYPES.cancelled,
          step,
          message: note ? `cancelled by ${note.by}: ${note.reason}` : 'the request was cancelled',
        }
      : failureOf(step, error);
    this.failure = failure;
    this.setOutcome(cancelled ? 'cancelled' : 'failed', [
      { key: SEARCH_ATTRIBUTE_KEYS.failedStep, value: failure.step },
      { key: SEARCH_ATTRIBUTE_KEYS.costUsd, value: microToUsd(sumAttemptCosts(this.facts.attempts)) },
    ]);
    try {
      await CancellationScope.nonCancellable(() => this.record(failure));
    } catch (recordError) {
      log.error('recording the failed request failed', { error: String(recordError) });
    }
    this.currentStep = 'done';
    return ApplicationFailure.create({
      message: failure.message,
      type: failure.type,
      nonRetryable: true,
      details: [{ step: failure.step, attempts: this.facts.attempts, fallbacks: this.facts.fallbacks }],
    });
  }

  /** What the caller's result takes from the run's bookkeeping. */
  resultFacts() {
    return {
      workflowId: workflowInfo().workflowId,
      runId: this.runId,
      attempts: this.facts.attempts,
      fallbacks: this.facts.fallbacks,
      approval: this.facts.approval,
      dataClass: this.dataClass,
      timings: this.timings(),
    };
  }

  /** Milliseconds per step, summed over attempts. */
  timings(): Partial<Record<StepName, number>> {
    const timings: Partial<Record<StepName, number>> = {};
    for (const entry of this.steps) {
      if (entry.status !== 'skipped') timings[entry.step] = (timings[entry.step] ?? 0) + entry.elapsedMs;
    }
    return timings;
  }

  private lastStepRunId(): string | undefined {
    return this.steps[this.steps.length - 1]?.runId;
  }

  private recordInput(failure?: RequestFailure): RecordInput {
    const info = workflowInfo();
    const { request, facts } = this;
    return {
      workflowId: info.workflowId,
      runId: this.runId,
      originalRunId: info.originalExecutionRunId,
      tenantId: request.tenantId,
      requestId: request.requestId,
      principalId: facts.principalId,
      taskType: request.taskType,
      feature: facts.feature,
      declaredFeature: request.feature,
      dataClass: this.dataClass,
      policyVersion: facts.policyVersion,
      promptRef: facts.prompt?.promptRef,
      logging: facts.logging,
      question: request.question,
      output: facts.output,
      steps: this.steps,
      attempts: facts.attempts,
      fallbacks: facts.fallbacks,
      approval: facts.approval,
      cancel: this.cancelNote,
      failure,
      guardrailVerdicts: facts.guardrailVerdicts,
    };
  }
}
