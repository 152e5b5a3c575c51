import type { ProviderErrorClass } from './classify-provider-error';
import { usdToMicro } from './cost';
import type { InferenceBudget, Route } from './route-table';
import type { FallbackRecord } from './step-contracts';

/** Where the attempt loop stands: what the budgets have used so far. */
export interface AttemptLoopState {
  /** Attempts started so far, over all routes. */
  attempts: number;
  /** Index of the route in the plan's candidates that the last attempt used. */
  routeIndex: number;
  /** Attempts started on that route. */
  routeAttempts: number;
  fallbacks: number;
  /** What failed attempts cost so far. */
  failedSpendMicroUsd: number;
  /** Epoch ms after which no attempt may start. */
  deadlineAt: number;
}

/** What the loop needs to know about the attempt that just failed. */
export interface AttemptFailureFacts {
  classification: ProviderErrorClass;
  costMicroUsd: number;
  /** Some of this attempt's text already reached the caller. */
  delivered: boolean;
  message: string;
}

export interface AttemptPlan {
  candidates: readonly Route[];
  budget: InferenceBudget;
}

export type AttemptDecision =
  | {
      kind: 'attempt';
      route: Route;
      /** The attempt's number within the request (1-based). */
      attempt: number;
      /** Wait this long first: backoff or the provider's Retry-After. */
      delayMs: number;
      /** Set when this attempt moves to another route. */
      fallback?: FallbackRecord;
      /** Longest the attempt may run before the phase's deadline. */
      startToCloseMs: number;
      state: AttemptLoopState;
    }
  | { kind: 'stop'; reason: string; interruptedAfterDelivery: boolean };

export function initialAttemptState(budget: InferenceBudget, now: number): AttemptLoopState {
  return {
    attempts: 0,
    routeIndex: 0,
    routeAttempts: 0,
    fallbacks: 0,
    failedSpendMicroUsd: 0,
    deadlineAt: now + budget.deadlineMs,
  };
}

/** Exponential backoff of a route after its `routeAttempt`-th failure. */
export function backoffMs(route: Route, routeAttempt: number): number {
  const { initialIntervalMs, backoffCoefficient, maximumIntervalMs } = route.retry;
  return Math.min(initialIntervalMs * backoffCoefficient ** (routeAttempt - 1), maximumIntervalMs);
}

const stop = (reason: string, interruptedAfterDelivery = false): AttemptDecision => ({
  kind: 'stop',
  reason,
  interruptedAfterDelivery,
});

/**
 * The retry and fallback policy of the inference phase (docs/decisions/0001), as one pure decision: given
 * the budgets used so far and how the last attempt failed (none yet: the loop is starting), try the same
 * route again after a delay, fall back to the next route, or stop and say why. The workflow only carries
 * out what this returns. Rules, in order: text already delivered stops everything; then the retry-spend
 * budget; a failure neither a retry nor another route can fix stops; a retryable failure retries the
 * route within its own attempts; otherwise the next route takes over within the fallback budget; every
 * attempt must fit the total-attempt budget and start (after its delay) before the deadline.
 */
export function decideNextAttempt(
  state: AttemptLoopState,
  failure: AttemptFailureFacts | undefined,
  plan: AttemptPlan,
  now: number,
): AttemptDecision {
  const { candidates, budget } = plan;
  if (failure === undefined) {
    if (candidates.length === 0) return stop('no candidate routes');
    return tryRoute({ ...state, routeIndex: 0, routeAttempts: 0 }, plan, now, 0);
  }
  const route = candidates[state.routeIndex];
  if (route === undefined) return stop('every candidate route gave up');
  const { classification } = failure;
  const failedSpendMicroUsd = state.failedSpendMicroUsd + failure.costMicroUsd;
  const next = { ...state, failedSpendMicroUsd };
  if (failure.delivered) {
    return stop(
      `${route.id} failed after streaming had begun (${failure.message}); nothing may replace delivered text`,
      true,
    );
  }
  const maxRetrySpendMicroUsd = usdToMicro(budget.maxRetrySpendUsd);
  if (failedSpendMicroUsd > maxRetrySpendMicroUsd) {
    return stop(
      `failed attempts cost ${failedSpendMicroUsd} micro-USD, over the retry budget of ${maxRetrySpendMicroUsd}`,
    );
  }
  if (!classification.retryable && !classification.fallback) {
    return stop(
      `${classification.failureType} from ${route.id} is not something a retry or another route can fix: ${failure.message}`,
    );
  }
  if (classification.retryable && state.routeAttempts < route.retry.maximumAttempts) {
    const delayMs = classification.nextRetryDelayMs ?? backoffMs(route, state.routeAttempts);
    return tryRoute(next, plan, now, delayMs);
  }
  const nextRoute = candidates[state.routeIndex + 1];
  if (nextRoute === undefined) return stop('every candidate route gave up');
  if (state.fallbacks >= budget.maxFallbacks) return stop(`fallback budget of ${budget.maxFallbacks} spent`);
  const fallback: FallbackRecord = {
    fromRouteId: route.id,
    toRouteId: nextRoute.id,
    reason: `${route.id}: ${classification.failureType} (${classification.code})`,
  };
  return tryRoute(
    { ...next, routeIndex: state.routeIndex + 1, routeAttempts: 0, fallbacks: state.fallbacks + 1 },
    plan,
    now,
    0,
    fallback,
  );
}

function tryRoute(
  state: AttemptLoopState,
  plan: AttemptPlan,
  now: number,
  delayMs: number,
  fallback?: FallbackRecord,
): AttemptDecision {
  const route = plan.candidates[state.routeIndex];
  if (route === undefined) return stop('every candidate route gave up');
  if (state.attempts >= plan.budget.maxTotalAttempts) {
    return stop(`attempt budget of ${plan.budget.maxTotalAttempts} spent`);
  }
  const startsAt = now + delayMs;
  if (startsAt >= state.deadlineAt) {
    return stop(
      delayMs > 0
        ? `the next retry (in ${delayMs} ms) would pass the inference deadline`
        : `inference deadline of ${plan.budget.deadlineMs} ms passed`,
    );
  }
  const attempts = state.attempts + 1;
  return {
    kind: 'attempt',
    route,
    attempt: attempts,
    delayMs,
    fallback,
    startToCloseMs: Math.max(1, Math.min(route.timeoutMs, state.deadlineAt - startsAt)),
    state: { ...state, attempts, routeAttempts: state.routeAttempts + 1 },
  };
}
