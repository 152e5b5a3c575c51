import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  isCancellation,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import { sumAttemptCosts } from '../domain/build-llm-result';
import { microToUsd, usageCostMicroUsd } from '../domain/cost';
import { promptContentOf } from '../domain/content-reference';
import { decideNextAttempt, initialAttemptState, type AttemptDecision } from '../domain/decide-next-attempt';
import type { DataClass } from '../domain/data-class';
import { FAILURE_TYPES, type FailureType } from '../domain/failure-types';
import { redactionFor, type RedactionControl } from '../domain/governance-controls';
import {
  classifyAttemptFailure,
  decodeInferenceFailure,
  type ClassifiedAttemptFailure,
  type ObservedAttemptFailure,
} from '../domain/inference-failure';
import type { LlmRequest } from '../domain/request-contract';
import type { RoutePlan } from '../domain/route-selection';
import type { Route } from '../domain/route-table';
import type {
  AssembledPrompt,
  AttemptAttribution,
  FallbackRecord,
  InferenceAttempt,
  InferenceResponse,
  RetrievedChunk,
} from '../domain/step-contracts';
import { attemptActivities, localSteps } from './activity-options';
import { fail, type RequestRun } from './request-run';

type InferOptions = Parameters<typeof inferOverRoutes>[0];

/**
 * Step 7 as the workflow sees it: the attempt loop, logged as one `infer` step (attributed to the run of
 * its last attempt), ending the request with the loop's stop reason when no route answered.
 */
export async function runInferStep(
  options: InferOptions,
): Promise<{ route: Route; response: InferenceResponse }> {
  const { run } = options;
  const { attempts } = run.facts;
  run.currentStep = 'infer';
  const started = Date.now();
  let inference: InferenceOutcome | undefined;
  try {
    inference = await inferOverRoutes(options);
  } finally {
    run.log({
      step: 'infer',
      attempt: 0,
      status: inference?.success ? 'succeeded' : 'failed',
      elapsedMs: Date.now() - started,
      runId: attempts[attempts.length - 1]?.runId,
      detail: {
        attempts: attempts.length,
        routeId: inference?.success?.route.id ?? null,
        stopReason: inference?.stop?.reason ?? null,
        costUsd: microToUsd(sumAttemptCosts(attempts)),
      },
    });
  }
  if (inference.success) {
    run.facts.output = inference.success.response.text;
    return inference.success;
  }
  const summary = attempts
    .map((attempt) => `#${attempt.attempt} ${attempt.routeId}: ${attempt.failureType}`)
    .join('; ');
  const type = inference.stop?.type ?? FAILURE_TYPES.inferenceExhausted;
  return fail(
    type,
    type === FAILURE_TYPES.budgetExceeded ? 'reserve-budget' : 'infer',
    `${inference.stop?.reason ?? 'no route answered'} (attempts: ${summary || 'none'})`,
  );
}

export interface InferenceOutcome {
  success?: { route: Route; response: InferenceResponse };
  attempts: InferenceAttempt[];
  fallbacks: FallbackRecord[];
  /** Why the loop stopped without an answer, and as which failure the request ends. */
  stop?: { type: FailureType; reason: string };
}

/** Strips Temporal's failure classes off an attempt's failure, for the pure classifier. */
function observe(error: unknown): ObservedAttemptFailure {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof TimeoutFailure) {
    return {
      kind: 'timeout',
      timeoutType: cause.timeoutType?.toString() ?? 'timeout',
      message: `the attempt timed out (${cause.message})`,
      lastHeartbeat: cause.lastHeartbeatDetails,
    };
  }
  if (cause instanceof CancelledFailure)
    return { kind: 'cancelled', details: decodeInferenceFailure(cause.details), message };
  if (cause instanceof ApplicationFailure) {
    return {
      kind: 'application',
      type: cause.type ?? undefined,
      nonRetryable: cause.nonRetryable ?? false,
      details: decodeInferenceFailure(cause.details),
      message,
    };
  }
  return { kind: 'other', message };
}

/** The prices an attempt's cost used, for its ledger row. */
function pricedBy(route: Route): Pick<InferenceAttempt, 'pricingVersion'> {
  return route.pricingVersion === undefined ? {} : { pricingVersion: route.pricingVersion };
}

function failedAttempt(
  route: Route,
  attempt: number,
  failure: ClassifiedAttemptFailure,
  outcome: InferenceAttempt['outcome'],
  fallbackRunId: string,
): InferenceAttempt {
  return {
    attempt,
    runId: failure.runId ?? fallbackRunId,
    routeId: route.id,
    provider: route.provider,
    model: route.model,
    outcome,
    failureType: failure.classification.failureType,
    message: failure.message,
    usage: failure.usage,
    usageEstimated: failure.usageEstimated,
    ...(failure.ledgerRecorded === undefined ? { usageUnknown: true } : {}),
    costMicroUsd: usageCostMicroUsd(route, failure.usage),
    ...pricedBy(route),
    latencyMs: failure.latencyMs ?? 0,
    timeToFirstTokenMs: failure.timeToFirstTokenMs,
    classification: failure.classification,
  };
}

