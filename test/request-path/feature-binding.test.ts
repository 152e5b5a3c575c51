/**
 * A request is charged to the feature its key allows (docs/decisions/0029), not the one it names: a key
 * bound to `faq` that names another feature is refused `Policy.Denied`, one that names none is charged to
 * `faq` and meets its hard limit, the ledger, the audit trail and the `Feature` search attribute carry the
 * feature charged, an unbound key may not name a feature a working key is bound to, and a binding edited
 * in the store, the caller's or another key's, or a bound key deleted there, ends the request
 * `Governance.Unattested`.
 */
import {
  BudgetExceededError,
  type GatehouseRequestError,
  GovernanceUnattestedError,
  PolicyDeniedError,
} from '../../client/errors';
import { budgetPeriod } from '../../domain/budget-limits';
import type { LlmRequestInput } from '../../domain/request-contract';
import { SEARCH_ATTRIBUTE_KEYS } from '../../domain/search-attribute-keys';
import { createKey, type IssuedKey } from '../../governance/api-keys';
import { listAuditEvents } from '../../store/audit-repository';
import { putBudgetLimit, windowUsage } from '../../store/budget-windows';
import { listUsage } from '../../store/usage-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const actor = { principalId: 'erin', keyId: 'key-of-erin' };

describe('the feature a request is charged to is the one its key allows', () => {
  let harness: GatehouseHarness;
  let faqKey: IssuedKey;
  let reportsKey: IssuedKey;
  const writer = () => ({ db: harness.db, chainKey: harness.audit.keys.chainKey });

  beforeAll(async () => {
    harness = await startHarness();
    await putBudgetLimit(harness.db, {
      tenantId: 'demo',
      feature: 'faq',
      window: 'daily',
      unit: 'usd',
      kind: 'hard',
      limit: 1,
      approvalOverride: false,
      author: 'finance@example.com',
    });
    const bound = (features: string[]) =>
      createKey(writer(), {
        tenantId: 'demo',
        principalId: 'demo-analyst',
        scopes: ['requests'],
        features,
        actor,
      });
    faqKey = await bound(['faq']);
    reportsKey = await bound(['reports']);
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function outcome(overrides: Partial<LlmRequestInput>) {
    const input = harness.input(overrides);
    const submitted = await harness.gatehouse.submit(input);
    const result = await harness.gatehouse
      .result(submitted.workflowId, { tenantId: 'demo', apiKey: input.apiKey })
      .catch((caught: unknown) => caught);
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    const authorized = events.find((event) => event.step === 'authorize')?.payload as Record<string, unknown>;
    return { submitted, result, authorized };
  }

  it('refuses a key bound to faq that names another feature, naming the feature and the key', async () => {
    const { submitted, result, authorized } = await outcome({
      requestId: 'bound-names-other',
      apiKey: faqKey.secret,
      feature: 'other',
    });
    expect(result).toBeInstanceOf(PolicyDeniedError);
    expect((result as GatehouseRequestError).failureType).toBe('Policy.Denied');
    expect((result as Error).message).toContain(
      `key ${faqKey.record.keyId} may not charge feature 'other' (it is bound to 'faq')`,
    );
    expect(authorized).toMatchObject({ feature: null, declaredFeature: 'other' });
    expect(await listUsage(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId })).toEqual([]);
  });

  it("charges a request that names no feature to its key's one feature, whose hard limit stops it", async () => {
    const { result, authorized } = await outcome({ requestId: 'bound-names-none', apiKey: faqKey.secret });
    expect(result).toBeInstanceOf(BudgetExceededError);
    expect((result as Error).message).toMatch(/feature faq daily USD hard limit 0\.000001/);
    expect(authorized).toMatchObject({ feature: 'faq', declaredFeature: null });
  });

  it('records the feature charged in the ledger, the audit trail, the budget window and the search attribute', async () => {
    const { submitted, result, authorized } = await outcome({
      requestId: 'bound-charged',
      apiKey: reportsKey.secret,
    });
    expect((result as { output: string }).output.length).toBeGreaterThan(0);
    expect(authorized).toMatchObject({ feature: 'reports', declaredFeature: null });
    const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    expect(ledger.length).toBeGreaterThan(0);
    expect(ledger.map((row) => row.feature)).toEqual(ledger.map(() => 'reports'));
    const usage = await windowUsage(harness.db, 'demo', 'reports', budgetPeriod('daily', new Date()));
    expect(usage.spentMicroUsd).toBe(ledger.reduce((total, row) => total + row.costMicroUsd, 0));
    const attributes = (await submitted.handle.describe()).typedSearchAttributes;
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.feature)).toBe('reports');
  });

  it('refuses an unbound key naming a feature a working key is bound to; other features stay as named', async () => {
    const reserved = await outcome({ requestId: 'unbound-names-faq', feature: 'faq' });
    expect(reserved.result).toBeInstanceOf(PolicyDeniedError);
    expect((reserved.result as Error).message).toMatch(
      /key [0-9a-f]{32} is not bound to feature 'faq', which the tenant charges only through keys bound to it/,
    );
    const free = await outcome({ requestId: 'unbound-names-free', feature: 'free' });
    expect((free.result as { output: string }).output.length).toBeGreaterThan(0);
    expect(free.authorized).toMatchObject({ feature: 'free', declaredFeature: 'free' });
  });

  it('ends a request made with a key whose binding was removed in the store with Governance.Unattested', async () => {
    const keyId = faqKey.record.keyId;
    const stored = (await harness.db('api_keys').where({ key_id: keyId }).first('features')) as {
      features: string;
    };
    await harness.db('api_keys').where({ key_id: keyId }).update({ features: null });
    try {
      const { result } = await outcome({
        requestId: 'unbound-by-sql',
        apiKey: faqKey.secret,
        feature: 'other',
      });
      expect(result).toBeInstanceOf(GovernanceUnattestedError);
      expect((result as GatehouseRequestError).failureType).toBe('Governance.Unattested');
      expect((result as Error).message).toMatch(
        new RegExp(`^api-key:${keyId} was changed outside Gatehouse`),
      );
    } finally {
      await harness.db('api_keys').where({ key_id: keyId }).update({ features: stored.features });
    }
  });

  it("ends an unbound key's request naming faq with Governance.Unattested when faq's binding was removed from another key in the store", async () => {
    const keyId = faqKey.record.keyId;
    await harness.db('api_keys').where({ key_id: keyId }).update({ features: null });
    try {
      const { result, submitted } = await outcome({ requestId: 'freed-by-sql', feature: 'faq' });
      expect(result).toBeInstanceOf(GovernanceUnattestedError);
      expect((result as Error).message).toMatch(
        new RegExp(`^api-key:${keyId} was changed outside Gatehouse`),
      );
      expect(await listUsage(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId })).toEqual([]);
    } finally {
      await harness
        .db('api_keys')
        .where({ key_id: keyId })
        .update({ features: JSON.stringify(['faq']) });
    }
  });

  it("ends an unbound key's request naming faq with Governance.Unattested when faq's bound key was deleted in the store", async () => {
    const keyId = faqKey.record.keyId;
    const row = (await harness.db('api_keys').where({ key_id: keyId }).first()) as Record<string, unknown>;
    await harness.db('api_keys').where({ key_id: keyId }).delete();
    try {
      const { result } = await outcome({ requestId: 'deleted-by-sql', feature: 'faq' });
      expect(result).toBeInstanceOf(GovernanceUnattestedError);
      expect((result as Error).message).toMatch(
        new RegExp(`^api-key:${keyId} was deleted outside Gatehouse: governance.changed #\\d+ records it`),
      );
    } finally {
      await harness.db('api_keys').insert(row);
    }
    // Restored as it was, the same request is refused as before the edit: faq is charged through its key.
    const restored = await outcome({ requestId: 'after-restore', feature: 'faq' });
    expect(restored.result).toBeInstanceOf(PolicyDeniedError);
  });
});
