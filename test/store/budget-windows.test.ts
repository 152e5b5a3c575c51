import { recordUsage, type NewUsageRecord } from '../../store/usage-repository';
import { getBudget, releaseExpiredReservations, setBudget } from '../../store/budget-repository';
import { listBudgetLimits, putBudgetLimit, windowUsage } from '../../store/budget-windows';
import { reservations, seedBudgetTenants, settle } from './budget-fixtures';
import { createTestDatabase, mapWithConcurrency, type TestDatabase } from './test-database';

const DOLLAR = 1_000_000;
const NOON = new Date('2026-12-02T12:00:00Z');
const LATER = new Date(Date.now() + 3600_000);

function usageRow(tenantId: string, workflowId: string, runId: string, costMicroUsd: number, tokens: number) {
  return {
    tenantId,
    workflowId,
    runId,
    attempt: 1,
    routeId: 'route',
    provider: 'bedrock',
    model: 'amazon.nova-lite-v1:0',
    principalId: null,
    feature: null,
    taskType: 'qa',
    promptRef: null,
    inputTokens: tokens - 10,
    outputTokens: 5,
    cacheReadTokens: 5,
    cacheWriteTokens: 0,
    costMicroUsd,
    outcome: 'succeeded',
    failureType: null,
    usageEstimated: false,
    pricingVersion: 'test',
  } satisfies NewUsageRecord;
}

