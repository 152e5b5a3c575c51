/**
 * The governance key check (`authenticateGovernanceKey`) and the bootstrap of a tenant's first governance
 * key, on a real store (SQLite, or PostgreSQL with DATABASE_URL): each refusal has its own reason, the
 * actor is the key's principal and key, and only one bootstrap per tenant ever succeeds, even two at once.
 */
import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import {
  ApiKeyError,
  authenticateGovernanceKey,
  bootstrapGovernanceKey,
  createKey,
  GovernanceAccessError,
  revokeKey,
  type GovernanceActor,
} from '../../governance/api-keys';
import { newAuditKeys } from '../../governance/audit-key-store';
import { hashApiKey } from '../../governance/caller-proof';
import { governanceWorkflowId } from '../../governance/governance-attestation';
import type { GovernanceScope } from '../../domain/api-key-access';
import { createApiKey } from '../../store/api-key-repository';
import { listAuditEvents } from '../../store/audit-repository';
import { migrateLatest } from '../../store/migrate';
import { upsertPrincipal } from '../../store/principal-repository';
import { upsertTenant } from '../../store/tenant-repository';
import { createIsolatedDatabase, type IsolatedDatabase } from '../support/gatehouse-harness';

const keys = newAuditKeys();

async function addTenant(database: IsolatedDatabase, tenantId: string, principals: string[]): Promise<void> {
  await upsertTenant(database.db, { id: tenantId, name: tenantId, status: 'active', tier: 'team' });
  for (const id of principals) {
    await upsertPrincipal(database.db, {
      id,
      tenantId,
      name: id,
      apiKeyHash: hashApiKey(`own-key-of-${id}`),
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'internal',
      role: 'admin',
      status: 'active',
    });
  }
}

