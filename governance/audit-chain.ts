import { createHash, createHmac } from 'node:crypto';
import type { AuditEvent } from '../domain/audit-event';
import { canonicalJson } from './canonical-json';

/** The `prev_hash` of a tenant's first audit event: 64 zero hex digits, the length of a SHA-256. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * How a row's hash was made, stored per row so rows of every version verify. Version 1 (unkeyed
 * SHA-256) is what the first release wrote; anyone with the project's code can recompute it, so it is
 * never written again and a version-1 row after a keyed one is a forgery (docs/decisions/0016).
 */
export const AUDIT_HASH_VERSIONS = { unkeyedSha256: 1, hmacSha256: 2 } as const;

/** The secret the chain is keyed with; held outside the database (governance/audit-key-store.ts). */
export interface AuditChainKey {
  id: string;
  material: Buffer;
}

/** The fields an audit hash commits to; anything outside them can change without breaking the chain. */
export type AuditEventContent = Omit<AuditEvent, 'prevHash' | 'hash' | 'hashVersion' | 'hashKeyId'>;

/** Canonical form of one event: listing the fields explicitly keeps stray properties out of the hash. */
export function canonicalAuditEvent(event: AuditEventContent): string {
  return canonicalJson({
    tenantId: event.tenantId,
    seq: event.seq,
    workflowId: event.workflowId,
    executionId: event.runId,
    step: event.step,
    attempt: event.attempt,
    eventType: event.eventType,
    payload: event.payload,
    createdAt: event.createdAt,
  });
}

/** Version 1: `sha256(prevHash || canonical)` as lowercase hex. Verified, never written. */
export function hashEvent(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonical, 'utf8').digest('hex');
}

/**
 * Version 2: `HMAC-SHA-256(key, prevHash || canonical)` as lowercase hex. Each hash commits to the whole
 * chain before it, and without the key nobody can produce one, so an edited row cannot be re-hashed.
 */
export function keyedHashEvent(key: AuditChainKey, prevHash: string, canonical: string): string {
  return createHmac('sha256', key.material).update(prevHash, 'utf8').update(canonical, 'utf8').digest('hex');
}
