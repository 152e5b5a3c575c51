/**
 * Budget limits on the request path: a soft limit warns in the audit trail and lets the request through,
 * a hard limit ends it `Budget.Exceeded`, and an overridable hard limit waits for one approver's decision.
 */
import { BudgetExceededError, type GatehouseRequestError, RateLimitExceededError } from '../../client/errors';
import { putTenantRateLimit } from '../../store/rate-limits';
import { hashApiKey } from '../../governance/caller-proof';
import { listAuditEvents } from '../../store/audit-repository';
import { putBudgetLimit, windowUsage } from '../../store/budget-windows';
import { upsertPrincipal } from '../../store/principal-repository';
import { budgetPeriod } from '../../domain/budget-limits';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const APPROVER_KEY = 'budget-approver-key-0123456789abcdef';

async function waitForOutcome(harness: GatehouseHarness, workflowId: string, outcome: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const progress = await harness.gatehouse.progress(workflowId, harness.caller);
    if (progress.outcome === outcome) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`request ${workflowId} never reached outcome '${outcome}'`);
}

describe('budget limits on the request path', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
    await upsertPrincipal(harness.db, {
      id: 'budget-approver',
      tenantId: 'demo',
      name: 'Budget approver',
      role: 'approver',
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'internal',
      status: 'active',
      apiKeyHash: hashApiKey(APPROVER_KEY),
    });
    const limit = (feature: string, kind: 'soft' | 'hard', approvalOverride = false) =>
      putBudgetLimit(harness.db, {
        tenantId: 'demo',
        feature,
        window: 'daily',
        unit: 'usd',
        kind,
        limit: 1,
        approvalOverride,
        author: 'finance@example.com',
      });
    await limit('soft-capped', 'soft');
    await limit('hard-capped', 'hard');
    await limit('gated', 'hard', true);
  });
  afterAll(async () => {
    await harness?.close();
  });

  const reserveEvents = async (workflowId: string) =>
    (await listAuditEvents(harness.db, { tenantId: 'demo', workflowId })).filter(
      (event) => event.step === 'reserve-budget',
    );

  it('lets a request past a soft limit and audits the warning', async () => {
    const result = await harness.gatehouse.execute(
      harness.input({ requestId: 'soft-1', feature: 'soft-capped' }),
    );
    expect(result.output.length).toBeGreaterThan(0);
    const [event] = await reserveEvents(result.workflowId);
    expect(event?.eventType).toBe('step.succeeded');
    expect((event?.payload as Record<string, unknown>).budgetWarnings).toEqual([
      expect.stringMatching(/^feature soft-capped daily USD soft limit 0\.000001 \(\d{4}-\d{2}-\d{2}\)/),
    ]);
    const usage = await windowUsage(harness.db, 'demo', 'soft-capped', budgetPeriod('daily', new Date()));
    expect(usage.reservedMicroUsd).toBe(0);
    expect(usage.spentMicroUsd).toBe(Math.round(result.costUsd * 1_000_000));
    expect(usage.spentTokens).toBe(
      result.usage.inputTokens +
        result.usage.outputTokens +
        result.usage.cacheReadTokens +
        result.usage.cacheWriteTokens,
    );
  });

  it('ends a request past a hard limit with Budget.Exceeded, spending nothing', async () => {
    const error = await harness.gatehouse
      .execute(harness.input({ requestId: 'hard-1', feature: 'hard-capped' }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect((error as Error).message).toMatch(/feature hard-capped daily USD hard limit 0\.000001/);
    const usage = await windowUsage(harness.db, 'demo', 'hard-capped', budgetPeriod('daily', new Date()));
    expect(usage).toEqual({ spentMicroUsd: 0, reservedMicroUsd: 0, spentTokens: 0, reservedTokens: 0 });
  });

  it('lets one approver override an overridable hard limit for one request, audited', async () => {
    const submitted = await harness.gatehouse.submit(
      harness.input({ requestId: 'gated-1', feature: 'gated' }),
    );
    await waitForOutcome(harness, submitted.workflowId, 'awaiting-approval');
    await harness.gatehouse.approve(submitted.workflowId, {
      approverId: 'budget-approver',
      apiKey: APPROVER_KEY,
      comment: 'quarter-end report',
    });
    const result = await harness.gatehouse.result(submitted.workflowId, harness.caller);
    expect(result.approval?.approverId).toBe('budget-approver');
    const events = await reserveEvents(submitted.workflowId);
    expect(events.map((event) => [event.attempt, event.eventType])).toEqual([
      [0, 'step.failed'],
      [1, 'step.succeeded'],
    ]);
    expect((events[1]?.payload as Record<string, unknown>).budgetWarnings).toEqual([
      expect.stringMatching(/^overridden by budget-approver's approval: feature gated daily USD hard limit/),
    ]);

    // Once: the next request of the feature needs its own decision, and a denial ends it.
    const next = await harness.gatehouse.submit(harness.input({ requestId: 'gated-2', feature: 'gated' }));
    await waitForOutcome(harness, next.workflowId, 'awaiting-approval');
    await harness.gatehouse.deny(next.workflowId, { approverId: 'budget-approver', apiKey: APPROVER_KEY });
    const denied = await harness.gatehouse
      .result(next.workflowId, harness.caller)
      .catch((caught: unknown) => caught);
    expect(denied).toBeInstanceOf(BudgetExceededError);
    expect((denied as Error).message).toMatch(/the override was denied by 'budget-approver'/);
  });

  it('ends an approved override with RateLimit.Exceeded, not Budget.Exceeded, when the minute filled during the wait', async () => {
    // Start early in a minute so that the wait, the filling request and the approval share it.
    const secondsIntoMinute = new Date().getUTCSeconds();
    if (secondsIntoMinute > 40)
      await new Promise((resolve) => setTimeout(resolve, (61 - secondsIntoMinute) * 1000));
    const submitted = await harness.gatehouse.submit(
      harness.input({ requestId: 'gated-rate-1', feature: 'gated' }),
    );
    await waitForOutcome(harness, submitted.workflowId, 'awaiting-approval');
    await putTenantRateLimit(harness.db, {
      tenantId: 'demo',
      requestsPerMinute: 1,
      tokensPerMinute: null,
      author: 'ops',
    });
    try {
      await harness.gatehouse.execute(harness.input({ requestId: 'gated-rate-filler' }));
      await harness.gatehouse.approve(submitted.workflowId, {
        approverId: 'budget-approver',
        apiKey: APPROVER_KEY,
      });
      const error = await harness.gatehouse
        .result(submitted.workflowId, harness.caller)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RateLimitExceededError);
      expect((error as Error).message).toMatch(
        /rate limited after the override: .*limited to 1 requests per minute.*; retry in \d+ s/,
      );
    } finally {
      await harness.db('tenant_rate_limits').where({ tenant_id: 'demo' }).delete();
    }
  }, 90_000);

  it('ends a request over the tenant’s rate limit with RateLimit.Exceeded, saying when to retry', async () => {
    await putTenantRateLimit(harness.db, {
      tenantId: 'demo',
      requestsPerMinute: 1,
      tokensPerMinute: null,
      author: 'ops',
    });
    // Two requests in one minute meet the limit; a third covers a minute that turned between them.
    const errors: unknown[] = [];
    for (const index of [1, 2, 3]) {
      await harness.gatehouse
        .execute(harness.input({ requestId: `rate-${index}` }))
        .catch((caught: unknown) => errors.push(caught));
    }
    expect(errors.length).toBeGreaterThanOrEqual(1);
    const [error] = errors as GatehouseRequestError[];
    expect(error).toBeInstanceOf(RateLimitExceededError);
    expect(error?.failureType).toBe('RateLimit.Exceeded');
    expect(error?.message).toMatch(/limited to 1 requests per minute .*; retry in \d+ s/);
    await harness.db('tenant_rate_limits').where({ tenant_id: 'demo' }).delete();
  });
});
