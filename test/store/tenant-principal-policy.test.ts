import { putPolicy, getLatestPolicy } from '../../store/policy-repository';
import { createApiKey } from '../../store/api-key-repository';
import { hashApiKey, keyIdForKeyHash } from '../../governance/caller-proof';
import {
  credentialOfRows,
  findCallerRows,
  findPrincipalByApiKey,
  findPrincipalByKeyId,
  upsertPrincipal,
} from '../../store/principal-repository';
import { getTenant, upsertTenant } from '../../store/tenant-repository';
import { createTestDatabase, rejectionMessage, type TestDatabase } from './test-database';

describe('tenants, principals and policies', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await upsertTenant(database.db, { id: 'acme', name: 'Acme', status: 'active', tier: 'team' });
    await upsertTenant(database.db, { id: 'globex', name: 'Globex', status: 'active', tier: 'starter' });
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('round-trips a tenant and updates it in place', async () => {
    const first = await getTenant(database.db, 'acme');
    expect(first).toMatchObject({ id: 'acme', name: 'Acme', status: 'active', tier: 'team' });
    expect(first?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const updated = await upsertTenant(database.db, {
      id: 'acme',
      name: 'Acme Inc',
      status: 'suspended',
      tier: 'team',
    });
    expect(updated).toMatchObject({ name: 'Acme Inc', status: 'suspended', createdAt: first?.createdAt });
    await upsertTenant(database.db, { id: 'acme', name: 'Acme', status: 'active', tier: 'team' });
    expect(await getTenant(database.db, 'nobody')).toBeUndefined();
  });

  it('finds a principal by its key only within its own tenant', async () => {
    const apiKeyHash = hashApiKey('secret-key-1');
    expect(apiKeyHash).toMatch(/^[0-9a-f]{64}$/);
    await upsertPrincipal(database.db, {
      id: 'alice',
      tenantId: 'acme',
      name: 'Alice',
      apiKeyHash,
      capabilities: ['qa', 'summarize'],
      groups: ['everyone', 'support'],
      clearance: 'internal',
      role: 'approver',
      status: 'active',
    });
    expect(await findPrincipalByApiKey(database.db, 'secret-key-1', 'acme')).toEqual({
      apiKeyHash,
      keyId: keyIdForKeyHash(apiKeyHash),
      id: 'alice',
      tenantId: 'acme',
      name: 'Alice',
      capabilities: ['qa', 'summarize'],
      groups: ['everyone', 'support'],
      clearance: 'internal',
      role: 'approver',
      status: 'active',
      // A principal's own key: every scope, no expiry.
      key: { keyId: keyIdForKeyHash(apiKeyHash), scopes: ['requests', 'operate', 'audit'] },
    });
    expect(await findPrincipalByKeyId(database.db, 'globex', keyIdForKeyHash(apiKeyHash))).toBeUndefined();
    expect(await findPrincipalByApiKey(database.db, 'secret-key-1', 'globex')).toBeUndefined();
    expect(await findPrincipalByApiKey(database.db, 'wrong', 'acme')).toBeUndefined();
    const raw = (await database.db('principals').where({ id: 'alice' }).first()) as Record<string, unknown>;
    expect(JSON.stringify(raw)).not.toContain('secret-key-1');
  });

  it('rotates a key by upsert and rejects a key hash reused by another principal', async () => {
    const base = {
      tenantId: 'acme',
      name: 'Bob',
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'public' as const,
      role: 'requester' as const,
      status: 'active' as const,
    };
    await upsertPrincipal(database.db, { ...base, id: 'bob', apiKeyHash: hashApiKey('bob-1') });
    await upsertPrincipal(database.db, { ...base, id: 'bob', apiKeyHash: hashApiKey('bob-2') });
    expect(await findPrincipalByApiKey(database.db, 'bob-1', 'acme')).toBeUndefined();
    expect((await findPrincipalByApiKey(database.db, 'bob-2', 'acme'))?.id).toBe('bob');
    expect(
      await rejectionMessage(
        upsertPrincipal(database.db, { ...base, id: 'mallory', apiKeyHash: hashApiKey('bob-2') }),
      ),
    ).toMatch(/unique/i);
  });

  it('finds the principal of a key in whichever tenant holds it, and only with the right key', async () => {
    const base = {
      name: 'Key holder',
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'public' as const,
      role: 'requester' as const,
      status: 'active' as const,
    };
    await upsertPrincipal(database.db, {
      ...base,
      id: 'carol',
      tenantId: 'acme',
      apiKeyHash: hashApiKey('carol-key'),
    });
    await upsertPrincipal(database.db, {
      ...base,
      id: 'dave',
      tenantId: 'globex',
      apiKeyHash: hashApiKey('dave-key'),
    });
    expect(await findPrincipalByApiKey(database.db, 'carol-key')).toMatchObject({
      id: 'carol',
      tenantId: 'acme',
      keyId: keyIdForKeyHash(hashApiKey('carol-key')),
    });
    expect((await findPrincipalByApiKey(database.db, 'dave-key'))?.tenantId).toBe('globex');
    expect(await findPrincipalByApiKey(database.db, 'carol-key ')).toBeUndefined();
    expect(await findPrincipalByApiKey(database.db, 'nobody-has-this-key')).toBeUndefined();
  });

  it('honours a key only in the tenant of the principal holding it, even where the store pairs them across tenants', async () => {
    await upsertPrincipal(database.db, {
      id: 'erin',
      tenantId: 'globex',
      name: 'Erin',
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'public',
      role: 'requester',
      status: 'active',
      apiKeyHash: hashApiKey('erin-own-key'),
    });
    const key = await createApiKey(database.db, {
      tenantId: 'globex',
      principalId: 'erin',
      rawKey: 'erin-issued-key',
      scopes: ['requests'],
    });
    expect((await findPrincipalByApiKey(database.db, 'erin-issued-key', 'globex'))?.id).toBe('erin');
    // Someone with write access to the table files Erin's key under acme.
    await database.db('api_keys').where({ key_id: key.keyId }).update({ tenant_id: 'acme' });
    expect(await findPrincipalByApiKey(database.db, 'erin-issued-key', 'acme')).toBeUndefined();
    expect(await findPrincipalByApiKey(database.db, 'erin-issued-key')).toBeUndefined();
    expect(await findPrincipalByApiKey(database.db, 'erin-issued-key', 'globex')).toBeUndefined();
  });

  it("reads the same caller from authorize's rows as from a key lookup: own key, issued key, a key filed under another tenant", async () => {
    await upsertPrincipal(database.db, {
      id: 'frank',
      tenantId: 'acme',
      name: 'Frank',
      capabilities: ['qa'],
      groups: ['everyone', 'finance'],
      clearance: 'confidential',
      role: 'requester',
      status: 'active',
      apiKeyHash: hashApiKey('frank-own-key'),
    });
    const issued = await createApiKey(database.db, {
      tenantId: 'acme',
      principalId: 'frank',
      rawKey: 'frank-issued-key',
      scopes: ['requests'],
      expiresAt: new Date('2031-01-01T00:00:00Z'),
      features: ['faq'],
    });
    const viaRows = async (tenantId: string, keyId: string) => {
      const rows = await findCallerRows(database.db, tenantId, keyId);
      return rows && credentialOfRows(rows, keyId);
    };
    const ownKeyId = keyIdForKeyHash(hashApiKey('frank-own-key'));
    for (const keyId of [ownKeyId, issued.keyId]) {
      const expected = await findPrincipalByKeyId(database.db, 'acme', keyId);
      expect(expected?.id).toBe('frank');
      expect(await viaRows('acme', keyId)).toEqual(expected);
    }
    expect(await viaRows('acme', ownKeyId)).toMatchObject({
      id: 'frank',
      groups: ['everyone', 'finance'],
      clearance: 'confidential',
      apiKeyHash: hashApiKey('frank-own-key'),
      key: { keyId: ownKeyId, scopes: ['requests', 'operate', 'audit'] },
    });
    expect(await viaRows('acme', issued.keyId)).toMatchObject({
      id: 'frank',
      apiKeyHash: hashApiKey('frank-issued-key'),
      keyId: issued.keyId,
    });
    expect((await viaRows('acme', issued.keyId))?.key).toMatchObject({
      scopes: ['requests'],
      features: ['faq'],
      expiresAt: '2031-01-01T00:00:00.000Z',
    });
    // The key filed under another tenant by SQL finds no caller in either, by either way.
    await database.db('api_keys').where({ key_id: issued.keyId }).update({ tenant_id: 'globex' });
    for (const tenantId of ['acme', 'globex']) {
      expect(await findPrincipalByKeyId(database.db, tenantId, issued.keyId)).toBeUndefined();
      expect(await viaRows(tenantId, issued.keyId)).toBeUndefined();
    }
  });

  it('versions policies atomically, even under concurrent puts', async () => {
    expect(await getLatestPolicy(database.db, 'globex')).toBeUndefined();
    expect(await putPolicy(database.db, 'globex', { maxOutputTokens: 100 })).toBe(1);
    const versions = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        putPolicy(database.db, 'globex', { maxOutputTokens: 200 + index }),
      ),
    );
    expect([...versions].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const latest = await getLatestPolicy(database.db, 'globex');
    expect(latest?.version).toBe(9);
    expect(latest?.document).toEqual({ maxOutputTokens: 200 + versions.indexOf(9) });
  });

  it('refuses to edit a published policy version', async () => {
    await putPolicy(database.db, 'acme', { logging: 'full' });
    expect(
      await rejectionMessage(
        database.db('policies').where({ tenant_id: 'acme', version: 1 }).update({ document: '{}' }),
      ),
    ).toMatch(/policies is append-only: UPDATE is not allowed/);
  });
});
