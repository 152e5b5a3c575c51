import type { PolicyDecision } from '../domain/policy';
import type { LlmRequest } from '../domain/request-contract';
import { planRetrieval as decideRetrievalPlan, type RetrievalPlan } from '../domain/retrieval-plan';

/** Step 2. A pure decision (policy, the request's hint, the query classifier), run as a local activity so its inputs and reasons are in history. */
export function createPlanRetrievalActivity() {
  return async function planRetrieval(
    request: Pick<LlmRequest, 'taskType' | 'question'> & Partial<Pick<LlmRequest, 'retrieval'>>,
    decision: Extract<PolicyDecision, { allowed: true }>,
  ): Promise<RetrievalPlan> {
    return decideRetrievalPlan(request, decision);
  };
}
