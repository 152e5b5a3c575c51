import type { Knex } from 'knex';
import { keyStatus } from '../domain/api-key-access';
import { hashApiKey, keyIdForKeyHash } from '../governance/caller-proof';
import { firstRecord, nowIso, toIsoTimestamp } from './knex-client';

export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  principalId: string;
  scopes: string[];
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  /** The key that replaced this one when it was rotated. */
  replacedBy?: string;
  /** The features its requests are charged to (docs/decisions/0029); absent: unbound. */
  features?: string[];
}

interface ApiKeyRow {
  key_id: string;
  tenant_id: string;
  principal_id: string;
  key_hash: string;
  scopes: string;
  expires_at: unknown;
  revoked_at: unknown;
  replaced_by: string | null;
  created_at: unknown;
  /** JSON array of features; NULL for an unbound key. */
  features: string | null;
}

function stringsOf(json: string): string[] {
  const values: unknown = JSON.parse(json);
  return Array.isArray(values) ? values.filter((value): value is string => typeof value === 'string') : [];
}

/** A key's feature binding as stored: absent when it has none, so an unbound key reads as before. */
export function featuresOf(json: string | null | undefined): { features?: string[] } {
  const features = json == null ? [] : stringsOf(json);
  return features.length === 0 ? {} : { features };
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    tenantId: row.tenant_id,
    principalId: row.principal_id,
    scopes: stringsOf(row.scopes),
    createdAt: toIsoTimestamp(row.created_at),
    ...(row.expires_at == null ? {} : { expiresAt: toIsoTimestamp(row.expires_at) }),
    ...(row.revoked_at == null ? {} : { revokedAt: toIsoTimestamp(row.revoked_at) }),
    ...(row.replaced_by === null ? {} : { replacedBy: row.replaced_by }),
    ...featuresOf(row.features),
  };
}

/** Stores a new key for a principal (only its hash) and returns its record. */
export async function createApiKey(
  db: Knex,
  input: {
    tenantId: string;
    principalId: string;
    rawKey: string;
    scopes: string[];
    expiresAt?: Date;
    features?: readonly string[];
  },
): Promise<ApiKeyRecord> {
  const keyHash = hashApiKey(input.rawKey);
  const row: ApiKeyRow = {
    key_id: keyIdForKeyHash(keyHash),
    tenant_id: input.tenantId,
    principal_id: input.principalId,
    key_hash: keyHash,
    scopes: JSON.stringify(input.scopes),
    expires_at: input.expiresAt?.toISOString() ?? null,
    revoked_at: null,
    replaced_by: null,
    created_at: nowIso(),
    // An unbound key keeps NULL, so its attested content hash is the one it had before bindings existed.
    features:
      input.features === undefined || input.features.length === 0 ? null : JSON.stringify(input.features),
  };
  await db('api_keys').insert(row);
  return toRecord(row);
}

/** The tenant's keys (optionally one principal's), oldest first. Hashes are never returned. */
export async function listApiKeys(db: Knex, tenantId: string, principalId?: string): Promise<ApiKeyRecord[]> {
  const query = db<ApiKeyRow>('api_keys')
    .where({ tenant_id: tenantId })
    .orderBy([{ column: 'created_at' }, { column: 'key_id' }]);
  if (principalId !== undefined) query.andWhere({ principal_id: principalId });
  return ((await query) as ApiKeyRow[]).map(toRecord);
}

/** One key as stored (for hashing against the audit chain) and as read. Hashes stay in `row` only. */
export interface StoredApiKey {
  row: Readonly<Record<string, unknown>>;
  record: ApiKeyRecord;
}

/** Every key of the tenant, revoked and expired ones too: the set whose bindings decide a feature's keys. */
export async function readTenantKeys(db: Knex, tenantId: string): Promise<StoredApiKey[]> {
  const rows = (await db<ApiKeyRow>('api_keys').where({ tenant_id: tenantId })) as ApiKeyRow[];
  return rows.map((row) => ({ row: row as unknown as Record<string, unknown>, record: toRecord(row) }));
}

/**
 * The features that a key working at `atMs` (not revoked, not expired) is bound to: those the tenant
 * charges only through keys bound to them (docs/decisions/0029).
 */
export function featuresOfWorkingKeys(keys: readonly ApiKeyRecord[], atMs: number): string[] {
  const features = keys
    .filter((key) => keyStatus(key, atMs) === 'active')
    .flatMap((key) => key.features ?? []);
  return [...new Set(features)].sort();
}

export async function findApiKey(
  db: Knex,
  tenantId: string,
  keyId: string,
): Promise<ApiKeyRecord | undefined> {
  return firstRecord(db<ApiKeyRow>('api_keys').where({ tenant_id: tenantId, key_id: keyId }), toRecord);
}

/**
 * Revokes the key from `at` on and returns it as stored; a key already revoked keeps its first
 * revocation time.
 */
export async function revokeApiKey(db: Knex, key: ApiKeyRecord, at: Date): Promise<ApiKeyRecord> {
  if (key.revokedAt !== undefined) return key;
  const updated = await db('api_keys')
    .where({ tenant_id: key.tenantId, key_id: key.keyId })
    .whereNull('revoked_at')
    .update({ revoked_at: at.toISOString() });
  // Revoked meanwhile by someone else: theirs is the first revocation time.
  if (updated === 0) return (await findApiKey(db, key.tenantId, key.keyId)) ?? key;
  return { ...key, revokedAt: at.toISOString() };
}

/**
 * Marks `key` as replaced by `replacement` and ends it at `endsAt` (its grace period), or revokes it at
 * `at` when there is no grace. An earlier expiry is kept. Returns the key as stored.
 */
export async function retireRotatedKey(
  db: Knex,
  key: ApiKeyRecord,
  input: { replacement: string; at: Date; endsAt?: Date },
): Promise<ApiKeyRecord> {
  const ends: { revokedAt?: string; expiresAt?: string } =
    input.endsAt === undefined
      ? { revokedAt: input.at.toISOString() }
      : key.expiresAt === undefined || Date.parse(key.expiresAt) > input.endsAt.getTime()
        ? { expiresAt: input.endsAt.toISOString() }
        : {};
  await db('api_keys')
    .where({ tenant_id: key.tenantId, key_id: key.keyId })
    .update({
      replaced_by: input.replacement,
      ...(ends.revokedAt === undefined ? {} : { revoked_at: ends.revokedAt }),
      ...(ends.expiresAt === undefined ? {} : { expires_at: ends.expiresAt }),
    });
  return { ...key, ...ends, replacedBy: input.replacement };
}
