import type { PolicyDecision } from '../domain/policy';
import type { LlmRequest } from '../domain/request-contract';
import type { RetrievalPlan } from '../domain/retrieval-plan';
import type { RetrievedChunk } from '../domain/step-contracts';
import { retrievalSteps } from './activity-options';
import type { RequestRun } from './request-run';

/** Step 3: the chunks the caller may read, or none (logged as skipped) when the plan needs no retrieval. */
export async function retrieve(
  run: RequestRun,
  request: LlmRequest,
  authorization: Extract<PolicyDecision, { allowed: true }>,
  plan: RetrievalPlan,
): Promise<RetrievedChunk[]> {
  if (!plan.enabled) {
    run.log({
      step: 'retrieve',
      attempt: 0,
      status: 'skipped',
      elapsedMs: 0,
      detail: { reason: plan.reason },
    });
    return [];
  }
  return run.step('retrieve', () =>
    retrievalSteps().retrieve({
      tenantId: request.tenantId,
      query: plan.query,
      groups: authorization.groups,
      clearance: authorization.clearance,
      topK: plan.topK,
      ...(plan.source ? { source: plan.source } : {}),
      ...(plan.ranking ? { mode: plan.ranking } : {}),
    }),
  );
}
