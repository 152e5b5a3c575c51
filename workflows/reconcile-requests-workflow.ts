import { proxyActivities } from '@temporalio/workflow';
import type { GatehouseActivities } from '../activities/create-activities';
import type { ReconcileClosedRunsInput, ReconcileReport } from '../activities/reconcile-closed-runs';

const reconciler = proxyActivities<GatehouseActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * Started by the `gatehouse-reconciler` Schedule (visible in the Temporal UI): settles what closed runs
 * left open — terminated, timed out, superseded while running, or lost — and frees expired reservations.
 */
export async function reconcileRequestsWorkflow(input: ReconcileClosedRunsInput): Promise<ReconcileReport> {
  return reconciler.reconcileClosedRuns(input);
}
