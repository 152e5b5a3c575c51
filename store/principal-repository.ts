import type { Knex } from 'knex';
import { PRINCIPAL_KEY_SCOPES, type KeyAccess } from '../domain/api-key-access';
import type { DataClass } from '../domain/data-class';
import { hashApiKey, keyIdForKeyHash } from '../governance/caller-proof';
import { featuresOf } from './api-key-repository';
import { firstRecord, nowIso, toIsoTimestamp } from './knex-client';

export type PrincipalRole = 'requester' | 'approver' | 'admin';
export type PrincipalStatus = 'active' | 'disabled';

export interface Principal {
  id: string;
  tenantId: string;
  name: string;
  /** Task types this principal may request (e.g. `qa`, `summarize`). */
  capabilities: string[];
  /** ACL groups used by the retrieval permission filter. */
  groups: string[];
  clearance: DataClass;
  role: PrincipalRole;
  status: PrincipalStatus;
}

export interface UpsertPrincipalInput extends Principal {
  /** `hashApiKey(rawKey)`: raw keys are never stored. */
  apiKeyHash: string;
}

/** A principal with the key hash that signs its proofs; only activities and the CLI ever hold it. */
export interface PrincipalCredential extends Principal {
  apiKeyHash: string;
  keyId: string;
  /** The key's scopes, expiry and revocation (the principal's own key: `PRINCIPAL_KEY_SCOPES`, no expiry). */
  key: KeyAccess;
}

interface PrincipalRow {
  id: string;
  api_key_hash: string;
  key_id: string | null;
  tenant_id: string;
  name: string;
  capabilities: string;
  groups: string;
  clearance: DataClass;
  role: PrincipalRole;
  status: PrincipalStatus;
}

interface ApiKeyJoinRow extends Omit<PrincipalRow, 'api_key_hash' | 'key_id' | 'id'> {
  principal_id: string;
  key_id: string;
  key_hash: string;
  scopes: string;
  expires_at: unknown;
  revoked_at: unknown;
  features: string | null;
}

/** A key made with `gatehouse keys create`, with the principal holding it. */
function apiKeys(db: Knex) {
  return (
    db('api_keys as k')
      // The key's own tenant must be its principal's: a row edited to pair them across tenants matches nothing.
      .join('principals as p', (on) =>
        on.on('p.id', '=', 'k.principal_id').andOn('p.tenant_id', '=', 'k.tenant_id'),
      )
      .select(
        'k.key_id',
        'k.key_hash',
        'k.scopes',
        'k.expires_at',
        'k.revoked_at',
        'k.features',
        'k.principal_id',
        'p.tenant_id',
        'p.name',
        'p.capabilities',
        'p.groups',
        'p.clearance',
        'p.role',
        'p.status',
      )
  );
}

function apiKeyCredential(row: ApiKeyJoinRow): PrincipalCredential {
  return {
    ...toPrincipal({ ...row, id: row.principal_id }),
    apiKeyHash: row.key_hash,
    keyId: row.key_id,
    key: {
      keyId: row.key_id,
      scopes: parseStringArray(row.scopes),
      ...(row.expires_at == null ? {} : { expiresAt: toIsoTimestamp(row.expires_at) }),
      ...(row.revoked_at == null ? {} : { revokedAt: toIsoTimestamp(row.revoked_at) }),
      ...featuresOf(row.features),
    },
  };
}

/**
 * The principal whose key has this key id: its own key (the `principals` row) or one made with `keys
 * create`. Scoped to `tenantId` when one is given, so a key never crosses tenants; key ids are unique
 * across tenants (a unique index), so without one the key decides the tenant.
 */
export async function findPrincipalByKeyId(
  db: Knex,
  tenantId: string | undefined,
  keyId: string,
): Promise<PrincipalCredential | undefined> {
  const row = (await db('principals')
    .where(tenantId === undefined ? { key_id: keyId } : { tenant_id: tenantId, key_id: keyId })
    .first()) as PrincipalRow | undefined;
  if (row !== undefined) return toCredential(row);
  const keyRow = (await apiKeys(db)
    .where(tenantId === undefined ? { 'k.key_id': keyId } : { 'k.tenant_id': tenantId, 'k.key_id': keyId })
    .first()) as ApiKeyJoinRow | undefined;
  return keyRow === undefined ? undefined : apiKeyCredential(keyRow);
}

/**
 * The principal holding this raw API key, in `tenantId` when one is given (the CLI names its tenant; the
 * HTTP front door lets the key decide). The stored hash must match too; the key id only finds the row.
 */
export async function findPrincipalByApiKey(
  db: Knex,
  rawKey: string,
  tenantId?: string,
): Promise<PrincipalCredential | undefined> {
  const apiKeyHash = hashApiKey(rawKey);
  const found = await findPrincipalByKeyId(db, tenantId, keyIdForKeyHash(apiKeyHash));
  return found?.apiKeyHash === apiKeyHash ? found : undefined;
}

/** A principal of the tenant by id, with its key hash. */
export async function findPrincipalCredential(
  db: Knex,
  tenantId: string,
  principalId: string,
): Promise<PrincipalCredential | undefined> {
  return firstRecord(
    db<PrincipalRow>('principals').where({ tenant_id: tenantId, id: principalId }),
    toCredential,
  );
}

export async function upsertPrincipal(db: Knex, input: UpsertPrincipalInput): Promise<Principal> {
  const row = {
    id: input.id,
    tenant_id: input.tenantId,
    name: input.name,
    api_key_hash: input.apiKeyHash,
    key_id: keyIdForKeyHash(input.apiKeyHash),
    capabilities: JSON.stringify(input.capabilities),
    groups: JSON.stringify(input.groups),
    clearance: input.clearance,
    role: input.role,
    status: input.status,
  };
  await db('principals')
    .insert({ ...row, created_at: nowIso() })
    .onConflict('id')
    .merge([
      'tenant_id',
      'name',
      'api_key_hash',
      'key_id',
      'capabilities',
      'groups',
      'clearance',
      'role',
      'status',
    ]);
  return toPrincipal(row);
}

function toCredential(row: PrincipalRow): PrincipalCredential {
  const keyId = row.key_id ?? keyIdForKeyHash(row.api_key_hash);
  return {
    ...toPrincipal(row),
    apiKeyHash: row.api_key_hash,
    keyId,
    key: { keyId, scopes: PRINCIPAL_KEY_SCOPES },
  };
}

function toPrincipal(row: Omit<PrincipalRow, 'api_key_hash' | 'key_id'>): Principal {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    capabilities: parseStringArray(row.capabilities),
    groups: parseStringArray(row.groups),
    clearance: row.clearance,
    role: row.role,
    status: row.status,
  };
}

// A malformed column must fail closed (no capabilities, no groups), never grant by accident.
function parseStringArray(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

/** Active principals of a tenant holding one of `roles` (e.g. the approvers of restricted work). */
export async function listPrincipalsByRole(
  db: Knex,
  tenantId: string,
  roles: PrincipalRole[],
): Promise<Principal[]> {
  const rows = (await db('principals')
    .where({ tenant_id: tenantId, status: 'active' })
    .whereIn('role', roles)
    .orderBy('id')) as PrincipalRow[];
  return rows.map(toPrincipal);
}
