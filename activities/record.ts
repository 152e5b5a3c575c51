import { log } from '@temporalio/activity';
import { AUDIT_EVENT_TYPES, AUDIT_SLOTS } from '../domain/audit-event';
import type { RecordInput, RecordOutcome } from '../domain/step-contracts';
import { readRunHistory, type ResetFacts } from '../history/read-run-history';
import { appendAuditEvents, readAuditHead, type NewAuditEvent } from '../store/audit-repository';
import { serializeOnRun, settleRun } from '../store/budget-repository';
import { listRunUsage, recordUsage } from '../store/usage-repository';
import type { ActivityDependencies } from './activity-dependencies';
import { buildAuditEvents } from './build-audit-events';
import { ledgerRowFor, usageAuditEvents } from './ledger-rows';
import { reconcileRun } from './reconcile-run';

/**
 * Step 9, on every exit path: in one transaction, the ledger rows the infer activity could not write, the
 * settlement of THIS run's reservations with what the ledger says its attempts cost, and the run's audit
 * events. A run a Reset started also records the Reset (from its own history: base run, event, who, why)
 * and settles the run it superseded if that one never recorded itself.
 */
export function createRecordActivity(
  deps: Pick<ActivityDependencies, 'db' | 'temporal' | 'audit' | 'telemetry'>,
) {
  async function resetOf(input: RecordInput): Promise<ResetFacts | undefined> {
    if (input.runId === input.originalRunId || !deps.temporal) return undefined;
    return (await readRunHistory(deps.temporal.client, input.workflowId, input.runId)).reset;
  }

  return async function record(input: RecordInput): Promise<RecordOutcome> {
    const started = performance.now();
    const reset = await resetOf(input);
    const events: NewAuditEvent[] = buildAuditEvents(input).map((event) =>
      // Another run's work, copied by a Reset: that run (or the reconciler) describes it first.
      event.runId === input.runId ? event : { ...event, ifAbsent: true },
    );
    if (reset) {
      events.push({
        tenantId: input.tenantId,
        workflowId: input.workflowId,
        runId: input.runId,
        ...AUDIT_SLOTS.reset,
        eventType: AUDIT_EVENT_TYPES.requestReset,
        payload: {
          ...reset,
          copiedSteps: input.steps
            .filter((step) => step.runId && step.runId !== input.runId)
            .map((step) => step.step),
        },
      });
    }
    const attribution = {
      principalId: input.principalId ?? '',
      taskType: input.taskType,
      feature: input.feature,
      promptRef: input.promptRef ?? '',
    };
    const ledgerRows = input.attempts
      .filter((attempt) => !attempt.usageUnknown)
      .map((attempt) =>
        ledgerRowFor({ tenantId: input.tenantId, workflowId: input.workflowId, attribution }, attempt),
      );
    const outcome = await deps.db.transaction(async (trx) => {
      await serializeOnRun(trx, input.workflowId, input.runId);
      const ledgerRowsRecorded = await recordUsage(trx, ledgerRows);
      const own = await listRunUsage(trx, input.workflowId, input.runId);
      const chargedMicroUsd = own.reduce((total, row) => total + row.costMicroUsd, 0);
      const settlement = await settleRun(trx, {
        tenantId: input.tenantId,
        workflowId: input.workflowId,
        runId: input.runId,
        actualMicroUsd: chargedMicroUsd,
      });
      const auditEventsAppended = await appendAuditEvents(trx, deps.audit.keys.chainKey, [
        ...events,
        ...usageAuditEvents(own),
      ]);
      // Read in the same transaction: the head this run's events produced, before anyone appends more.
      const auditHead = await readAuditHead(trx, input.tenantId);
      return {
        auditEventsAppended,
        ledgerRowsRecorded,
        reservation: settlement.state,
        chargedMicroUsd,
        auditHead,
      };
    });
    const reconciledRuns: string[] = [];
    if (reset && deps.temporal) {
      const result = await reconcileRun(
        { db: deps.db, client: deps.temporal.client, chainKey: deps.audit.keys.chainKey },
        {
          tenantId: input.tenantId,
          workflowId: input.workflowId,
          runId: reset.baseRunId,
          supersededBy: input.runId,
        },
      );
      if (result === 'reconciled') reconciledRuns.push(reset.baseRunId);
      if (result === 'still-running')
        log.warn('the run this Reset superseded is still running', { runId: reset.baseRunId });
    }
    // Once the record is written: a retried record (database outage) is counted once.
    deps.telemetry?.requestRecorded(input, performance.now() - started);
    return { ...outcome, reconciledRuns };
  };
}
