import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import {
  GOVERNANCE_SCOPES,
  KEY_SCOPES,
  keyEnded,
  keyStatus,
  type GovernanceScope,
  type KeyScope,
} from '../domain/api-key-access';
import { featureSchema } from '../domain/request-contract';
import {
  createApiKey,
  findApiKey,
  listApiKeys,
  retireRotatedKey,
  revokeApiKey,
  type ApiKeyRecord,
} from '../store/api-key-repository';
import type { AuditWriter } from '../store/audit-repository';
import { serializeOn } from '../store/knex-client';
import { findPrincipalByApiKey, findPrincipalCredential } from '../store/principal-repository';
import {
  attestGovernanceChanges,
  type GovernanceActor,
  type GovernanceChange,
} from './governance-attestation';

/**
 * API key lifecycle: create, list, revoke, rotate, and the governance key check every governance
 * command passes first. Every change is a `governance.changed` event whose author is the principal of
 * the key that made it.
 */

export type { GovernanceActor } from './governance-attestation';

export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

/** What rotation leaves the old key by default: long enough to roll the new secret out everywhere. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 3_600_000;

function newSecret(): string {
  return `ghk_${randomBytes(32).toString('base64url')}`;
}

function checkScopes(scopes: string[]): KeyScope[] {
  const unknown = scopes.filter((scope) => !(KEY_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0 || scopes.length === 0) {
    throw new ApiKeyError(
      `scopes must be one or more of ${KEY_SCOPES.join(', ')}${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''}`,
    );
  }
  return [...new Set(scopes)] as KeyScope[];
}

/**
 * A key's feature binding, checked: feature names as requests name them, each once. Only a key that makes
 * requests has anything to charge, so a binding on any other key is refused rather than ignored.
 */
function checkFeatures(features: readonly string[], scopes: readonly KeyScope[]): string[] | undefined {
  if (features.length === 0) return undefined;
  const invalid = features.filter((feature) => !featureSchema.safeParse(feature).success);
  if (invalid.length > 0) {
    throw new ApiKeyError(
      `features are 1-63 lower-case letters, digits, dots, dashes or underscores (invalid: ${invalid.join(', ')})`,
    );
  }
  if (!scopes.includes('requests')) {
    throw new ApiKeyError(
      `a feature binding limits what requests charge; give the key the 'requests' scope or no --feature`,
    );
  }
  return [...new Set(features)];
}

export interface IssuedKey {
  /** Shown once: only its hash is stored. */
  secret: string;
  record: ApiKeyRecord;
  changes: GovernanceChange[];
}

export async function createKey(
  writer: AuditWriter,
  input: {
    tenantId: string;
    principalId: string;
    scopes: string[];
    expiresInMs?: number;
    /** The features its requests are charged to (docs/decisions/0029); none: unbound. */
    features?: readonly string[];
    actor: GovernanceActor;
  },
): Promise<IssuedKey> {
  const scopes = checkScopes(input.scopes);
  const features = checkFeatures(input.features ?? [], scopes);
  const principal = await findPrincipalCredential(writer.db, input.tenantId, input.principalId);
  if (!principal) {
    throw new ApiKeyError(`tenant '${input.tenantId}' has no principal '${input.principalId}'`);
  }
  const secret = newSecret();
  const record = await createApiKey(writer.db, {
    tenantId: input.tenantId,
    principalId: input.principalId,
    rawKey: secret,
    scopes,
    ...(input.expiresInMs === undefined ? {} : { expiresAt: new Date(Date.now() + input.expiresInMs) }),
    ...(features === undefined ? {} : { features }),
  });
  const changes = await attestGovernanceChanges(writer, input.tenantId, input.actor);
  return { secret, record, changes };
}

/** What a tenant's first governance key can do: everything governance, nothing else. */
export const BOOTSTRAP_SCOPES: readonly KeyScope[] = GOVERNANCE_SCOPES;

/** The tenant's keys that were ever given `governance:write`, revoked and expired ones included. */
export async function governanceKeysOf(db: Knex, tenantId: string): Promise<ApiKeyRecord[]> {
  return (await listApiKeys(db, tenantId)).filter((key) => key.scopes.includes('governance:write'));
}

