import {
  getBudget,
  releaseReservation,
  reserveBudget,
  setBudget,
  settleReservation,
} from '../../store/budget-repository';
import { upsertTenant } from '../../store/tenant-repository';
import { createTestDatabase, mapWithConcurrency, type TestDatabase } from './test-database';

const DOLLAR = 1_000_000;

describe('budget repository', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    for (const id of ['acme', 'globex', 'nobudget']) {
      await upsertTenant(database.db, { id, name: id, status: 'active', tier: 'team' });
    }
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('admits exactly what fits under concurrency and never lets spent + reserved exceed the limit', async () => {
    await setBudget(database.db, { tenantId: 'acme', limitMicroUsd: DOLLAR });
    const keys = Array.from({ length: 100 }, (_, index) => `req-${index}`);
    const results = await mapWithConcurrency(keys, 20, async (idempotencyKey) => {
      const result = await reserveBudget(database.db, {
        tenantId: 'acme',
        idempotencyKey,
        amountMicroUsd: 50_000,
      });
      const budget = await getBudget(database.db, 'acme');
      expect(budget!.spentMicroUsd + budget!.reservedMicroUsd).toBeLessThanOrEqual(budget!.limitMicroUsd);
      return { idempotencyKey, result };
    });
    const admitted = results.filter((entry) => entry.result.admitted);
    expect(admitted).toHaveLength(20);
    const denied = results.find((entry) => !entry.result.admitted)!.result;
    expect(denied).toMatchObject({ admitted: false, limitMicroUsd: DOLLAR });
    expect(denied.admitted === false && denied.reason).toMatch(/budget exhausted/);
    expect(await getBudget(database.db, 'acme')).toMatchObject({
      spentMicroUsd: 0,
      reservedMicroUsd: DOLLAR,
    });

    const again = await reserveBudget(database.db, {
      tenantId: 'acme',
      idempotencyKey: admitted[0]!.idempotencyKey,
      amountMicroUsd: 50_000,
    });
    expect(again).toEqual(admitted[0]!.result);

    await mapWithConcurrency(admitted, 20, async ({ idempotencyKey }, index) =>
      index % 2 === 0
        ? settleReservation(database.db, idempotencyKey, 30_000)
        : releaseReservation(database.db, idempotencyKey),
    );
    expect(await getBudget(database.db, 'acme')).toMatchObject({
      spentMicroUsd: 10 * 30_000,
      reservedMicroUsd: 0,
    });
    const reservations = (await database.db('budget_reservations').where({ tenant_id: 'acme' })) as Array<{
      state: string;
    }>;
    expect(reservations.filter((row) => row.state === 'active')).toHaveLength(0);
  });

  it('settles and releases idempotently, clamps over-spend, and reports unknown keys', async () => {
    await setBudget(database.db, { tenantId: 'globex', limitMicroUsd: 5 * DOLLAR });
    await reserveBudget(database.db, { tenantId: 'globex', idempotencyKey: 'g-1', amountMicroUsd: DOLLAR });
    await reserveBudget(database.db, { tenantId: 'globex', idempotencyKey: 'g-2', amountMicroUsd: DOLLAR });

    const settled = await settleReservation(database.db, 'g-1', 1_500_000);
    expect(settled).toMatchObject({
      state: 'settled',
      tenantId: 'globex',
      amountMicroUsd: DOLLAR,
      settledMicroUsd: DOLLAR,
      clamped: true,
      changed: true,
    });
    expect(await settleReservation(database.db, 'g-1', 10)).toMatchObject({
      state: 'settled',
      settledMicroUsd: DOLLAR,
      changed: false,
    });
    expect(await releaseReservation(database.db, 'g-1')).toMatchObject({ state: 'settled', changed: false });

    expect(await releaseReservation(database.db, 'g-2')).toMatchObject({
      state: 'released',
      settledMicroUsd: null,
      changed: true,
    });
    expect(await releaseReservation(database.db, 'g-2')).toMatchObject({ state: 'released', changed: false });
    expect(await settleReservation(database.db, 'g-2', 5)).toMatchObject({
      state: 'released',
      changed: false,
    });
    expect(await getBudget(database.db, 'globex')).toMatchObject({
      spentMicroUsd: DOLLAR,
      reservedMicroUsd: 0,
    });

    expect(await settleReservation(database.db, 'never', 1)).toEqual({
      state: 'none',
      idempotencyKey: 'never',
    });
    expect(await releaseReservation(database.db, 'never')).toEqual({
      state: 'none',
      idempotencyKey: 'never',
    });

    const reused = await reserveBudget(database.db, {
      tenantId: 'globex',
      idempotencyKey: 'g-1',
      amountMicroUsd: 1,
    });
    expect(reused).toMatchObject({ admitted: false });
    expect(reused.admitted === false && reused.reason).toMatch(/already settled/);
    const crossTenant = await reserveBudget(database.db, {
      tenantId: 'acme',
      idempotencyKey: 'g-1',
      amountMicroUsd: 1,
    });
    expect(crossTenant.admitted === false && crossTenant.reason).toMatch(/another tenant/);
  });

  it('keeps spent and reserved when the limit changes', async () => {
    await reserveBudget(database.db, { tenantId: 'globex', idempotencyKey: 'g-3', amountMicroUsd: 250_000 });
    const updated = await setBudget(database.db, { tenantId: 'globex', limitMicroUsd: 2 * DOLLAR });
    expect(updated).toMatchObject({
      limitMicroUsd: 2 * DOLLAR,
      spentMicroUsd: DOLLAR,
      reservedMicroUsd: 250_000,
    });
    const tooMuch = await reserveBudget(database.db, {
      tenantId: 'globex',
      idempotencyKey: 'g-4',
      amountMicroUsd: 750_001,
    });
    expect(tooMuch).toMatchObject({ admitted: false, spentMicroUsd: DOLLAR, reservedMicroUsd: 250_000 });
    const exact = await reserveBudget(database.db, {
      tenantId: 'globex',
      idempotencyKey: 'g-5',
      amountMicroUsd: 750_000,
    });
    expect(exact).toMatchObject({ admitted: true, amountMicroUsd: 750_000 });
  });

  it('denies a tenant without a budget and rejects fractional amounts', async () => {
    const result = await reserveBudget(database.db, {
      tenantId: 'nobudget',
      idempotencyKey: 'n-1',
      amountMicroUsd: 1,
    });
    expect(result).toEqual({
      admitted: false,
      reason: 'tenant nobudget has no budget configured',
      limitMicroUsd: 0,
      spentMicroUsd: 0,
      reservedMicroUsd: 0,
    });
    await expect(
      reserveBudget(database.db, { tenantId: 'acme', idempotencyKey: 'f-1', amountMicroUsd: 0.05 }),
    ).rejects.toThrow(RangeError);
  });
});
