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

/** The columns of an `api_keys` row a credential is made of. */
interface ApiKeyRow {
  tenant_id: string;
  principal_id: string;
  key_id: string;
  key_hash: string;
  scopes: string;
  expires_at: unknown;
  revoked_at: unknown;
  features: string | null;
}

/** A key made with `gatehouse keys create`, held by `principal`. */
function apiKeyCredential(principal: PrincipalRow, key: ApiKeyRow): PrincipalCredential {
  return {
    ...toPrincipal(principal),
    apiKeyHash: key.key_hash,
    keyId: key.key_id,
    key: {
      keyId: key.key_id,
      scopes: parseStringArray(key.scopes),
      ...(key.expires_at == null ? {} : { expiresAt: toIsoTimestamp(key.expires_at) }),
      ...(key.revoked_at == null ? {} : { revokedAt: toIsoTimestamp(key.revoked_at) }),
      ...featuresOf(key.features),
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
  const rows = await findCallerRows(db, tenantId, keyId);
  return rows && credentialOfRows(rows, keyId);
}

/**
 * The rows a key id finds, whole and as stored: the principal's, and the `api_keys` row of that key id when
 * there is one. `authorize` decides on exactly these rows and hashes exactly these against the audit chain.
 */
export interface CallerRows {
  principal: Readonly<Record<string, unknown>>;
  key?: Readonly<Record<string, unknown>>;
}

/**
 * The rows `findPrincipalByKeyId` decides from: a principal's own key first, else a key made with `keys
 * create` and its principal. The key's tenant must be its principal's: a row edited to pair them across
 * tenants finds nothing.
 */
export async function findCallerRows(
  db: Knex,
  tenantId: string | undefined,
  keyId: string,
): Promise<CallerRows | undefined> {
  const scoped = tenantId === undefined ? { key_id: keyId } : { tenant_id: tenantId, key_id: keyId };
  const [own, key] = (await Promise.all([
    db('principals').where(scoped).first(),
    db('api_keys').where(scoped).first(),
  ])) as [PrincipalRow | undefined, ApiKeyRow | undefined];
  if (own !== undefined) {
    return key === undefined || key.tenant_id !== own.tenant_id
      ? { principal: { ...own } }
      : { principal: { ...own }, key: { ...key } };
  }
  if (key === undefined) return undefined;
  const principal = (await db('principals')
    .where({ tenant_id: key.tenant_id, id: key.principal_id })
    .first()) as PrincipalRow | undefined;
  return principal === undefined ? undefined : { principal: { ...principal }, key: { ...key } };
}

/** The credential `findCallerRows`' rows stand for. */
export function credentialOfRows(rows: CallerRows, keyId: string): PrincipalCredential {
  const principal = rows.principal as unknown as PrincipalRow;
  // A principal's own key wins; an api_keys row beside it is only hashed.
  if (principal.key_id === keyId || rows.key === undefined) return toCredential(principal);
  return apiKeyCredential(principal, rows.key as unknown as ApiKeyRow);
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
