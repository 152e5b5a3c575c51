import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { GatehouseActivities } from '../activities/create-activities';
import type { Route } from '../domain/route-table';

/** How long an activity may run, and how often and how patiently Temporal tries it (backoff ×2). */
export interface StepTiming {
  timeout: Duration;
  /** Set for long activities: they heartbeat, so a dead worker is noticed and cancellation arrives. */
  heartbeat?: Duration;
  attempts: number;
  firstRetry: Duration;
  longestWait: Duration;
}

function activityOptions(timing: StepTiming) {
  return {
    startToCloseTimeout: timing.timeout,
    ...(timing.heartbeat === undefined ? {} : { heartbeatTimeout: timing.heartbeat }),
    retry: {
      maximumAttempts: timing.attempts,
      initialInterval: timing.firstRetry,
      backoffCoefficient: 2,
      maximumInterval: timing.longestWait,
    },
  };
}

/** Activities on the workflow's own task queue, with the given timing. */
export function stepsWith(timing: StepTiming) {
  return proxyActivities<GatehouseActivities>(activityOptions(timing));
}

/**
 * Cheap steps with no long I/O run as local activities: no task-queue round trip per step. Most read or
 * write the database, so like `record` they wait through a database outage of about six minutes (the
 * worker waits between tries asynchronously) rather than failing the request: authorize, reserve-budget
 * and the rest ride out the same outage `record` does.
 */
export const localSteps = proxyLocalActivities<GatehouseActivities>(
  activityOptions({ timeout: '10s', attempts: 45, firstRetry: '50ms', longestWait: '10s' }),
);

const RETRIEVAL_TIMING: StepTiming = { timeout: '30s', attempts: 5, firstRetry: '200ms', longestWait: '5s' };

/**
 * Since decision 0030, retrieve runs as a local activity with its own timing: a task-queue round trip, a
 * workflow task and six history events fewer per request. Runs started before replay it as the regular
 * activity it was.
 */
export const LOCAL_RETRIEVE_PATCH = 'local-retrieve';

const localRetrievalSteps = proxyLocalActivities<GatehouseActivities>(activityOptions(RETRIEVAL_TIMING));
const regularRetrievalSteps = stepsWith(RETRIEVAL_TIMING);

/** The retrieve step's activity: local, or regular in a run from before decision 0030. */
export function retrievalSteps() {
  return patched(LOCAL_RETRIEVE_PATCH) ? localRetrievalSteps : regularRetrievalSteps;
}

/**
 * Recording must not be lost: it keeps retrying through a database outage of about six minutes. It stays
 * a regular activity (decision 0030): its completion is the run's commit point and must be in history the
 * moment it happens, which a local activity's is not until its workflow task completes.
 */
export const recordSteps = stepsWith({
  timeout: '30s',
  attempts: 40,
  firstRetry: '200ms',
  longestWait: '10s',
});

/**
 * Remote guardrails (Bedrock ApplyGuardrail): a few quick tries, honouring Retry-After; once they are
 * spent the tenant's policy decides whether the request goes on without a verdict or fails.
 */
export const guardrailSteps = stepsWith({
  timeout: '15s',
  attempts: 3,
  firstRetry: '200ms',
  longestWait: '2s',
});

/**
 * One inference attempt on a route's own task queue. The attempt loop owns retries (each attempt is seen,
 * costed and audited), so Temporal tries each exactly once. The heartbeat timeout notices a dead worker
 * and carries cancellation to the provider call; the workflow waits for the cancelled attempt to report
 * its usage.
 */
export function attemptActivities(route: Route, startToCloseMs: number, remainingMs: number) {
  return proxyActivities<GatehouseActivities>({
    taskQueue: route.taskQueue,
    startToCloseTimeout: startToCloseMs,
    // Without a worker on the route's queue the attempt must still end, so the next route can run.
    scheduleToCloseTimeout: Math.min(startToCloseMs + 30_000, remainingMs + 1_000),
    heartbeatTimeout: route.heartbeatTimeoutMs,
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { maximumAttempts: 1, initialInterval: route.retry.initialIntervalMs },
  });
}
