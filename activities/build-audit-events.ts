import { microToUsd } from '../domain/cost';
import type { RecordInput } from '../domain/step-contracts';
import { contentForLog } from '../governance/redaction';

export interface AuditEventDraft {
  tenantId: string;
  workflowId: string;
  executionId: string;
  step: string;
  attempt: number;
  eventType: string;
  payload: Record<string, unknown>;
}

/**
 * Turns a finished (or failed) request into its audit events: one per step that ran, one per inference
 * attempt, and a closing event. Customer content is kept per the tenant's logging policy.
 */
export function buildAuditEvents(input: RecordInput): AuditEventDraft[] {
  const base = { tenantId: input.tenantId, workflowId: input.workflowId, executionId: input.executionId };
  const events: AuditEventDraft[] = [];
  for (const step of input.steps) {
    const payload: Record<string, unknown> = {
      status: step.status,
      elapsedMs: step.elapsedMs,
      ...step.detail,
    };
    if (step.step === 'infer') payload.fallbacks = input.fallbacks;
    if (step.step === 'authorize') {
      Object.assign(payload, {
        requestId: input.requestId,
        principalId: input.principalId ?? null,
        taskType: input.taskType,
        dataClass: input.dataClass,
        policyVersion: input.policyVersion ?? null,
        question: contentForLog(input.question, input.logging),
      });
    }
    events.push({ ...base, step: step.step, attempt: 0, eventType: `step.${step.status}`, payload });
  }
  if (input.approval) {
    // The approver is part of the record: who let restricted work through, or stopped it.
    events.push({
      ...base,
      step: 'authorize',
      attempt: 1,
      eventType: `approval.${input.approval.decision}`,
      payload: { approverId: input.approval.approverId ?? null, comment: input.approval.comment ?? null },
    });
  }
  for (const attempt of input.attempts) {
    events.push({
      ...base,
      step: 'infer',
      attempt: attempt.attempt,
      eventType: `inference.${attempt.outcome}`,
      payload: {
        routeId: attempt.routeId,
        provider: attempt.provider,
        model: attempt.model,
        failureType: attempt.failureType ?? null,
        message: attempt.message ?? null,
        usage: attempt.usage,
        costUsd: microToUsd(attempt.costMicroUsd),
        latencyMs: attempt.latencyMs,
        timeToFirstTokenMs: attempt.timeToFirstTokenMs ?? null,
        classification: attempt.classification ?? null,
      },
    });
  }
  events.push({
    ...base,
    step: 'record',
    attempt: 0,
    eventType: input.failure ? 'request.failed' : 'request.succeeded',
    payload: {
      requestId: input.requestId,
      promptVersion: input.promptRef ?? null,
      costUsd: microToUsd(input.costMicroUsd),
      failure: input.failure ?? null,
      output: input.output === undefined ? null : contentForLog(input.output, input.logging),
      logging: input.logging,
    },
  });
  return events;
}
