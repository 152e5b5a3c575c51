import { classifyQuery, type QueryClass } from './classify-query';
import type { PolicyDecision } from './policy';
import type { RetrievalRanking, RetrievalSource } from './retrieval-policy';
import type { LlmRequest } from './request-contract';

export type RetrievalTaskMode = 'always' | 'auto' | 'never';

export interface RetrievalPlan {
  enabled: boolean;
  query: string;
  topK: number;
  contextTokenBudget: number;
  reason: string;
  /** Which input settled the decision: the policy, the request's hint, or the query classifier. */
  decidedBy?: 'policy' | 'hint' | 'classifier';
  /** The classifier's reading of the question, when it was consulted. */
  queryClass?: QueryClass;
  /** Where to search, when not the tenant's ingested documents. */
  source?: Exclude<RetrievalSource, { type: 'local' }>;
  /** How the tenant's documents are ranked, when not hybrid (the policy's `retrieval.ranking`). */
  ranking?: Exclude<RetrievalRanking, 'hybrid'>;
}

/**
 * Task types that answer from the tenant's documents when the policy says nothing about them: the
 * classifier decides for each request. Any other task (e.g. pure rewriting) does not search.
 */
export const DEFAULT_TASK_RETRIEVAL: Readonly<Record<string, RetrievalTaskMode>> = {
  qa: 'auto',
  summarize: 'auto',
  extract: 'auto',
};

/**
 * Decides whether and how to retrieve: a pure function of the request and the policy decision. In
 * order: the policy (retrieval off, no context budget, the task's mode), the request's hint, then the
 * query classifier, which skips searches that would only add cost (greetings, transformations of text
 * the request supplies, arithmetic). The reason and the deciding input are recorded with the step.
 */
export function planRetrieval(
  request: Pick<LlmRequest, 'taskType' | 'question'> & Partial<Pick<LlmRequest, 'retrieval'>>,
  decision: Extract<PolicyDecision, { allowed: true }>,
): RetrievalPlan {
  const { retrieval } = decision;
  const base = {
    query: request.question,
    topK: retrieval.topK,
    contextTokenBudget: retrieval.contextTokenBudget,
  };
  const skip = (decidedBy: RetrievalPlan['decidedBy'], reason: string, queryClass?: QueryClass) => ({
    ...base,
    enabled: false,
    decidedBy,
    reason,
    ...(queryClass ? { queryClass } : {}),
  });
  if (!retrieval.enabled) {
    return skip('policy', `retrieval disabled by policy version ${decision.policyVersion}`);
  }
  if (retrieval.contextTokenBudget === 0) return skip('policy', 'policy context budget is 0 tokens');
  const task = request.taskType;
  const mode = retrieval.tasks?.[task] ?? DEFAULT_TASK_RETRIEVAL[task] ?? 'never';
  if (mode === 'never') return skip('policy', `task '${task}' does not answer from documents`);
  if (request.retrieval === 'never') return skip('hint', 'the request asked not to search');
  const source = retrieval.source?.type === 'bedrock-knowledge-base' ? retrieval.source : undefined;
  const ranking =
    source || !retrieval.ranking || retrieval.ranking === 'hybrid' ? undefined : retrieval.ranking;
  const search = (decidedBy: RetrievalPlan['decidedBy'], reason: string, queryClass?: QueryClass) => ({
    ...base,
    ...(source ? { source } : {}),
    ...(ranking ? { ranking } : {}),
    enabled: true,
    decidedBy,
    reason: `${reason} (top ${retrieval.topK})`,
    ...(queryClass ? { queryClass } : {}),
  });
  if (mode === 'always') return search('policy', `task '${task}' always answers from documents`);
  if (request.retrieval === 'always') return search('hint', 'the request asked to search');
  const { queryClass, reason } = classifyQuery(request.question);
  if (queryClass !== 'information-need') return skip('classifier', `${reason}: no search`, queryClass);
  return search('classifier', `task '${task}' ${reason}`, queryClass);
}