/** The tenant's `governance:write` keys that work at `atMs`: not revoked, not expired, principal active. */
async function workingGovernanceKeys(db: Knex, tenantId: string, atMs: number): Promise<ApiKeyRecord[]> {
  const working: ApiKeyRecord[] = [];
  for (const key of await governanceKeysOf(db, tenantId)) {
    if (keyStatus(key, atMs) !== 'active') continue;
    const holder = await findPrincipalCredential(db, tenantId, key.principalId);
    if (holder?.status === 'active') working.push(key);
  }
  return working;
}

/**
 * Issues the tenant's first governance key (`governance:read` and `governance:write`) to `principalId`
 * without asking for one: a tenant that has never had a governance key has no one who could present
 * it. Refused once any key of the tenant has ever held `governance:write` (a revoked or expired one
 * too, so revoking every key does not reopen the bootstrap). The audit event marks it as a bootstrap,
 * with the new key as its author's key.
 */
export async function bootstrapGovernanceKey(
  writer: AuditWriter,
  input: { tenantId: string; principalId: string; note?: string },
): Promise<IssuedKey> {
  const principal = await findPrincipalCredential(writer.db, input.tenantId, input.principalId);
  if (!principal) {
    throw new ApiKeyError(`tenant '${input.tenantId}' has no principal '${input.principalId}'`);
  }
  if (principal.status !== 'active') {
    throw new ApiKeyError(`principal '${input.principalId}' of '${input.tenantId}' is ${principal.status}`);
  }
  const secret = newSecret();
  // One bootstrap per tenant even when two run at once: the check and the insert hold the same lock.
  const record = await writer.db.transaction(async (trx) => {
    await serializeOn(trx, 'api_keys', `governance-bootstrap:${input.tenantId}`);
    const existing = await governanceKeysOf(trx, input.tenantId);
    if (existing.length > 0) {
      throw new ApiKeyError(
        `tenant '${input.tenantId}' already has governance key(s) (${existing.map((key) => key.keyId).join(', ')}); ` +
          '--bootstrap only issues the first one. Create further keys with an existing key that has ' +
          `governance:write: gatehouse keys create --tenant ${input.tenantId} --principal <id> --scopes <list> ` +
          '--api-key <key> (or set GATEHOUSE_API_KEY)',
      );
    }
    return createApiKey(trx, {
      tenantId: input.tenantId,
      principalId: input.principalId,
      rawKey: secret,
      scopes: [...BOOTSTRAP_SCOPES],
    });
  });
  const changes = await attestGovernanceChanges(writer, input.tenantId, {
    principalId: input.principalId,
    keyId: record.keyId,
    bootstrap: true,
    ...(input.note === undefined ? {} : { note: input.note }),
  });
  return { secret, record, changes };
}

/** Why a governance key was refused; the CLI prints the message, tests and callers branch on `reason`. */
export type GovernanceRefusalReason =
  | 'missing-key'
  | 'unknown-key'
  | 'other-tenant'
  | 'principal-disabled'
  | 'revoked'
  | 'expired'
  | 'missing-scope';

export class GovernanceAccessError extends Error {
  override readonly name = 'GovernanceAccessError';
  constructor(
    message: string,
    readonly reason: GovernanceRefusalReason,
  ) {
    super(message);
  }
}

/**
 * The actor a raw API key stands for when it asks for `scope` on `tenantId` at `atMs`: a key of that
 * tenant, not revoked, not expired, of an active principal, holding the scope. Anything else is a
 * `GovernanceAccessError` saying which of these failed.
 */