describe('governance keys', () => {
  let database: IsolatedDatabase;
  const writer = () => ({ db: database.db, chainKey: keys.chainKey });
  const check = (tenantId: string, rawKey: string | undefined, scope: GovernanceScope = 'governance:write') =>
    authenticateGovernanceKey(database.db, { tenantId, rawKey, scope, atMs: Date.now() });
  /** The refusal's reason and message, or the actor when the key was accepted. */
  const refusal = async (tenantId: string, rawKey: string | undefined, scope?: GovernanceScope) => {
    try {
      return { accepted: await check(tenantId, rawKey, scope) };
    } catch (error) {
      if (!(error instanceof GovernanceAccessError)) throw error;
      return { reason: error.reason, message: error.message };
    }
  };
  let acmeSecret: string;
  let acmeActor: GovernanceActor;

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    await migrateLatest(database.db);
    await addTenant(database, 'acme', ['acme-admin', 'acme-ops', 'acme-disabled']);
    await addTenant(database, 'globex', ['globex-admin']);
    const issued = await bootstrapGovernanceKey(writer(), { tenantId: 'acme', principalId: 'acme-admin' });
    acmeSecret = issued.secret;
    acmeActor = { principalId: 'acme-admin', keyId: issued.record.keyId };
  });
  afterAll(async () => {
    await database.drop();
  });

  it('the bootstrap key has both governance scopes, no expiry, and is audited as a bootstrap', async () => {
    expect(await check('acme', acmeSecret)).toEqual(acmeActor);
    expect(await check('acme', acmeSecret, 'governance:read')).toEqual(acmeActor);
    const events = await listAuditEvents(database.db, {
      tenantId: 'acme',
      workflowId: governanceWorkflowId('acme'),
    });
    expect(events).toHaveLength(1);
    expect(events[0]?.eventType).toBe(AUDIT_EVENT_TYPES.governanceChanged);
    expect(events[0]?.payload).toMatchObject({
      author: 'acme-admin',
      authorKeyId: acmeActor.keyId,
      bootstrap: true,
    });
  });

  it('refuses a second bootstrap and says how to go on', async () => {
    await expect(
      bootstrapGovernanceKey(writer(), { tenantId: 'acme', principalId: 'acme-ops' }),
    ).rejects.toThrow(
      new RegExp(
        `^tenant 'acme' already has governance key\\(s\\) \\(${acmeActor.keyId}\\); --bootstrap only issues the first one\\. ` +
          'Create further keys with an existing key that has governance:write',
      ),
    );
  });

  it('lets only one of two simultaneous bootstraps of a tenant through', async () => {
    await addTenant(database, 'initech', ['initech-a', 'initech-b']);
    const outcomes = await Promise.allSettled([
      bootstrapGovernanceKey(writer(), { tenantId: 'initech', principalId: 'initech-a' }),
      bootstrapGovernanceKey(writer(), { tenantId: 'initech', principalId: 'initech-b' }),
    ]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((outcome) => outcome.status === 'rejected');
    expect(rejected?.status === 'rejected' && rejected.reason).toBeInstanceOf(ApiKeyError);
    const rows = await database.db('api_keys').where({ tenant_id: 'initech' });
    expect(rows).toHaveLength(1);
  });

  it('names each refusal: missing, unknown, another tenant, disabled, revoked, expired, scope', async () => {
    expect(await refusal('acme', undefined)).toMatchObject({
      reason: 'missing-key',
      message: expect.stringMatching(
        /^this command needs an API key of tenant 'acme' with scope 'governance:write'/,
      ),
    });
    expect(await refusal('acme', 'ghk_nobody-has-this')).toMatchObject({ reason: 'unknown-key' });

    const globex = await bootstrapGovernanceKey(writer(), {
      tenantId: 'globex',
      principalId: 'globex-admin',
    });
    expect(await refusal('acme', globex.secret)).toEqual({
      reason: 'other-tenant',
      message: "the API key belongs to another tenant and is not valid for tenant 'acme'",
    });
    expect((await refusal('globex', globex.secret)).accepted?.principalId).toBe('globex-admin');

    const disabledKey = await createKey(writer(), {
      tenantId: 'acme',
      principalId: 'acme-disabled',
      scopes: ['governance:write'],
      actor: acmeActor,
    });
    await database.db('principals').where({ id: 'acme-disabled' }).update({ status: 'disabled' });
    expect(await refusal('acme', disabledKey.secret)).toMatchObject({ reason: 'principal-disabled' });

    const revoked = await createKey(writer(), {
      tenantId: 'acme',
      principalId: 'acme-ops',
      scopes: ['governance:write'],
      actor: acmeActor,
    });
    await revokeKey(writer(), { tenantId: 'acme', keyId: revoked.record.keyId, actor: acmeActor });
    expect(await refusal('acme', revoked.secret)).toMatchObject({
      reason: 'revoked',
      message: expect.stringMatching(new RegExp(`^key ${revoked.record.keyId} was revoked at \\d{4}-`)),
    });

    const expiredSecret = 'ghk_expired-governance-key';
    const expired = await createApiKey(database.db, {
      tenantId: 'acme',
      principalId: 'acme-ops',
      rawKey: expiredSecret,
      scopes: ['governance:write'],
      expiresAt: new Date(Date.now() - 1_000),
    });
    expect(await refusal('acme', expiredSecret)).toEqual({
      reason: 'expired',
      message: `key ${expired.keyId} expired at ${expired.expiresAt}`,
    });

    const readOnly = await createKey(writer(), {
      tenantId: 'acme',
      principalId: 'acme-ops',
      scopes: ['governance:read'],
      actor: acmeActor,
    });
    expect(await refusal('acme', readOnly.secret)).toMatchObject({
      reason: 'missing-scope',
      message: expect.stringMatching(
        new RegExp(
          `^key ${readOnly.record.keyId} of principal 'acme-ops' lacks scope 'governance:write' \\(it has: governance:read\\)`,
        ),
      ),
    });
    expect((await refusal('acme', readOnly.secret, 'governance:read')).accepted?.principalId).toBe(
      'acme-ops',
    );
    // A principal's own key has every other scope, never a governance one.
    expect(await refusal('acme', 'own-key-of-acme-admin', 'governance:read')).toMatchObject({
      reason: 'missing-scope',
      message: expect.stringContaining('(it has: requests, operate, audit)'),
    });
  });

  it("refuses to revoke the tenant's last working governance:write key", async () => {
    await expect(
      revokeKey(writer(), { tenantId: 'acme', keyId: acmeActor.keyId, actor: acmeActor }),
    ).rejects.toThrow(`key ${acmeActor.keyId} is the last working governance:write key of 'acme'`);
    const spare = await createKey(writer(), {
      tenantId: 'acme',
      principalId: 'acme-ops',
      scopes: ['governance:write'],
      actor: acmeActor,
    });
    const { record } = await revokeKey(writer(), {
      tenantId: 'acme',
      keyId: acmeActor.keyId,
      actor: acmeActor,
    });
    expect(record.revokedAt).toBeDefined();
    expect((await refusal('acme', spare.secret)).accepted?.principalId).toBe('acme-ops');
  });
});
