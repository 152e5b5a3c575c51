import { randomBytes } from 'node:crypto';
import { KEY_SCOPES, keyEnded, type KeyScope } from '../domain/api-key-access';
import {
  createApiKey,
  findApiKey,
  retireRotatedKey,
  revokeApiKey,
  type ApiKeyRecord,
} from '../store/api-key-repository';
import type { AuditWriter } from '../store/audit-repository';
import { findPrincipalCredential } from '../store/principal-repository';
import { attestGovernanceChanges, type GovernanceChange } from './governance-attestation';

/** API key lifecycle: create, list, revoke, rotate. Every change is a `governance.changed` event. */

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

export interface IssuedKey {
  /** Shown once: only its hash is stored. */
  secret: string;
  record: ApiKeyRecord;
  changes: GovernanceChange[];
}

export async function createKey(
  writer: AuditWriter,
  input: { tenantId: string; principalId: string; scopes: string[]; expiresInMs?: number; author: string },
): Promise<IssuedKey> {
  const scopes = checkScopes(input.scopes);
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
  });
  const changes = await attestGovernanceChanges(writer, input.tenantId, input.author);
  return { secret, record, changes };
}

async function existingKey(writer: AuditWriter, tenantId: string, keyId: string): Promise<ApiKeyRecord> {
  const key = await findApiKey(writer.db, tenantId, keyId);
  if (!key) throw new ApiKeyError(`tenant '${tenantId}' has no key ${keyId} (see gatehouse keys list)`);
  return key;
}

export async function revokeKey(
  writer: AuditWriter,
  input: { tenantId: string; keyId: string; author: string },
): Promise<{ record: ApiKeyRecord; changes: GovernanceChange[] }> {
  const key = await existingKey(writer, input.tenantId, input.keyId);
  const record = await revokeApiKey(writer.db, key, new Date());
  const changes = await attestGovernanceChanges(writer, input.tenantId, input.author);
  return { record, changes };
}

/**
 * Issues a new secret with the old key's principal, scopes and lifetime, and ends the old key after
 * `graceMs` (0: revoked at once). A revoked key cannot be rotated: create a new one.
 */
export async function rotateKey(
  writer: AuditWriter,
  input: { tenantId: string; keyId: string; graceMs: number; author: string },
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
  });
  const retired = await retireRotatedKey(writer.db, old, {
    replacement: record.keyId,
    at: new Date(now),
    ...(input.graceMs > 0 ? { endsAt: new Date(now + input.graceMs) } : {}),
  });
  const changes = await attestGovernanceChanges(writer, input.tenantId, input.author);
  return { secret, record, old: retired, changes };
}
