import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { GatehouseActivities } from '../activities/create-activities';
import type { Route } from '../domain/route-table';

/**
 * Cheap steps with no long I/O run as local activities: no task-queue round trip per step. Most read or
 * write the database, so like `record` they wait through a database outage of about six minutes (the
 * worker waits between tries asynchronously) rather than failing the request: authorize, reserve-budget
 * and the rest ride out the same outage `record` does.
 */
export const localSteps = proxyLocalActivities<GatehouseActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 45, initialInterval: '50ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

export const retrievalSteps = proxyActivities<GatehouseActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/**
 * Remote guardrails (Bedrock ApplyGuardrail): a few quick tries, honouring Retry-After; once they are
 * spent the tenant's policy decides whether the request goes on without a verdict or fails.
 */
export const guardrailSteps = proxyActivities<GatehouseActivities>({
  startToCloseTimeout: '15s',
  retry: { maximumAttempts: 3, initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s' },
});

/** Recording must not be lost: it keeps retrying through a database outage of about six minutes. */
export const recordSteps = proxyActivities<GatehouseActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 40, initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
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
