import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { GatehouseActivities } from '../activities/create-activities';
import type { Route } from '../domain/route-table';

/**
 * Cheap steps with no long I/O run as local activities: no task-queue round trip per step. Most read or
 * write the database, so like `record` they wait through an outage of a couple of minutes (the worker
 * waits between tries asynchronously) rather than failing the request.
 */
export const localSteps = proxyLocalActivities<GatehouseActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 30, initialInterval: '50ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

export const retrievalSteps = proxyActivities<GatehouseActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/** Recording must not be lost: it keeps retrying through a database outage of a few minutes. */
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