export async function authenticateGovernanceKey(
  db: Knex,
  input: { tenantId: string; rawKey: string | undefined; scope: GovernanceScope; atMs: number },
): Promise<GovernanceActor> {
  const { tenantId, scope } = input;
  if (input.rawKey === undefined || input.rawKey.trim() === '') {
    throw new GovernanceAccessError(
      `this command needs an API key of tenant '${tenantId}' with scope '${scope}': pass --api-key or set ` +
        `GATEHOUSE_API_KEY (a tenant that has never had a governance key: gatehouse keys create --bootstrap)`,
      'missing-key',
    );
  }
  // Looked up across tenants so that a key of another tenant is named as such, then refused.
  const holder = await findPrincipalByApiKey(db, input.rawKey);
  if (!holder) {
    throw new GovernanceAccessError(
      'the API key is unknown: no tenant has a key with this secret',
      'unknown-key',
    );
  }
  if (holder.tenantId !== tenantId) {
    throw new GovernanceAccessError(
      `the API key belongs to another tenant and is not valid for tenant '${tenantId}'`,
      'other-tenant',
    );
  }
  if (holder.status !== 'active') {
    throw new GovernanceAccessError(
      `principal '${holder.id}' of '${tenantId}' is ${holder.status}; its keys are refused`,
      'principal-disabled',
    );
  }
  const status = keyStatus(holder.key, input.atMs);
  if (status !== 'active') {
    throw new GovernanceAccessError(
      keyEnded(holder.key, input.atMs) ?? `key ${holder.keyId} is ${status}`,
      status,
    );
  }
  if (!holder.key.scopes.includes(scope)) {
    throw new GovernanceAccessError(
      `key ${holder.keyId} of principal '${holder.id}' lacks scope '${scope}' (it has: ${holder.key.scopes.join(', ') || 'none'}); ` +
        `a principal's own key never has governance scopes: use a key made with gatehouse keys create --scopes ${scope}`,
      'missing-scope',
    );
  }
  return { principalId: holder.id, keyId: holder.keyId };
}

async function existingKey(writer: AuditWriter, tenantId: string, keyId: string): Promise<ApiKeyRecord> {
  const key = await findApiKey(writer.db, tenantId, keyId);
  if (!key) throw new ApiKeyError(`tenant '${tenantId}' has no key ${keyId} (see gatehouse keys list)`);
  return key;
}

/**
 * Revokes a key now. The tenant's last working `governance:write` key is not revoked: nothing could
 * change the tenant's governance afterwards (rotate it with `--grace 0` to replace a leaked one).
 */
export async function revokeKey(
  writer: AuditWriter,
  input: { tenantId: string; keyId: string; actor: GovernanceActor },
): Promise<{ record: ApiKeyRecord; changes: GovernanceChange[] }> {
  const key = await existingKey(writer, input.tenantId, input.keyId);
  const now = Date.now();
  if (key.scopes.includes('governance:write') && keyStatus(key, now) === 'active') {
    const others = (await workingGovernanceKeys(writer.db, input.tenantId, now)).filter(
      (other) => other.keyId !== key.keyId,
    );
    if (others.length === 0) {
      throw new ApiKeyError(
        `key ${key.keyId} is the last working governance:write key of '${input.tenantId}'; revoking it would ` +
          'leave no one able to change the tenant. Create another governance key first, or rotate this one ' +
          'with --grace 0 to replace its secret',
      );
    }
  }
  const record = await revokeApiKey(writer.db, key, new Date(now));
  const changes = await attestGovernanceChanges(writer, input.tenantId, input.actor);
  return { record, changes };
}

/**
 * Issues a new secret with the old key's principal, scopes, feature binding and lifetime, and ends the old key after
 * `graceMs` (0: revoked at once). A revoked key cannot be rotated: create a new one.
 */
export async function rotateKey(
  writer: AuditWriter,
  input: { tenantId: string; keyId: string; graceMs: number; actor: GovernanceActor },
): Promise<IssuedKey & { old: ApiKeyRecord }> {
  const old = await existingKey(writer, input.tenantId, input.keyId);
  const now = Date.now();
  // A key rotated with a grace period points at its replacement; one revoked outright says so below.
  if (old.replacedBy !== undefined && old.revokedAt === undefined) {
    throw new ApiKeyError(`key ${old.keyId} was already rotated; rotate its replacement ${old.replacedBy}`);
  }
  const ended = keyEnded(old, now);
  if (ended !== undefined) throw new ApiKeyError(ended);
  const lifetime =
    old.expiresAt === undefined ? undefined : Date.parse(old.expiresAt) - Date.parse(old.createdAt);
  const secret = newSecret();
  const record = await createApiKey(writer.db, {
    tenantId: input.tenantId,
    principalId: old.principalId,
    rawKey: secret,
    scopes: old.scopes,
    ...(lifetime === undefined ? {} : { expiresAt: new Date(now + lifetime) }),
    ...(old.features === undefined ? {} : { features: old.features }),
  });
  const retired = await retireRotatedKey(writer.db, old, {
    replacement: record.keyId,
    at: new Date(now),
    ...(input.graceMs > 0 ? { endsAt: new Date(now + input.graceMs) } : {}),
  });
  const changes = await attestGovernanceChanges(writer, input.tenantId, input.actor);
  return { secret, record, old: retired, changes };
}
