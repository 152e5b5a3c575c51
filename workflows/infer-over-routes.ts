import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { GatehouseActivities } from '../activities/create-activities';
import type { ProviderErrorClass } from '../domain/classify-provider-error';
import { usageCostMicroUsd, usdToMicro, ZERO_USAGE } from '../domain/cost';
import type { LlmRequest } from '../domain/request-contract';
import type { RoutePlan } from '../domain/route-selection';
import type { Route } from '../domain/route-table';
import type {
  AssembledPrompt,
  FallbackRecord,
  InferenceAttempt,
  InferenceFailureDetails,
  InferenceResponse,
  RetrievedChunk,
} from '../domain/step-contracts';

export interface InferenceOutcome {
  success?: { route: Route; response: InferenceResponse };
  attempts: InferenceAttempt[];
  fallbacks: FallbackRecord[];
  /** Why the loop stopped without an answer. */
  stopReason?: string;
  /** True when text already reached the caller, so nothing could be retried. */
  interruptedAfterDelivery: boolean;
}

/** A timeout or an unknown error: worth another try, and another route can help. */
const UNCLASSIFIED_FAILURE: ProviderErrorClass = {
  failureType: 'Inference.Unknown',
  retryable: true,
  fallback: true,
  code: 'unknown',
};

function classify(error: unknown): {
  classification: ProviderErrorClass;
  details?: Partial<InferenceFailureDetails>;
  message: string;
} {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof TimeoutFailure) {
    return {
      classification: {
        failureType: 'Inference.Timeout',
        retryable: true,
        fallback: true,
        code: cause.timeoutType?.toString() ?? 'timeout',
      },
      message: `the attempt timed out (${cause.message})`,
    };
  }
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as Partial<InferenceFailureDetails> | undefined;
    const reported = cause.details?.[1] as Partial<ProviderErrorClass> | undefined;
    const classification: ProviderErrorClass =
      reported && typeof reported.failureType === 'string'
        ? {
            failureType: reported.failureType,
            retryable: reported.retryable ?? !cause.nonRetryable,
            fallback: reported.fallback ?? true,
            code: reported.code ?? cause.type ?? 'unknown',
            nextRetryDelayMs: reported.nextRetryDelayMs,
          }
        : {
            ...UNCLASSIFIED_FAILURE,
            failureType: cause.type ?? UNCLASSIFIED_FAILURE.failureType,
            retryable: !cause.nonRetryable,
          };
    return { classification, details, message: cause.message };
  }
  return {
    classification: UNCLASSIFIED_FAILURE,
    message: cause instanceof Error ? cause.message : String(cause),
  };
}

/**
 * The attempt loop (docs/decisions/0001): each route is tried up to its own attempts with explicit
 * backoff or the provider's Retry-After, then the next route takes over — all within the task's budget
 * of total attempts, fallbacks, retry spend and deadline. Every attempt, failed ones too, is recorded
 * with its tokens and cost. Once streamed text has reached the caller nothing may replace it.
 */
