import { AUDIT_EVENT_TYPES, AUDIT_SLOTS } from '../domain/audit-event';
import type { AttemptAttribution, InferenceAttempt } from '../domain/step-contracts';
import { ledgerRowHash } from '../governance/ledger-row-hash';
import type { NewAuditEvent } from '../store/audit-repository';
import type { NewUsageRecord, UsageRecord } from '../store/usage-repository';

/**
 * The ledger row of one attempt. The infer activity writes it the moment the provider answers, and
 * `record` writes it (from the same facts) if that write did not happen, so both must build it here.
 */
export function ledgerRowFor(
  request: { tenantId: string; workflowId: string; attribution?: Partial<AttemptAttribution> },
  attempt: InferenceAttempt,
): NewUsageRecord {
  return {
    tenantId: request.tenantId,
    workflowId: request.workflowId,
    runId: attempt.runId,
    attempt: attempt.attempt,
    routeId: attempt.routeId,
    provider: attempt.provider,
    model: attempt.model,
    principalId: request.attribution?.principalId ?? null,
    feature: request.attribution?.feature ?? null,
    taskType: request.attribution?.taskType ?? null,
    promptRef: request.attribution?.promptRef ?? null,
    inputTokens: attempt.usage.inputTokens,
    outputTokens: attempt.usage.outputTokens,
    cacheReadTokens: attempt.usage.cacheReadTokens,
    cacheWriteTokens: attempt.usage.cacheWriteTokens,
    costMicroUsd: attempt.costMicroUsd,
    outcome: attempt.outcome,
    failureType: attempt.failureType ?? null,
    usageEstimated: attempt.usageEstimated,
    pricingVersion: attempt.pricingVersion ?? null,
  };
}

/** The `usage.recorded` audit events of a run's ledger rows: each row's content hash joins the chain. */
export function usageAuditEvents(rows: readonly UsageRecord[]): NewAuditEvent[] {
  return rows.map((row) => ({
    tenantId: row.tenantId,
    workflowId: row.workflowId,
    runId: row.runId,
    step: AUDIT_SLOTS.usage.step,
    attempt: row.attempt,
    eventType: AUDIT_EVENT_TYPES.usageRecorded,
    payload: { ledgerRowHash: ledgerRowHash(row), costMicroUsd: row.costMicroUsd },
  }));
}
