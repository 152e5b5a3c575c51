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
      "task 'qa' answers from documents (top 4)",
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
    const plan = planRetrieval({ taskType, question: 'q?' }, decision(retrieval));
    expect(plan).toMatchObject({ enabled, reason, query: 'q?' });
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
