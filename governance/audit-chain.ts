import { createHash } from 'node:crypto';
import type { AuditEvent } from '../domain/audit-event';
import { canonicalJson } from './canonical-json';

/** The `prev_hash` of a tenant's first audit event: 64 zero hex digits, the length of a SHA-256. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an audit hash commits to; anything outside them can change without breaking the chain. */
export type AuditEventContent = Omit<AuditEvent, 'prevHash' | 'hash'>;

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

/** `sha256(prevHash || canonical)` as lowercase hex: each hash commits to the whole chain before it. */
export function hashEvent(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonical, 'utf8').digest('hex');
}
