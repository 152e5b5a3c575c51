import { putTenantRateLimit, rateWindowOf, rateWindowUsage } from '../../store/rate-limits';
import { reservations, seedBudgetTenants } from './budget-fixtures';
import { createTestDatabase, mapWithConcurrency, type TestDatabase } from './test-database';

const AT = new Date('2026-12-02T17:31:40Z');
const LATER = new Date(Date.now() + 3600_000);

describe('tenant rate limits', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await seedBudgetTenants(database.db, ['requests', 'tokens', 'free'], 1_000_000_000);
    await putTenantRateLimit(database.db, {
      tenantId: 'requests',
      requestsPerMinute: 10,
      tokensPerMinute: null,
      author: 'ops',
    });
    await putTenantRateLimit(database.db, {
      tenantId: 'tokens',
      requestsPerMinute: null,
      tokensPerMinute: 5_000,
      author: 'ops',
    });
  });
  afterAll(async () => {
    await database.destroy();
  });

  const { reserve } = reservations(() => database.db, {
    amountMicroUsd: 1_000,
    tokens: 1_000,
    expiresAt: LATER,
    at: AT,
  });

  it('admits exactly the requests per minute under concurrency, then says when the next minute opens', async () => {
    const results = await mapWithConcurrency(
      Array.from({ length: 40 }, (_, index) => index),
      20,
      () => reserve('requests'),
    );
    expect(results.filter((result) => result.admitted)).toHaveLength(10);
    const refused = results.find((result) => !result.admitted);
    expect(refused).toMatchObject({ admitted: false, rateLimitedForMs: 20_000 });
    expect(refused?.admitted === false && refused.reason).toMatch(/limited to 10 requests per minute/);
    expect(await rateWindowUsage(database.db, 'requests', AT)).toEqual({
      window: '2026-12-02T17:31',
      requests: 10,
      tokens: 10_000,
    });
    expect((await reserve('requests', { at: new Date('2026-12-02T17:32:00Z') })).admitted).toBe(true);
    // Windows that have passed are dropped as new ones fill.
    expect((await rateWindowUsage(database.db, 'requests', AT)).requests).toBe(0);
  });

  it('does not count the attempt loop’s top-ups as requests', async () => {
    const at = new Date('2026-12-02T18:00:00Z');
    for (let index = 0; index < 10; index++) expect((await reserve('requests', { at })).admitted).toBe(true);
    expect((await reserve('requests', { at, slot: 2 })).admitted).toBe(true);
    expect((await reserve('requests', { at })).admitted).toBe(false);
  });

  it('holds tokens per minute', async () => {
    expect((await reserve('tokens', { tokens: 3_000 })).admitted).toBe(true);
    expect(await reserve('tokens', { tokens: 3_000 })).toMatchObject({
      admitted: false,
      rateLimitedForMs: 20_000,
    });
    expect((await reserve('tokens', { tokens: 2_000 })).admitted).toBe(true);
  });

  it('counts nothing for a tenant without a rate limit', async () => {
    expect((await reserve('free')).admitted).toBe(true);
    expect(await rateWindowUsage(database.db, 'free', AT)).toEqual({
      window: rateWindowOf(AT),
      requests: 0,
      tokens: 0,
    });
  });
});
