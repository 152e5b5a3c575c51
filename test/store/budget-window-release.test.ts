/**
 * A run whose reservations straddle midnight UTC leaves every window it was counted in exactly once,
 * however often the reconciler expires and settles it.
 */
import { getBudget, releaseExpiredReservations, reserveBudget } from '../../store/budget-repository';
import { windowUsage } from '../../store/budget-windows';
import { seedBudgetTenants, settle } from './budget-fixtures';
import { createTestDatabase, type TestDatabase } from './test-database';

describe('window counters across a midnight rollover', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await seedBudgetTenants(database.db, ['roll'], 1_000_000_000);
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('releases each reservation from its own day and month once, expired or settled, twice over', async () => {
    const db = database.db;
    const run = { tenantId: 'roll', workflowId: 'gatehouse/roll/r1', runId: 'run-1', feature: 'faq' };
    const first = await reserveBudget(db, {
      ...run,
      slot: 1,
      amountMicroUsd: 300,
      tokens: 30,
      expiresAt: new Date('2027-01-01T00:10:00Z'),
      at: new Date('2026-12-31T23:59:30Z'),
    });
    const second = await reserveBudget(db, {
      ...run,
      slot: 2,
      amountMicroUsd: 200,
      tokens: 20,
      expiresAt: new Date('2027-01-01T00:05:00Z'),
      at: new Date('2027-01-01T00:00:10Z'),
    });
    expect([first.admitted, second.admitted]).toEqual([true, true]);
    expect(await windowUsage(db, 'roll', 'faq', '2026-12-31')).toMatchObject({ reservedMicroUsd: 300 });
    expect(await windowUsage(db, 'roll', 'faq', '2027-01-01')).toMatchObject({ reservedMicroUsd: 200 });

    await releaseExpiredReservations(db, new Date('2027-01-01T00:06:00Z'));
    await releaseExpiredReservations(db, new Date('2027-01-01T00:07:00Z'));
    await settle(db, { ...run, actualMicroUsd: 0 });
    await settle(db, { ...run, actualMicroUsd: 0 });
    await releaseExpiredReservations(db, new Date('2027-02-01T00:00:00Z'));

    for (const feature of ['', 'faq']) {
      for (const period of ['2026-12-31', '2026-12', '2027-01-01', '2027-01']) {
        expect(await windowUsage(db, 'roll', feature, period)).toEqual({
          spentMicroUsd: 0,
          reservedMicroUsd: 0,
          spentTokens: 0,
          reservedTokens: 0,
        });
      }
    }
    expect(await getBudget(db, 'roll')).toMatchObject({ spentMicroUsd: 0, reservedMicroUsd: 0 });
  });
});
