import type { AttemptAttribution, InferenceAttempt } from '../domain/step-contracts';
import type { NewUsageRecord } from '../store/usage-repository';

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
  };
}
