/**
 * A key of another tenant is refused before the budget step: it never counts in this tenant's rate-limit
 * minute or reserves in its windows.
 */
import { PolicyDeniedError } from '../../client/errors';
import { budgetPeriod } from '../../domain/budget-limits';
import { hashApiKey } from '../../governance/caller-proof';
import { setBudget } from '../../store/budget-repository';
import { windowUsage } from '../../store/budget-windows';
import { upsertPrincipal } from '../../store/principal-repository';
import { putTenantRateLimit, rateWindowUsage } from '../../store/rate-limits';
import { upsertTenant } from '../../store/tenant-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const ACME_KEY = 'acme-analyst-key-0123456789abcdef0123';

describe('a key of another tenant and the tenant’s limits', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
    await upsertTenant(harness.db, { id: 'acme', name: 'acme', status: 'active', tier: 'team' });
    await setBudget(harness.db, { tenantId: 'acme', limitMicroUsd: 1_000_000_000 });
    await upsertPrincipal(harness.db, {
      id: 'acme-analyst',
      tenantId: 'acme',
      name: 'Acme analyst',
      role: 'requester',
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'internal',
      status: 'active',
      apiKeyHash: hashApiKey(ACME_KEY),
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('never counts a key of another tenant in this tenant’s rate limit or windows', async () => {
    await putTenantRateLimit(harness.db, {
      tenantId: 'demo',
      requestsPerMinute: 1_000,
      tokensPerMinute: null,
      author: 'ops',
    });
    const day = budgetPeriod('daily', new Date());
    const windowBefore = await windowUsage(harness.db, 'demo', '', day);
    const before = await rateWindowUsage(harness.db, 'demo', new Date());
    const error = await harness.gatehouse
      .execute(harness.input({ requestId: 'cross-tenant-1', apiKey: ACME_KEY }))
      .catch((caught: unknown) => caught);
    const after = await rateWindowUsage(harness.db, 'demo', new Date());
    expect(error).toBeInstanceOf(PolicyDeniedError);
    expect((error as Error).message).toMatch(/not valid for tenant 'demo'/);
    if (after.window === before.window) expect(after.requests).toBe(before.requests);
    expect(await windowUsage(harness.db, 'demo', '', day)).toEqual(windowBefore);
    await harness.db('tenant_rate_limits').where({ tenant_id: 'demo' }).delete();
  });
});
