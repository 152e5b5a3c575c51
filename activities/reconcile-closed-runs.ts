import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { AUDIT_EVENT_TYPES, AUDIT_SLOTS } from '../domain/audit-event';
import { microToUsd } from '../domain/cost';
import { FAILURE_TYPES } from '../domain/failure-types';
import { appendAuditEvents } from '../store/audit-repository';
import { listOpenReservations, releaseExpiredReservations } from '../store/budget-repository';
import type { ActivityDependencies } from './activity-dependencies';
import { reconcileRun, type ReconcileOutcome } from './reconcile-run';

export interface ReconcileClosedRunsInput {
  /** Reservations younger than this belong to runs that are most likely still working. */
  graceMs: number;
  /** How far back to look for terminated and timed-out runs in Temporal's visibility. */
  lookbackMs: number;
}

export interface ReconcileReport {
  /** `workflowId/runId` of every run this pass recorded. */
  reconciled: string[];
  stillRunning: number;
  alreadyRecorded: number;
  /** Reservations returned to their budgets because they expired. */
  expiredReservations: number;
}

/**
 * The reconciler's one activity (run by a Temporal Schedule): finds runs that closed without recording —
 * through their open reservations and through Temporal's list of terminated and timed-out runs — and
 * reconciles each; returns expired reservations to their budgets with an audit event.
 */
export function createReconcileClosedRunsActivity(
  deps: Pick<ActivityDependencies, 'db' | 'temporal' | 'clock' | 'audit'>,
) {
  return async function reconcileClosedRuns(input: ReconcileClosedRunsInput): Promise<ReconcileReport> {
    const temporal = deps.temporal;
    if (!temporal) {
      throw ApplicationFailure.nonRetryable('the reconciler needs a Temporal client', FAILURE_TYPES.internal);
    }
    const now = deps.clock();
    const report: ReconcileReport = {
      reconciled: [],
      stillRunning: 0,
      alreadyRecorded: 0,
      expiredReservations: 0,
    };
    const runs = new Map<string, { workflowId: string; runId: string; tenantId?: string }>();
    for (const reservation of await listOpenReservations(deps.db, {
      createdBefore: new Date(now - input.graceMs),
    })) {
      runs.set(`${reservation.workflowId}/${reservation.runId}`, reservation);
    }
    const since = new Date(now - input.lookbackMs).toISOString();
    const query =
      `WorkflowType = 'llmRequestWorkflow' AND ExecutionStatus IN ('Terminated', 'TimedOut') ` +
      `AND CloseTime > '${since}'`;
    for await (const execution of temporal.client.workflow.list({ query })) {
      runs.set(`${execution.workflowId}/${execution.runId}`, {
        workflowId: execution.workflowId,
        runId: execution.runId,
      });
    }
    const tally: Record<ReconcileOutcome, () => void> = {
      reconciled: () => undefined,
      recorded: () => (report.alreadyRecorded += 1),
      'still-running': () => (report.stillRunning += 1),
    };
    for (const [key, run] of runs) {
      Context.current().heartbeat({ at: key });
      try {
        const outcome = await reconcileRun(
          { db: deps.db, client: temporal.client, chainKey: deps.audit.keys.chainKey },
          run,
        );
        if (outcome === 'reconciled') report.reconciled.push(key);
        tally[outcome]();
      } catch (error) {
        // One unreadable run must not stop the others; it is tried again on the next pass.
        log.warn('could not reconcile a run', { run: key, error: String(error) });
      }
    }
    for (const released of await releaseExpiredReservations(deps.db, new Date(now))) {
      report.expiredReservations += 1;
      await appendAuditEvents(deps.db, deps.audit.keys.chainKey, [
        {
          tenantId: released.tenantId,
          workflowId: released.workflowId,
          runId: released.runId,
          step: AUDIT_SLOTS.reservationExpired.step,
          attempt: Number(released.key.split('/').pop() ?? 0),
          eventType: AUDIT_EVENT_TYPES.reservationExpired,
          payload: {
            reservation: released.key,
            amountUsd: microToUsd(released.amountMicroUsd),
            expiresAt: released.expiresAt,
          },
        },
      ]);
    }
    return report;
  };
}
