import {
  getBudget,
  getRunReservations,
  listOpenReservations,
  releaseExpiredReservations,
  reserveBudget,
  setBudget,
  settleRun,
  SettlementConflictError,
} from '../../store/budget-repository';
import { upsertTenant } from '../../store/tenant-repository';
import { createTestDatabase, mapWithConcurrency, type TestDatabase } from './test-database';

const DOLLAR = 1_000_000;
const LATER = new Date(Date.now() + 3600_000);

describe('budget repository', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    for (const id of ['acme', 'globex', 'initech', 'nobudget']) {
      await upsertTenant(database.db, { id, name: id, status: 'active', tier: 'team' });
    }
  });
  afterAll(async () => {
    await database.destroy();
  });

  const reserve = (
    tenantId: string,
    runId: string,
    slot: number,
    amountMicroUsd: number,
    expiresAt = LATER,
  ) =>
    reserveBudget(database.db, {
      tenantId,
      workflowId: `gatehouse/${tenantId}/r`,
      runId,
      slot,
      amountMicroUsd,
      expiresAt,
    });
  const settle = (tenantId: string, runId: string, actualMicroUsd: number) =>
    database.db.transaction((trx) =>
      settleRun(trx, { tenantId, workflowId: `gatehouse/${tenantId}/r`, runId, actualMicroUsd }),
    );

  it('admits exactly what fits under concurrency and never lets spent + reserved exceed the limit', async () => {
    await setBudget(database.db, { tenantId: 'acme', limitMicroUsd: DOLLAR });
    const runs = Array.from({ length: 100 }, (_, index) => `run-${index}`);
    const results = await mapWithConcurrency(runs, 20, async (runId) => {
      const result = await reserve('acme', runId, 1, 50_000);
      const budget = await getBudget(database.db, 'acme');
      expect(budget!.spentMicroUsd + budget!.reservedMicroUsd).toBeLessThanOrEqual(budget!.limitMicroUsd);
      return { runId, result };
    });
    const admitted = results.filter((entry) => entry.result.admitted);
    expect(admitted).toHaveLength(20);
    const denied = results.find((entry) => !entry.result.admitted)!.result;
    expect(denied).toMatchObject({ admitted: false, limitMicroUsd: DOLLAR });
    expect(denied.admitted === false && denied.reason).toMatch(/0 of 1000000 available/);
    expect(await getBudget(database.db, 'acme')).toMatchObject({
      spentMicroUsd: 0,
      reservedMicroUsd: DOLLAR,
    });

    // The same reservation asked for again (a retried local activity) is the same reservation.
    expect(await reserve('acme', admitted[0]!.runId, 1, 50_000)).toEqual(admitted[0]!.result);

    await mapWithConcurrency(admitted, 20, ({ runId }, index) =>
      settle('acme', runId, index % 2 === 0 ? 30_000 : 0),
    );
    expect(await getBudget(database.db, 'acme')).toMatchObject({
      spentMicroUsd: 10 * 30_000,
      reservedMicroUsd: 0,
    });
    expect(await listOpenReservations(database.db)).toEqual([]);
  });

  it('charges a run its real cost over all its reservations, records the overrun, and settles again only what is new', async () => {
    await setBudget(database.db, { tenantId: 'globex', limitMicroUsd: 5 * DOLLAR });
    expect(await reserve('globex', 'g-run', 1, DOLLAR)).toMatchObject({ admitted: true });
    expect(await reserve('globex', 'g-run', 2, DOLLAR / 2)).toMatchObject({ admitted: true });
    expect(await getBudget(database.db, 'globex')).toMatchObject({ reservedMicroUsd: 1.5 * DOLLAR });

    const settled = await settle('globex', 'g-run', 1_800_000);
    expect(settled).toEqual({
      state: 'settled',
      reservedMicroUsd: 1_500_000,
      chargedMicroUsd: 1_800_000,
      overrunMicroUsd: 300_000,
      changed: true,
    });
    expect(await getBudget(database.db, 'globex')).toMatchObject({
      spentMicroUsd: 1_800_000,
      reservedMicroUsd: 0,
      overrunMicroUsd: 300_000,
    });
    expect(await settle('globex', 'g-run', 1_800_000)).toMatchObject({ changed: false });
    // An attempt whose activity finished after its run closed: only the difference is charged.
    expect(await settle('globex', 'g-run', 1_900_000)).toMatchObject({
      changed: true,
      chargedMicroUsd: 1_900_000,
    });
    expect(await getBudget(database.db, 'globex')).toMatchObject({
      spentMicroUsd: 1_900_000,
      overrunMicroUsd: 400_000,
    });
    await expect(settle('globex', 'g-run', 10)).rejects.toThrow(SettlementConflictError);
    const rows = await getRunReservations(database.db, 'gatehouse/globex/r', 'g-run');
    expect(rows.map((row) => row.state)).toEqual(['settled', 'settled']);
    expect(rows.reduce((total, row) => total + (row.settledMicroUsd ?? 0), 0)).toBe(1_900_000);

    expect(await settle('globex', 'never-reserved', 0)).toMatchObject({ state: 'none', changed: false });
    const reused = await reserve('globex', 'g-run', 1, 1);
    expect(reused.admitted === false && reused.reason).toMatch(/already settled/);
    const crossTenant = await reserveBudget(database.db, {
      tenantId: 'acme',
      workflowId: 'gatehouse/globex/r',
      runId: 'g-run',
      slot: 1,
      amountMicroUsd: 1,
      expiresAt: LATER,
    });
    expect(crossTenant.admitted === false && crossTenant.reason).toMatch(/another tenant/);
  });

  it('releases an expired reservation and still charges its run when it settles later', async () => {
    await setBudget(database.db, { tenantId: 'initech', limitMicroUsd: DOLLAR });
    await reserve('initech', 'stuck', 1, 400_000, new Date(Date.now() - 1000));
    await reserve('initech', 'fresh', 1, 100_000);
    const released = await releaseExpiredReservations(database.db, new Date());
    expect(released.map((reservation) => reservation.runId)).toEqual(['stuck']);
    expect(await getBudget(database.db, 'initech')).toMatchObject({
      reservedMicroUsd: 100_000,
      spentMicroUsd: 0,
    });
    expect(await releaseExpiredReservations(database.db, new Date())).toEqual([]);
    expect(await settle('initech', 'stuck', 250_000)).toMatchObject({
      changed: true,
      chargedMicroUsd: 250_000,
    });
    expect(await getBudget(database.db, 'initech')).toMatchObject({
      reservedMicroUsd: 100_000,
      spentMicroUsd: 250_000,
    });
  });

  it('keeps spent and reserved when the limit changes, and denies once real spend reaches it', async () => {
    await reserve('globex', 'g-3', 1, 250_000);
    const updated = await setBudget(database.db, { tenantId: 'globex', limitMicroUsd: 2 * DOLLAR });
    expect(updated).toMatchObject({
      limitMicroUsd: 2 * DOLLAR,
      spentMicroUsd: 1_900_000,
      reservedMicroUsd: 250_000,
    });
    expect(await reserve('globex', 'g-4', 1, 1)).toMatchObject({ admitted: false, spentMicroUsd: 1_900_000 });
    await setBudget(database.db, { tenantId: 'globex', limitMicroUsd: 3 * DOLLAR });
    expect(await reserve('globex', 'g-5', 1, 850_000)).toMatchObject({
      admitted: true,
      amountMicroUsd: 850_000,
    });
  });

  it('denies a tenant without a budget and rejects fractional amounts', async () => {
    expect(await reserve('nobudget', 'n-1', 1, 1)).toEqual({
      admitted: false,
      key: 'gatehouse/nobudget/r/n-1/reserve-budget/1',
      reason: 'tenant nobudget has no budget configured',
      limitMicroUsd: 0,
      spentMicroUsd: 0,
      reservedMicroUsd: 0,
      overridable: false,
      warnings: [],
    });
    await expect(reserve('acme', 'f-1', 1, 0.05)).rejects.toThrow(RangeError);
  });
});