export async function inferOverRoutes(options: {
  request: LlmRequest;
  executionId: string;
  plan: RoutePlan;
  prompt: AssembledPrompt;
  chunks: RetrievedChunk[];
  maxOutputTokens: number;
  /** Whether any streamed text of this attempt reached the workflow (and so possibly the caller). */
  deliveredText: (attempt: number) => boolean;
}): Promise<InferenceOutcome> {
  const { request, plan } = options;
  const budget = plan.budget;
  const info = workflowInfo();
  const attempts: InferenceAttempt[] = [];
  const fallbacks: FallbackRecord[] = [];
  const deadline = Date.now() + budget.deadlineMs;
  const maxRetrySpendMicroUsd = usdToMicro(budget.maxRetrySpendUsd);
  let failedSpendMicroUsd = 0;
  let lastRouteFailure: string | undefined;
  const stop = (stopReason: string, interruptedAfterDelivery = false): InferenceOutcome => ({
    attempts,
    fallbacks,
    stopReason,
    interruptedAfterDelivery,
  });

  for (const [routeIndex, route] of plan.candidates.entries()) {
    if (routeIndex > 0) {
      if (fallbacks.length >= budget.maxFallbacks)
        return stop(`fallback budget of ${budget.maxFallbacks} spent`);
      fallbacks.push({
        fromRouteId: plan.candidates[routeIndex - 1]?.id ?? 'none',
        toRouteId: route.id,
        reason: lastRouteFailure ?? 'previous route gave up',
      });
    }
    for (let routeAttempt = 1; routeAttempt <= route.retry.maximumAttempts; routeAttempt++) {
      if (attempts.length >= budget.maxTotalAttempts)
        return stop(`attempt budget of ${budget.maxTotalAttempts} spent`);
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return stop(`inference deadline of ${budget.deadlineMs} ms passed`);
      const attempt = attempts.length + 1;
      const startToCloseMs = Math.max(1, Math.min(route.timeoutMs, remainingMs));
      const routeActivities = proxyActivities<GatehouseActivities>({
        taskQueue: route.taskQueue,
        startToCloseTimeout: startToCloseMs,
        // Without a worker on the route's queue the attempt must still end, so the next route can run.
        scheduleToCloseTimeout: Math.min(startToCloseMs + 30_000, remainingMs + 1_000),
        // This loop owns retries so that each attempt is seen, costed and audited.
        retry: { maximumAttempts: 1, initialInterval: route.retry.initialIntervalMs },
      });
      const started = Date.now();
      try {
        const { value: response } = await routeActivities.infer({
          workflowId: info.workflowId,
          executionId: options.executionId,
          tenantId: request.tenantId,
          attempt,
          route,
          prompt: { system: options.prompt.system, user: options.prompt.user },
          question: request.question,
          chunks: options.chunks,
          maxOutputTokens: Math.min(options.maxOutputTokens, route.maxOutputTokens),
          responseFormat: request.outputSchema ? 'json' : 'text',
          stream: request.stream,
        });
        attempts.push({
          attempt,
          routeId: route.id,
          provider: route.provider,
          model: route.model,
          outcome: 'succeeded',
          usage: response.usage,
          costMicroUsd: usageCostMicroUsd(route, response.usage),
          latencyMs: response.latencyMs,
          timeToFirstTokenMs: response.timeToFirstTokenMs,
        });
        return { success: { route, response }, attempts, fallbacks, interruptedAfterDelivery: false };
      } catch (error) {
        if (isCancellation(error)) throw error;
        const { classification, details, message } = classify(error);
        const usage = details?.usage ?? ZERO_USAGE;
        const costMicroUsd = usageCostMicroUsd(route, usage);
        attempts.push({
          attempt,
          routeId: route.id,
          provider: route.provider,
          model: route.model,
          outcome: 'failed',
          failureType: classification.failureType,
          message,
          usage,
          costMicroUsd,
          latencyMs: details?.latencyMs ?? Date.now() - started,
          timeToFirstTokenMs: details?.timeToFirstTokenMs,
          classification,
        });
        failedSpendMicroUsd += costMicroUsd;
        lastRouteFailure = `${route.id}: ${classification.failureType} (${classification.code})`;
        // A timeout carries no details, so the workflow's own view of the stream decides too.
        if ((details?.deliveredDeltas ?? 0) > 0 || options.deliveredText(attempt)) {
          return stop(
            `${route.id} failed after streaming had begun (${message}); nothing may replace delivered text`,
            true,
          );
        }
        if (failedSpendMicroUsd > maxRetrySpendMicroUsd) {
          return stop(
            `failed attempts cost ${failedSpendMicroUsd} micro-USD, over the retry budget of ${maxRetrySpendMicroUsd}`,
          );
        }
        if (!classification.retryable && !classification.fallback) {
          return stop(
            `${classification.failureType} from ${route.id} is not something a retry or another route can fix: ${message}`,
          );
        }
        if (!classification.retryable) break;
        if (routeAttempt < route.retry.maximumAttempts) {
          const backoffMs = Math.min(
            route.retry.initialIntervalMs * route.retry.backoffCoefficient ** (routeAttempt - 1),
            route.retry.maximumIntervalMs,
          );
          const delayMs = classification.nextRetryDelayMs ?? backoffMs;
          if (Date.now() + delayMs >= deadline)
            return stop(`the next retry (in ${delayMs} ms) would pass the inference deadline`);
          await sleep(delayMs);
        }
      }
    }
  }
  return stop(plan.candidates.length === 0 ? 'no candidate routes' : 'every candidate route gave up');
}
