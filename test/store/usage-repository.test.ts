import { listUsage, type NewUsageRecord, recordUsage, totalCostMicroUsd } from '../../store/usage-repository';
import { createTestDatabase, type TestDatabase } from './test-database';

describe('usage repository', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  const record = (overrides: Partial<NewUsageRecord>): NewUsageRecord => ({
    tenantId: 'acme',
    workflowId: 'wf-1',
    runId: 'run-1',
    attempt: 1,
    routeId: 'bedrock-haiku',
    provider: 'bedrock',
    model: 'anthropic.claude-3-haiku',
    inputTokens: 1200,
    outputTokens: 300,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costMicroUsd: 675,
    outcome: 'succeeded',
    failureType: null,
    usageEstimated: false,
    pricingVersion: null,
    principalId: 'acme-analyst',
    feature: null,
    taskType: 'qa',
    promptRef: 'qa@1',
    ...overrides,
  });

  it('records attempts once, however often they are retried', async () => {
    const first = record({
      attempt: 1,
      outcome: 'failed',
      failureType: 'Inference.RateLimited',
      costMicroUsd: 0,
    });
    const second = record({ attempt: 2 });
    expect(await recordUsage(database.db, [first, second])).toBe(2);
    expect(await recordUsage(database.db, [first, second, second])).toBe(0);
    expect(
      await recordUsage(database.db, [record({ workflowId: 'wf-2', costMicroUsd: 9_000_000_000 })]),
    ).toBe(1);
    expect(await recordUsage(database.db, [record({ tenantId: 'globex', workflowId: 'wf-3' })])).toBe(1);

    const listed = await listUsage(database.db, { tenantId: 'acme', workflowId: 'wf-1' });
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject({
      attempt: 1,
      outcome: 'failed',
      failureType: 'Inference.RateLimited',
      costMicroUsd: 0,
      inputTokens: 1200,
    });
    expect(listed[1]).toMatchObject({
      attempt: 2,
      failureType: null,
      costMicroUsd: 675,
      routeId: 'bedrock-haiku',
    });
    expect(await listUsage(database.db, { tenantId: 'acme' })).toHaveLength(3);
    expect(await recordUsage(database.db, [])).toBe(0);
    // Beyond 32-bit range on purpose: money columns are BIGINT on both dialects.
    expect(await totalCostMicroUsd(database.db, 'acme')).toBe(9_000_000_675);
    expect(await totalCostMicroUsd(database.db, 'nobody')).toBe(0);
  });

  it('refuses to record a different attempt under a key that is already taken', async () => {
    await recordUsage(database.db, [record({ workflowId: 'wf-c', usageEstimated: true, costMicroUsd: 10 })]);
    await expect(
      recordUsage(database.db, [record({ workflowId: 'wf-c', costMicroUsd: 11 })]),
    ).rejects.toThrow(/already recorded with other values \(costMicroUsd, usageEstimated\)/);
    expect(
      await recordUsage(database.db, [
        record({ workflowId: 'wf-c', usageEstimated: true, costMicroUsd: 10 }),
      ]),
    ).toBe(0);
    const [stored] = await listUsage(database.db, { tenantId: 'acme', workflowId: 'wf-c' });
    expect(stored).toMatchObject({ usageEstimated: true, principalId: 'acme-analyst', promptRef: 'qa@1' });
  });

  it('refuses fractional money or negative token counts', async () => {
    await expect(
      recordUsage(database.db, [record({ workflowId: 'wf-x', costMicroUsd: 1.5 })]),
    ).rejects.toThrow(RangeError);
    await expect(recordUsage(database.db, [record({ workflowId: 'wf-y', inputTokens: -1 })])).rejects.toThrow(
      RangeError,
    );
  });
});
