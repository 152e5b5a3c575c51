import { AUDIT_EVENT_TYPES, AUDIT_SLOTS, type AuditEventDraft } from '../domain/audit-event';
import { microToUsd } from '../domain/cost';
import { FAILURE_TYPES } from '../domain/failure-types';
import type { InferenceAttempt, RecordInput, StepLog } from '../domain/step-contracts';
import { verdictForAudit } from '../governance/guardrails';
import { contentForLog } from '../governance/redaction';

const STEP_EVENT_TYPES: Record<StepLog['status'], string> = {
  succeeded: AUDIT_EVENT_TYPES.stepSucceeded,
  failed: AUDIT_EVENT_TYPES.stepFailed,
  skipped: AUDIT_EVENT_TYPES.stepSkipped,
};

const ATTEMPT_EVENT_TYPES: Record<InferenceAttempt['outcome'], string> = {
  succeeded: AUDIT_EVENT_TYPES.inferenceSucceeded,
  failed: AUDIT_EVENT_TYPES.inferenceFailed,
  cancelled: AUDIT_EVENT_TYPES.inferenceCancelled,
};

/** The audit payload of one inference attempt; the reconciler builds the same one from the ledger. */
export function attemptAuditPayload(attempt: InferenceAttempt): Record<string, unknown> {
  return {
    routeId: attempt.routeId,
    provider: attempt.provider,
    model: attempt.model,
    failureType: attempt.failureType ?? null,
    message: attempt.message ?? null,
    usage: attempt.usage,
    usageEstimated: attempt.usageEstimated,
    costUsd: microToUsd(attempt.costMicroUsd),
    latencyMs: attempt.latencyMs,
    timeToFirstTokenMs: attempt.timeToFirstTokenMs ?? null,
    classification: attempt.classification ?? null,
    // Which entity types left the prompt as placeholders, and how many of each; never the values.
    ...(attempt.redactedEntities ? { redactedEntities: attempt.redactedEntities } : {}),
  };
}

const GUARD_STEP_SOURCES: Partial<Record<StepLog['step'], 'input' | 'output'>> = {
  'guard-input': 'input',
  'guard-output': 'output',
};

export function attemptAuditEvent(
  base: Pick<AuditEventDraft, 'tenantId' | 'workflowId'>,
  attempt: InferenceAttempt,
): AuditEventDraft {
  return {
    ...base,
    runId: attempt.runId,
    step: 'infer',
    attempt: attempt.attempt,
    eventType: ATTEMPT_EVENT_TYPES[attempt.outcome],
    payload: attemptAuditPayload(attempt),
  };
}

/**
 * Turns a finished (or failed) run into its audit events: one per step, one per inference attempt, the
 * approval, and the run's outcome. Each event belongs to the run that did the work (docs/decisions/0002):
 * steps and attempts a Reset copied from an earlier run keep that run's id, so writing them again is a
 * no-op, and only what this run really did is new. Customer content follows the tenant's logging policy.
 */
export function buildAuditEvents(input: RecordInput): AuditEventDraft[] {
  const base = { tenantId: input.tenantId, workflowId: input.workflowId };
  const events: AuditEventDraft[] = [];
  for (const step of input.steps) {
    const payload: Record<string, unknown> = {
      status: step.status,
      elapsedMs: step.elapsedMs,
      ...step.detail,
    };
    if (step.step === 'infer') payload.fallbacks = input.fallbacks;
    const source = GUARD_STEP_SOURCES[step.step];
    if (source && step.status !== 'skipped' && step.attempt === 0) {
      // The verdicts as the guardrails gave them (Bedrock's quotes masked unless logging is `full`).
      payload.guardrailVerdicts = (input.guardrailVerdicts ?? [])
        .filter((verdict) => verdict.source === source)
        .map((verdict) => verdictForAudit(verdict, input.logging));
    }
    if (step.step === 'authorize') {
      Object.assign(payload, {
        requestId: input.requestId,
        taskType: input.taskType,
        feature: input.feature ?? null,
        declaredFeature: input.declaredFeature ?? null,
        declaredDataClass: input.dataClass.declared,
        question: contentForLog(input.question, input.logging),
      });
    }
    events.push({
      ...base,
      runId: step.runId ?? input.runId,
      step: step.step,
      attempt: step.attempt,
      eventType: STEP_EVENT_TYPES[step.status],
      payload,
    });
  }
  if (input.approval) {
    // The approver is part of the record: who let restricted work through, or stopped it.
    const eventType =
      input.approval.decision === 'approved'
        ? AUDIT_EVENT_TYPES.approvalApproved
        : input.approval.decision === 'denied'
          ? AUDIT_EVENT_TYPES.approvalDenied
          : AUDIT_EVENT_TYPES.approvalTimedOut;
    events.push({
      ...base,
      runId: input.runId,
      ...AUDIT_SLOTS.approval,
      eventType,
      payload: { approverId: input.approval.approverId ?? null, comment: input.approval.comment ?? null },
    });
  }
  for (const attempt of input.attempts) events.push(attemptAuditEvent(base, attempt));
  const ownCost = input.attempts
    .filter((attempt) => attempt.runId === input.runId)
    .reduce((total, attempt) => total + attempt.costMicroUsd, 0);
  events.push({
    ...base,
    runId: input.runId,
    ...AUDIT_SLOTS.outcome,
    eventType: !input.failure
      ? AUDIT_EVENT_TYPES.requestSucceeded
      : input.failure.type === FAILURE_TYPES.cancelled
        ? AUDIT_EVENT_TYPES.requestCancelled
        : AUDIT_EVENT_TYPES.requestFailed,
    payload: {
      requestId: input.requestId,
      chainId: input.originalRunId,
      principalId: input.principalId ?? null,
      promptVersion: input.promptRef ?? null,
      dataClass: input.dataClass,
      policyVersion: input.policyVersion ?? null,
      /** What this run's own attempts cost; attempts copied from earlier runs were charged by them. */
      costUsd: microToUsd(ownCost),
      failure: input.failure ?? null,
      cancel: input.cancel ?? null,
      output: input.output === undefined ? null : contentForLog(input.output, input.logging),
      logging: input.logging,
    },
  });
  return events;
}
