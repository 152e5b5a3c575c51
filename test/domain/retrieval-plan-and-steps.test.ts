import { decideAuthorization, type PolicyDecision } from '../../domain/policy';
import { STEP_SUMMARIES } from '../../domain/request-steps';
import { planRetrieval } from '../../domain/retrieval-plan';
import type { RoutePlan } from '../../domain/route-selection';

const decision = (retrieval: Record<string, unknown> = {}) => {
  const made = decideAuthorization(
    { tenantId: 't', taskType: 'qa', dataClass: 'internal', prompt: undefined, maxOutputTokens: undefined },
    { id: 't', status: 'active', tier: 'team' },
    { id: 'p', status: 'active', capabilities: ['qa', 'rewrite'], groups: [], clearance: 'internal' },
    { version: 2, document: { allowedDataClasses: ['internal'], retrieval } },
    { keyId: 'k', reservedFeatures: [] },
  );
  if (!made.allowed) throw new Error(made.reason);
  return made;
};

describe('planRetrieval', () => {
  it.each([
    [
      'retrieves for a task that answers from documents',
      'qa',
      {},
      true,
      "task 'qa' asks for information the documents may hold (top 4)",
    ],
    [
      'skips when the policy turns retrieval off',
      'qa',
      { enabled: false },
      false,
      'retrieval disabled by policy version 2',
    ],
    [
      'skips when the context budget is 0 tokens',
      'qa',
      { contextTokenBudget: 0 },
      false,
      'policy context budget is 0 tokens',
    ],
    [
      'skips for a task that does not answer from documents',
      'rewrite',
      {},
      false,
      "task 'rewrite' does not answer from documents",
    ],
  ])('%s', (_name, taskType, retrieval, enabled, reason) => {
    const plan = planRetrieval({ taskType, question: 'What is q?' }, decision(retrieval));
    expect(plan).toMatchObject({ enabled, reason, query: 'What is q?' });
  });

  const supplied = 'Translate to French: Our office is closed on Monday for the national holiday.';
  it.each([
    [
      'the classifier retrieves for an information need',
      'qa',
      {},
      undefined,
      'What is the refund policy?',
      true,
      'classifier',
      'information-need',
      "task 'qa' asks for information the documents may hold (top 4)",
    ],
    [
      'the classifier skips a greeting',
      'qa',
      {},
      undefined,
      'Hello!',
      false,
      'classifier',
      'greeting',
      'a greeting or thanks, with nothing to look up: no search',
    ],
    [
      'the classifier skips a transformation of supplied text',
      'qa',
      {},
      undefined,
      supplied,
      false,
      'classifier',
      'supplied-text',
      'a transformation of 10 words of text the request supplies: no search',
    ],
    [
      'the classifier skips arithmetic',
      'qa',
      {},
      undefined,
      'What is 12 * 7?',
      false,
      'classifier',
      'calculation',
      'arithmetic over numbers given in the question: no search',
    ],
    [
      'the hint always overrides the classifier',
      'qa',
      {},
      'always',
      'Hello!',
      true,
      'hint',
      undefined,
      'the request asked to search (top 4)',
    ],
    [
      'the hint never skips an information need',
      'qa',
      {},
      'never',
      'What is the refund policy?',
      false,
      'hint',
      undefined,
      'the request asked not to search',
    ],
    [
      'a policy task mode always wins over the classifier',
      'qa',
      { tasks: { qa: 'always' } },
      undefined,
      'Hello!',
      true,
      'policy',
      undefined,
      "task 'qa' always answers from documents (top 4)",
    ],
    [
      'a policy task mode never wins over the hint',
      'qa',
      { tasks: { qa: 'never' } },
      'always',
      'What is the refund policy?',
      false,
      'policy',
      undefined,
      "task 'qa' does not answer from documents",
    ],
    [
      'a policy can make another task search',
      'rewrite',
      { tasks: { rewrite: 'auto' } },
      undefined,
      'What is our tone of voice?',
      true,
      'classifier',
      'information-need',
      "task 'rewrite' asks for information the documents may hold (top 4)",
    ],
  ] as const)('%s', (_name, taskType, retrieval, hint, question, enabled, decidedBy, queryClass, reason) => {
    const plan = planRetrieval({ taskType, question, retrieval: hint }, decision(retrieval));
    expect(plan).toEqual({
      enabled,
      decidedBy,
      reason,
      query: question,
      topK: 4,
      contextTokenBudget: 1500,
      ...(queryClass ? { queryClass } : {}),
    });
  });

  const knowledgeBase = { type: 'bedrock-knowledge-base', knowledgeBaseId: 'ABCDE12345' } as const;
  it.each([
    ['hybrid by default: the plan names no ranking', {}, undefined, undefined],
    ['hybrid stated: the plan names no ranking', { ranking: 'hybrid' }, undefined, undefined],
    ['vectors alone', { ranking: 'vector' }, 'vector', undefined],
    ['BM25 alone', { ranking: 'lexical' }, 'lexical', undefined],
    [
      'a Knowledge Base ranks for itself',
      { ranking: 'vector', source: knowledgeBase },
      undefined,
      knowledgeBase,
    ],
  ] as const)('ranks the tenant documents by the policy: %s', (_name, retrieval, ranking, source) => {
    const plan = planRetrieval(
      { taskType: 'qa', question: 'What is the refund policy?' },
      decision(retrieval),
    );
    expect(plan.enabled).toBe(true);
    expect(plan.ranking).toBe(ranking);
    expect(plan.source).toEqual(source);
    expect('ranking' in plan).toBe(ranking !== undefined);
  });

  it('refuses a ranking it does not know', () => {
    expect(() => decision({ ranking: 'semantic' })).toThrow(/Expected 'hybrid' | 'vector' | 'lexical'/);
  });
});

describe('step summaries', () => {
  it('records a refusal as a failed step with its reason', () => {
    const denied: PolicyDecision = {
      allowed: false,
      tenantId: 't',
      reason: 'no',
      principalId: 'p',
      policyVersion: 2,
    };
    expect(STEP_SUMMARIES.authorize(denied)).toEqual({
      status: 'failed',
      detail: { policyVersion: 2, principalId: 'p', reason: 'no' },
    });
    expect(
      STEP_SUMMARIES['reserve-budget']({
        admitted: false,
        amountMicroUsd: 5,
        promptTokens: 9,
        reason: 'full',
      }),
    ).toMatchObject({
      status: 'failed',
      detail: { reason: 'budget exceeded: full' },
    });
    const emptyPlan: RoutePlan = {
      tableVersion: 'v',
      candidates: [],
      choices: [],
      excluded: [{ routeId: 'a', reason: 'tier' }],
      budget: { maxTotalAttempts: 1, maxFallbacks: 0, maxRetrySpendUsd: 0, deadlineMs: 1 },
    };
    expect(STEP_SUMMARIES['select-route'](emptyPlan)).toMatchObject({
      status: 'failed',
      detail: { reason: 'no route can serve this request (a: tier)' },
    });
    expect(
      STEP_SUMMARIES.validate({
        passed: false,
        verdicts: [{ check: 'citations', passed: false, detail: 'cites x' }],
      }),
    ).toMatchObject({
      status: 'failed',
      detail: { reason: 'output failed validation (citations: cites x)' },
    });
  });

  it('summarises an allowed decision without content', () => {
    expect(STEP_SUMMARIES.authorize(decision())).toEqual({
      status: 'succeeded',
      detail: { policyVersion: 2, principalId: 'p', dataClass: 'internal', approvalRequired: false },
    });
  });
});
