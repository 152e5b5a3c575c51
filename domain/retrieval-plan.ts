import type { PolicyDecision } from './policy';
import type { LlmRequest } from './request-contract';

export interface RetrievalPlan {
  enabled: boolean;
  query: string;
  topK: number;
  contextTokenBudget: number;
  reason: string;
}

/** Task types that answer from the tenant's documents; others (e.g. pure rewriting) skip retrieval. */
const RETRIEVAL_TASKS: ReadonlySet<string> = new Set(['qa', 'summarize', 'extract']);

/** Decides whether and how to retrieve: a pure function of the request and the policy decision. */
export function planRetrieval(
  request: Pick<LlmRequest, 'taskType' | 'question'>,
  decision: Extract<PolicyDecision, { allowed: true }>,
): RetrievalPlan {
  const { retrieval } = decision;
  const base = {
    query: request.question,
    topK: retrieval.topK,
    contextTokenBudget: retrieval.contextTokenBudget,
  };
  if (!retrieval.enabled) {
    return {
      ...base,
      enabled: false,
      reason: `retrieval disabled by policy version ${decision.policyVersion}`,
    };
  }
  if (retrieval.contextTokenBudget === 0) {
    return { ...base, enabled: false, reason: 'policy context budget is 0 tokens' };
  }
  if (!RETRIEVAL_TASKS.has(request.taskType)) {
    return { ...base, enabled: false, reason: `task '${request.taskType}' does not answer from documents` };
  }
  return {
    ...base,
    enabled: true,
    reason: `task '${request.taskType}' answers from documents (top ${retrieval.topK})`,
  };
}