describe('budget windows: per tenant and feature, USD and tokens, daily and monthly', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await seedBudgetTenants(
      database.db,
      ['daily', 'tokens', 'feature', 'soft', 'override', 'settle', 'concurrent'],
      1_000 * DOLLAR,
    );
  });
  afterAll(async () => {
    await database.destroy();
  });

  const { reserve, sequence } = reservations(() => database.db, {
    amountMicroUsd: 100_000,
    expiresAt: LATER,
    at: NOON,
  });
  const limit = (
    tenantId: string,
    rest: Omit<Parameters<typeof putBudgetLimit>[1], 'tenantId' | 'author' | 'approvalOverride'>,
    approvalOverride = false,
  ) => putBudgetLimit(database.db, { tenantId, author: 'finance@example.com', approvalOverride, ...rest });

  it('denies past a daily USD hard limit, and admits again on the next UTC day', async () => {
    await limit('daily', { feature: '', window: 'daily', unit: 'usd', kind: 'hard', limit: 250_000 });
    expect((await reserve('daily')).admitted).toBe(true);
    expect((await reserve('daily')).admitted).toBe(true);
    const third = await reserve('daily');
    expect(third).toMatchObject({ admitted: false, overridable: false });
    expect(third.admitted || third.reason).toMatch(
      /tenant daily USD hard limit 0\.250000 \(2026-12-02\): 0\.200000 committed \+ 0\.100000 requested/,
    );
    expect((await reserve('daily', { at: new Date('2026-12-03T00:00:00Z') })).admitted).toBe(true);
    expect(await windowUsage(database.db, 'daily', '', '2026-12-02')).toMatchObject({
      reservedMicroUsd: 200_000,
    });
    expect(await windowUsage(database.db, 'daily', '', '2026-12')).toMatchObject({
      reservedMicroUsd: 300_000,
    });
  });

  it('holds token limits per month', async () => {
    await limit('tokens', { feature: '', window: 'monthly', unit: 'tokens', kind: 'hard', limit: 10_000 });
    expect((await reserve('tokens', { tokens: 6_000 })).admitted).toBe(true);
    expect((await reserve('tokens', { tokens: 6_000, at: new Date('2026-12-31T23:59:59Z') })).admitted).toBe(
      false,
    );
    expect((await reserve('tokens', { tokens: 6_000, at: new Date('2027-01-01T00:00:00Z') })).admitted).toBe(
      true,
    );
  });

  it('applies a feature’s limit to that feature only, and the tenant’s to every feature', async () => {
    await limit('feature', { feature: 'search', window: 'daily', unit: 'usd', kind: 'hard', limit: 150_000 });
    await limit('feature', { feature: '', window: 'daily', unit: 'usd', kind: 'hard', limit: 350_000 });
    expect((await reserve('feature', { feature: 'search' })).admitted).toBe(true);
    const second = await reserve('feature', { feature: 'search' });
    expect(second.admitted || second.reason).toMatch(/^feature search daily USD hard limit/);
    expect((await reserve('feature', { feature: 'faq' })).admitted).toBe(true);
    expect((await reserve('feature')).admitted).toBe(true);
    const tenantWide = await reserve('feature', { feature: 'faq' });
    expect(tenantWide.admitted || tenantWide.reason).toMatch(/^tenant daily USD hard limit 0\.350000/);
  });

  it('lets a request past a soft limit with a warning', async () => {
    await limit('soft', { feature: '', window: 'monthly', unit: 'usd', kind: 'soft', limit: 150_000 });
    expect(await reserve('soft')).toMatchObject({ admitted: true, warnings: [] });
    const over = await reserve('soft');
    expect(over.admitted).toBe(true);
    expect(over.warnings).toEqual([
      expect.stringMatching(/^tenant monthly USD soft limit 0\.150000 \(2026-12\): 0\.100000 committed/),
    ]);
  });

  it('lets an approval override an overridable hard limit for one reservation, never the tenant budget', async () => {
    await limit(
      'override',
      { feature: '', window: 'daily', unit: 'usd', kind: 'hard', limit: 100_000 },
      true,
    );
    expect((await reserve('override')).admitted).toBe(true);
    expect(await reserve('override')).toMatchObject({ admitted: false, overridable: true });
    const overridden = await reserve('override', { overrideApprovedBy: 'boss' });
    expect(overridden.admitted).toBe(true);
    expect(overridden.warnings).toEqual([
      expect.stringMatching(/^overridden by boss's approval: tenant daily USD hard/),
    ]);
    expect((await reserve('override')).admitted).toBe(false);
    await setBudget(database.db, { tenantId: 'override', limitMicroUsd: 250_000 });
    const overBudget = await reserve('override', { overrideApprovedBy: 'boss' });
    expect(overBudget).toMatchObject({ admitted: false, overridable: false });
  });

  it('does not let an approval lift a hard limit that allows no override', async () => {
    expect(await reserve('daily', { overrideApprovedBy: 'boss' })).toMatchObject({
      admitted: false,
      overridable: false,
    });
  });

  it('moves a settled run from reserved to spent in its windows, tokens from the ledger', async () => {
    const first = await reserve('settle', { tokens: 2_000, feature: 'faq' });
    const second = await reserve('settle', { tokens: 3_000, feature: 'faq' });
    expect(first.admitted && second.admitted).toBe(true);
    const workflowId = `gatehouse/settle/r${sequence() - 1}`;
    await recordUsage(database.db, [usageRow('settle', workflowId, `run-${sequence() - 1}`, 42_000, 1_500)]);
    await settle(database.db, {
      tenantId: 'settle',
      workflowId,
      runId: `run-${sequence() - 1}`,
      actualMicroUsd: 42_000,
    });
    for (const feature of ['', 'faq']) {
      expect(await windowUsage(database.db, 'settle', feature, '2026-12-02')).toEqual({
        spentMicroUsd: 42_000,
        reservedMicroUsd: 100_000,
        spentTokens: 1_500,
        reservedTokens: 3_000,
      });
    }
    // Settling again finds nothing new; the second run's reservation expires and leaves the windows.
    await settle(database.db, {
      tenantId: 'settle',
      workflowId,
      runId: `run-${sequence() - 1}`,
      actualMicroUsd: 42_000,
    });
    await database
      .db('budget_reservations')
      .where({ run_id: `run-${sequence()}` })
      .update({ expires_at: new Date(Date.now() - 1000).toISOString() });
    await releaseExpiredReservations(database.db, new Date());
    expect(await windowUsage(database.db, 'settle', 'faq', '2026-12')).toEqual({
      spentMicroUsd: 42_000,
      reservedMicroUsd: 0,
      spentTokens: 1_500,
      reservedTokens: 0,
    });
  });

  it('never lets a window’s spent + reserved pass its hard limit under concurrency', async () => {
    await limit('concurrent', { feature: 'chat', window: 'daily', unit: 'usd', kind: 'hard', limit: DOLLAR });
    const results = await mapWithConcurrency(
      Array.from({ length: 100 }, (_, index) => index),
      20,
      async () => {
        const result = await reserve('concurrent', { feature: 'chat', amountMicroUsd: 50_000 });
        const usage = await windowUsage(database.db, 'concurrent', 'chat', '2026-12-02');
        expect(usage.spentMicroUsd + usage.reservedMicroUsd).toBeLessThanOrEqual(DOLLAR);
        return result.admitted;
      },
    );
    expect(results.filter(Boolean)).toHaveLength(20);
    expect((await getBudget(database.db, 'concurrent'))!.reservedMicroUsd).toBe(DOLLAR);
  });

  it('lists limits with their author', async () => {
    const limits = await listBudgetLimits(database.db, 'feature');
    expect(limits.map((entry) => [entry.feature, entry.window, entry.unit, entry.kind, entry.limit])).toEqual(
      [
        ['', 'daily', 'usd', 'hard', 350_000],
        ['search', 'daily', 'usd', 'hard', 150_000],
      ],
    );
    expect(limits.every((entry) => entry.author === 'finance@example.com')).toBe(true);
  });
});
