import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { AuditChainKey } from '../governance/audit-chain';
import { AUDIT_EVENT_TYPES, AUDIT_SLOTS } from '../domain/audit-event';
import { microToUsd } from '../domain/cost';
import { parseRequestWorkflowId } from '../domain/request-contract';
import type { InferenceAttempt } from '../domain/step-contracts';
import { readRunHistory, type RunHistoryFacts } from '../history/read-run-history';
import { appendAuditEvents, findTerminalEvent, type NewAuditEvent } from '../store/audit-repository';
import { serializeOnRun, settleRun } from '../store/budget-repository';
import { listRunUsage, recordUsage, type UsageRecord } from '../store/usage-repository';
import { attemptAuditEvent } from './build-audit-events';
import { ledgerRowFor, usageAuditEvents } from './ledger-rows';

export type ReconcileOutcome =
  /** The run recorded itself; at most a late attempt's cost was charged now. */
  | 'recorded'
  /** The run closed without a record; the reconciler recorded what it found. */
  | 'reconciled'
  | 'still-running';

export interface ReconcileRunInput {
  workflowId: string;
  runId: string;
  /** Known from the reservation or the caller; otherwise read from the workflow id. */
  tenantId?: string;
  /** The run a Reset started from this one, when that is how this run ended. */
  supersededBy?: string;
}

function attemptFromLedger(row: UsageRecord): InferenceAttempt {
  return {
    attempt: row.attempt,
    runId: row.runId,
    routeId: row.routeId,
    provider: row.provider as InferenceAttempt['provider'],
    model: row.model,
    outcome: row.outcome,
    failureType: row.failureType ?? undefined,
    usage: {
      inputTokens: row.inputTokens,
      outputTokens: row.outputTokens,
      cacheReadTokens: row.cacheReadTokens,
      cacheWriteTokens: row.cacheWriteTokens,
    },
    usageEstimated: row.usageEstimated,
    costMicroUsd: row.costMicroUsd,
    ...(row.pricingVersion === null ? {} : { pricingVersion: row.pricingVersion }),
    latencyMs: 0,
  };
}

async function readFacts(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<RunHistoryFacts | undefined> {
  try {
    return await readRunHistory(client, workflowId, runId);
  } catch (error) {
    if ((error as { name?: string }).name === 'WorkflowNotFoundError') return undefined;
    throw error;
  }
}

/**
 * Settles what a closed run left open (DESIGN.md §2: terminate runs no workflow code). A run that
 * recorded itself is only re-settled, which charges an attempt whose activity finished after the run
 * closed. A run that never recorded — terminated, timed out, superseded by a Reset while running, or gone
 * from Temporal — gets the ledger rows its history proves, its reservations settled with what the
 * ledger holds, its attempts in the audit trail and a closing `request.terminated` or `request.abandoned`
 * event with Temporal's close status and reason.
 */
export async function reconcileRun(
  deps: { db: Knex; client: Client; chainKey: AuditChainKey },
  input: ReconcileRunInput,
): Promise<ReconcileOutcome> {
  const { db } = deps;
  const tenantId = input.tenantId ?? parseRequestWorkflowId(input.workflowId)?.tenantId;
  if (!tenantId) throw new Error(`cannot tell the tenant of workflow '${input.workflowId}'`);
  const recorded = await findTerminalEvent(db, tenantId, input.workflowId, input.runId);
  if (recorded) {
    await db.transaction(async (trx) => {
      await serializeOnRun(trx, input.workflowId, input.runId);
      await settleRun(trx, {
        tenantId,
        workflowId: input.workflowId,
        runId: input.runId,
        actualMicroUsd: await runCost(trx, input),
      });
    });
    return 'recorded';
  }
  const facts = await readFacts(deps.client, input.workflowId, input.runId);
  if (facts?.status === 'RUNNING') return 'still-running';
  await db.transaction(async (trx) => {
    await serializeOnRun(trx, input.workflowId, input.runId);
    const attributionOf = (attempt: number) => facts?.attributions.get(attempt);
    await recordUsage(
      trx,
      (facts?.attempts ?? []).map((attempt) =>
        ledgerRowFor(
          { tenantId, workflowId: input.workflowId, attribution: attributionOf(attempt.attempt) },
          attempt,
        ),
      ),
    );
    const rows = await listRunUsage(trx, input.workflowId, input.runId);
    const chargedMicroUsd = rows.reduce((total, row) => total + row.costMicroUsd, 0);
    await settleRun(trx, {
      tenantId,
      workflowId: input.workflowId,
      runId: input.runId,
      actualMicroUsd: chargedMicroUsd,
    });
    const base = { tenantId, workflowId: input.workflowId };
    const terminated = facts?.status === 'TERMINATED' || facts?.status === 'TIMED_OUT';
    const events: NewAuditEvent[] = [
      ...rows.map((row) => ({ ...attemptAuditEvent(base, attemptFromLedger(row)), ifAbsent: true })),
      ...usageAuditEvents(rows),
      {
        ...base,
        runId: input.runId,
        ...AUDIT_SLOTS.reconciled,
        eventType: terminated ? AUDIT_EVENT_TYPES.requestTerminated : AUDIT_EVENT_TYPES.requestAbandoned,
        payload: {
          requestId: facts?.request?.requestId ?? parseRequestWorkflowId(input.workflowId)?.requestId ?? null,
          temporalStatus: facts?.status ?? 'NOT_FOUND',
          reason:
            facts === undefined
              ? 'the run is no longer in Temporal (retention) and never recorded itself'
              : (facts.closeReason ?? null),
          closedBy: facts?.closedBy ?? null,
          closedAt: facts?.closedAt ?? null,
          supersededBy: input.supersededBy ?? null,
          stepsCompleted: facts?.stepsCompleted ?? [],
          attemptsInFlight: facts?.attemptsInFlight ?? [],
          costUsd: microToUsd(chargedMicroUsd),
        },
      },
    ];
    await appendAuditEvents(trx, deps.chainKey, events);
  });
  return 'reconciled';
}

async function runCost(db: Knex, input: ReconcileRunInput): Promise<number> {
  const rows = await listRunUsage(db, input.workflowId, input.runId);
  return rows.reduce((total, row) => total + row.costMicroUsd, 0);
}
