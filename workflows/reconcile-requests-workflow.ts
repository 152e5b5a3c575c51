import { patched } from '@temporalio/workflow';
import { stepsWith } from './activity-options';
import type { ReconcileClosedRunsInput, ReconcileReport } from '../activities/reconcile-closed-runs';

const reconciler = stepsWith({
  timeout: '5m',
  heartbeat: '30s',
  attempts: 3,
  firstRetry: '1s',
  longestWait: '10s',
});

const checkpointer = stepsWith({ timeout: '1m', attempts: 3, firstRetry: '1s', longestWait: '10s' });

/**
 * Started by the `gatehouse-reconciler` Schedule (visible in the Temporal UI): settles what closed runs
 * left open — terminated, timed out, superseded while running, or lost — and frees expired reservations.
 * Then it signs every tenant's audit chain head that moved into the checkpoint sink, after the
 * reconciliation so the events it wrote are covered too, and applies the tenants' audit retention
 * (docs/decisions/0016).
 */
export async function reconcileRequestsWorkflow(
  input: ReconcileClosedRunsInput,
): Promise<ReconcileReport & { checkpointed?: number; pruned?: number }> {
  const report = await reconciler.reconcileClosedRuns(input);
  if (!patched('audit-checkpoints')) return report;
  const { checkpointed, pruned } = await checkpointer.checkpointAuditChains();
  return { ...report, checkpointed, pruned };
}