/**
 * The attempt loop (docs/decisions/0001) as an interpreter of the pure `decideNextAttempt`: wait as told,
 * reserve the attempt's budget (the first attempt's was reserved by the reserve-budget step), run the
 * attempt on its route's task queue, and feed its failure back to the decision. Every attempt — failed
 * and cancelled ones too — is kept with its run, usage and cost.
 */
export async function inferOverRoutes(options: {
  run: RequestRun;
  request: LlmRequest;
  plan: RoutePlan;
  prompt: AssembledPrompt;
  /** The prompt tokens the reservation settled on (the provider's count where a route offers one). */
  reservedPromptTokens: number;
  chunks: RetrievedChunk[];
  maxOutputTokens: number;
  attribution: AttemptAttribution;
  /** Whether any streamed text of this attempt reached the workflow (and so possibly the caller). */
  delivered: (attempt: number) => boolean;
  /** The policy's redaction control; each attempt's route and the data class decide whether it applies. */
  redaction?: RedactionControl;
  /** The effective data class. */
  dataClass: DataClass;
  /** Output guardrails must judge the answer before the caller sees any of it: no streamed deltas. */
  holdOutput?: boolean;
}): Promise<InferenceOutcome> {
  const { run, request, plan } = options;
  const { attempts, fallbacks } = run.facts;
  const workflowId = workflowInfo().workflowId;
  let decision: AttemptDecision = decideNextAttempt(
    initialAttemptState(plan.budget, Date.now()),
    undefined,
    plan,
    Date.now(),
  );
  while (decision.kind === 'attempt') {
    const { route, attempt } = decision;
    if (decision.fallback) fallbacks.push(decision.fallback);
    if (decision.delayMs > 0) await sleep(decision.delayMs);
    if (attempt > 1) {
      const reservation = await run.step(
        'reserve-budget',
        () =>
          localSteps.reserveBudget({
            tenantId: request.tenantId,
            workflowId,
            slot: attempt,
            routeIds: [route.id],
            prompt: promptContentOf(options.prompt),
            promptTokens: options.reservedPromptTokens,
            maxOutputTokens: options.maxOutputTokens,
            attemptsToCover: 1,
            feature: options.attribution.feature,
          }),
        attempt,
      );
      if (!reservation.admitted) {
        return {
          attempts,
          fallbacks,
          stop: {
            type: FAILURE_TYPES.budgetExceeded,
            reason: `budget exceeded before attempt ${attempt}: ${reservation.reason ?? 'no headroom'}`,
          },
        };
      }
    }
    run.setRoute(route.id);
    try {
      const { value: response, runId } = await attemptActivities(
        route,
        decision.startToCloseMs,
        decision.state.deadlineAt - Date.now(),
      ).infer({
        workflowId,
        tenantId: request.tenantId,
        attempt,
        route,
        prompt: promptContentOf(options.prompt),
        promptTokens: options.prompt.inputTokens,
        question: request.question,
        chunks: options.chunks,
        maxOutputTokens: Math.min(options.maxOutputTokens, route.maxOutputTokens),
        responseFormat: request.outputSchema ? 'json' : 'text',
        stream: request.stream && !options.holdOutput,
        attribution: options.attribution,
        redaction: redactionFor(options.redaction, route.id, options.dataClass),
        retryNumber: decision.state.routeAttempts - 1,
        fallback: decision.fallback,
      });
      attempts.push({
        attempt,
        runId,
        routeId: route.id,
        provider: route.provider,
        model: route.model,
        outcome: 'succeeded',
        usage: response.usage,
        usageEstimated: false,
        costMicroUsd: usageCostMicroUsd(route, response.usage),
        ...pricedBy(route),
        latencyMs: response.latencyMs,
        timeToFirstTokenMs: response.timeToFirstTokenMs,
        ...(response.redaction ? { redactedEntities: response.redaction.entityCounts } : {}),
      });
      return { success: { route, response }, attempts, fallbacks };
    } catch (error) {
      const observed = observe(error);
      const failure = classifyAttemptFailure(observed);
      const cancelled = isCancellation(error);
      attempts.push(failedAttempt(route, attempt, failure, cancelled ? 'cancelled' : 'failed', run.runId));
      if (cancelled) throw error;
      // A stored prompt that fails its check fails on every route alike: no retry, no fallback.
      if (observed.kind === 'application' && observed.type === FAILURE_TYPES.contentIntegrityFailed) {
        return {
          attempts,
          fallbacks,
          stop: { type: FAILURE_TYPES.contentIntegrityFailed, reason: failure.message },
        };
      }
      decision = decideNextAttempt(
        decision.state,
        {
          classification: failure.classification,
          costMicroUsd: usageCostMicroUsd(route, failure.usage),
          // A timeout carries no details, so the workflow's own view of the stream decides too.
          delivered: failure.deliveredDeltas > 0 || options.delivered(attempt),
          message: failure.message,
        },
        plan,
        Date.now(),
      );
    }
  }
  return {
    attempts,
    fallbacks,
    stop: {
      type: decision.interruptedAfterDelivery
        ? FAILURE_TYPES.streamInterrupted
        : FAILURE_TYPES.inferenceExhausted,
      reason: decision.reason,
    },
  };
}
