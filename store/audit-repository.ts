import type { Knex } from 'knex';
import {
  AUDIT_EVENT_TYPES,
  AUDIT_SLOTS,
  TERMINAL_AUDIT_EVENT_TYPES,
  type AuditEvent,
  type AuditEventDraft,
} from '../domain/audit-event';
import {
  AUDIT_HASH_VERSIONS,
  canonicalAuditEvent,
  GENESIS_HASH,
  keyedHashEvent,
  type AuditChainKey,
} from '../governance/audit-chain';
import { canonicalJson } from '../governance/canonical-json';
import {
  verifyAuditEvents,
  type AuditAnchor,
  type AuditChainVerification,
} from '../governance/verify-audit-chain';
import { firstRecord, isPostgres, nowIso, toIsoTimestamp } from './knex-client';

/**
 * What callers append; the domain's contract (domain/audit-event.ts). `ifAbsent` marks an event that
 * describes another run's work (a step a Reset copied, what the reconciler found): the first description
 * stored stands, and a later one is not compared with it. Without it, a different event under the same
 * key is a conflict.
 */
export type NewAuditEvent = AuditEventDraft & { ifAbsent?: boolean };
export type { AuditEvent };

export interface ListAuditEventsInput {
  tenantId: string;
  workflowId?: string;
  /** Only events recorded at or after this instant. */
  since?: Date;
}

export type { AuditAnchor, AuditChainVerification };

/** What writing to the audit trail takes: the store and the chain key held outside it. */
export interface AuditWriter {
  db: Knex;
  chainKey: AuditChainKey;
}

/** An `audit_events` row as stored. */
export interface StoredAuditRow {
  tenant_id: string;
  seq: number;
  workflow_id: string;
  execution_id: string;
  step: string;
  attempt: number;
  event_type: string;
  payload: string;
  prev_hash: string;
  hash: string;
  hash_version: number;
  hash_key_id: string | null;
  created_at: unknown;
}

interface AuditHeadRow {
  tenant_id: string;
  seq: number;
  hash: string;
}

/** An event that disagrees with the one already stored under its key: never silently ignored. */
export class AuditConflictError extends Error {
  override readonly name = 'AuditConflictError';
}

/**
 * Appends events to their tenants' chains, each hashed with HMAC-SHA-256 under `chainKey`, and returns
 * how many were new. An event whose
 * (workflow, run, step, attempt) is already stored with the same type and payload is skipped, so
 * activity retries and a Reset's copied steps are safe; one stored with different content throws
 * `AuditConflictError`. Appends for a tenant are serialised by locking its `audit_heads` row.
 */
export async function appendAuditEvents(
  db: Knex,
  chainKey: AuditChainKey,
  events: NewAuditEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const byTenant = new Map<string, NewAuditEvent[]>();
  for (const event of events) {
    const list = byTenant.get(event.tenantId) ?? [];
    list.push(event);
    byTenant.set(event.tenantId, list);
  }
  // Canonicalise before opening the transaction so a bad payload fails without holding locks.
  const payloads = new Map(events.map((event) => [event, canonicalJson(event.payload)]));

  return db.transaction(async (trx) => {
    let appended = 0;
    // A fixed lock order keeps two multi-tenant batches from deadlocking each other.
    for (const tenantId of [...byTenant.keys()].sort()) {
      let head = await lockHead(trx, tenantId);
      const seen = new Map<string, string>();
      for (const event of byTenant.get(tenantId) ?? []) {
        const key = JSON.stringify([event.workflowId, event.runId, event.step, event.attempt]);
        const content = `${event.eventType}\u0000${payloads.get(event) as string}`;
        const earlier = seen.get(key);
        if (earlier !== undefined) {
          if (earlier !== content && !event.ifAbsent) {
            throw new AuditConflictError(`two different events in one append share the key ${key}`);
          }
          continue;
        }
        seen.set(key, content);
        const stored = (await trx('audit_events')
          .where({
            workflow_id: event.workflowId,
            execution_id: event.runId,
            step: event.step,
            attempt: event.attempt,
          })
          .first('tenant_id', 'seq', 'event_type', 'payload')) as
          Pick<StoredAuditRow, 'tenant_id' | 'seq' | 'event_type' | 'payload'> | undefined;
        if (stored !== undefined) {
          if (!event.ifAbsent) assertSameEvent(stored, event, payloads.get(event) as string);
          continue;
        }

        const seq = head.seq + 1;
        const createdAt = nowIso();
        const payload = JSON.parse(payloads.get(event) as string) as unknown;
        const hash = keyedHashEvent(
          chainKey,
          head.hash,
          canonicalAuditEvent({ ...event, payload, seq, createdAt }),
        );
        const inserted = await trx('audit_events')
          .insert({
            tenant_id: tenantId,
            seq,
            workflow_id: event.workflowId,
            execution_id: event.runId,
            step: event.step,
            attempt: event.attempt,
            event_type: event.eventType,
            payload: payloads.get(event),
            prev_hash: head.hash,
            hash,
            hash_version: AUDIT_HASH_VERSIONS.hmacSha256,
            hash_key_id: chainKey.id,
            created_at: createdAt,
          })
          // The same key under another tenant is not covered by this tenant's head lock.
          .onConflict(['workflow_id', 'execution_id', 'step', 'attempt'])
          .ignore()
          .returning('seq');
        if (inserted.length === 0) {
          throw new AuditConflictError(
            `audit key ${key} is already taken by another tenant's event; refusing to record it twice`,
          );
        }
        head = { tenant_id: tenantId, seq, hash };
        appended += 1;
      }
      await trx('audit_heads').where({ tenant_id: tenantId }).update({ seq: head.seq, hash: head.hash });
    }
    return appended;
  });
}

function assertSameEvent(
  stored: Pick<StoredAuditRow, 'tenant_id' | 'seq' | 'event_type' | 'payload'>,
  event: NewAuditEvent,
  canonicalPayload: string,
): void {
  const differing = [
    stored.tenant_id === event.tenantId ? undefined : 'tenant',
    stored.event_type === event.eventType ? undefined : 'event type',
    stored.payload === canonicalPayload ? undefined : 'payload',
  ].filter((field): field is string => field !== undefined);
  if (differing.length > 0) {
    throw new AuditConflictError(
      `audit event ${event.workflowId} run ${event.runId} ${event.step}#${event.attempt} is already recorded as seq ${Number(stored.seq)} with a different ${differing.join(', ')}`,
    );
  }
}

async function lockHead(trx: Knex.Transaction, tenantId: string): Promise<AuditHeadRow> {
  // Insert-if-missing first: on SQLite that write takes the database write lock at once, on
  // PostgreSQL it guarantees there is a row for FOR UPDATE to lock.
  await trx('audit_heads')
    .insert({ tenant_id: tenantId, seq: 0, hash: GENESIS_HASH })
    .onConflict('tenant_id')
    .ignore();
  const query = trx<AuditHeadRow>('audit_heads').where({ tenant_id: tenantId });
  const head = (await (isPostgres(trx) ? query.forUpdate() : query).first()) as AuditHeadRow | undefined;
  if (head === undefined) throw new Error(`audit head for tenant ${tenantId} is missing after insert`);
  return { tenant_id: head.tenant_id, seq: Number(head.seq), hash: head.hash };
}

export async function listAuditEvents(db: Knex, input: ListAuditEventsInput): Promise<AuditEvent[]> {
  const query = db<StoredAuditRow>('audit_events').where({ tenant_id: input.tenantId }).orderBy('seq');
  if (input.workflowId !== undefined) query.andWhere({ workflow_id: input.workflowId });
  if (input.since !== undefined) {
    query.andWhere('created_at', '>=', isPostgres(db) ? input.since : input.since.toISOString());
  }
  return ((await query) as StoredAuditRow[]).map(toAuditEvent);
}

/** The run's terminal event, if its record (or the reconciler) already closed it. */
export async function findTerminalEvent(
  db: Knex,
  tenantId: string,
  workflowId: string,
  runId: string,
): Promise<AuditEvent | undefined> {
  return firstRecord(
    db<StoredAuditRow>('audit_events')
      .where({ tenant_id: tenantId, workflow_id: workflowId, execution_id: runId })
      .whereIn('event_type', [...TERMINAL_AUDIT_EVENT_TYPES])
      .orderBy('seq'),
    toAuditEvent,
  );
}

/** The execution chains (run id on their start event) under which a request already succeeded. */
export async function findSucceededChains(db: Knex, tenantId: string, workflowId: string): Promise<string[]> {
  const rows = (await db<StoredAuditRow>('audit_events')
    .where({ tenant_id: tenantId, workflow_id: workflowId, event_type: AUDIT_EVENT_TYPES.requestSucceeded })
    .select('payload')) as Array<Pick<StoredAuditRow, 'payload'>>;
  return rows
    .map((row) => (JSON.parse(row.payload) as { chainId?: unknown }).chainId)
    .filter((chainId): chainId is string => typeof chainId === 'string');
}

/**
 * Records an operator's action on a run (retry, cancel, terminate) under the next free `operator` slot of
 * that run, so several actions on one run each keep their own event.
 */
export async function appendOperatorEvent(
  db: Knex,
  chainKey: AuditChainKey,
  event: Omit<AuditEventDraft, 'step' | 'attempt'>,
): Promise<void> {
  for (let tries = 1; ; tries++) {
    const row = (await db('audit_events')
      .where({ workflow_id: event.workflowId, execution_id: event.runId, step: AUDIT_SLOTS.operator.step })
      .max({ attempt: 'attempt' })
      .first()) as { attempt: number | string | null } | undefined;
    const attempt = Number(row?.attempt ?? 0) + 1;
    try {
      await appendAuditEvents(db, chainKey, [{ ...event, step: AUDIT_SLOTS.operator.step, attempt }]);
      return;
    } catch (error) {
      // Two operators at once took the same slot; the loser takes the next one.
      if (!(error instanceof AuditConflictError) || tries >= 5) throw error;
    }
  }
}

/** Whether a tenant has any audit history at all (verifying an unknown tenant is an error, not "0 events"). */
export async function hasAuditHistory(db: Knex, tenantId: string): Promise<boolean> {
  const head = await db('audit_heads').where({ tenant_id: tenantId }).first('seq');
  return head !== undefined;
}

/** Each tenant's chain head (what checkpoints sign), tenants in order. */
export async function listAuditHeads(
  db: Knex,
): Promise<Array<{ tenantId: string; seq: number; hash: string }>> {
  const rows = (await db<AuditHeadRow>('audit_heads').orderBy('tenant_id')) as AuditHeadRow[];
  return rows.map((row) => ({ tenantId: row.tenant_id, seq: Number(row.seq), hash: row.hash }));
}

/** A tenant's chain head; genesis when it has none. */
export async function readAuditHead(db: Knex, tenantId: string): Promise<{ seq: number; hash: string }> {
  const head = (await db<AuditHeadRow>('audit_heads').where({ tenant_id: tenantId }).first()) as
    AuditHeadRow | undefined;
  return head === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(head.seq), hash: head.hash };
}

/**
 * Re-walks a tenant's stored chain with the audit keys and checks it against the head row and every
 * anchor (signed checkpoints, heads witnessed by request histories): governance/verify-audit-chain.ts.
 */
export async function verifyAuditChain(
  db: Knex,
  tenantId: string,
  options: { chainKeyById: (id: string) => AuditChainKey | undefined; anchors?: readonly AuditAnchor[] },
): Promise<AuditChainVerification> {
  const rows = (await db<StoredAuditRow>('audit_events')
    .where({ tenant_id: tenantId })
    .orderBy('seq')) as StoredAuditRow[];
  const events = [];
  for (const row of rows) {
    try {
      events.push({ ...toAuditEvent(row), payloadText: row.payload });
    } catch {
      // Everything before it still verifies; the walk stops at the unreadable row.
      events.push({ ...toAuditEvent({ ...row, payload: 'null' }), payloadText: row.payload, hash: '' });
    }
  }
  const head = (await db<AuditHeadRow>('audit_heads').where({ tenant_id: tenantId }).first()) as
    AuditHeadRow | undefined;
  const retention = (await db('audit_retention').where({ tenant_id: tenantId }).first()) as
    { pruned_through_seq: number; pruned_through_hash: string } | undefined;
  return verifyAuditEvents({
    events,
    start:
      retention === undefined
        ? undefined
        : { seq: Number(retention.pruned_through_seq), hash: retention.pruned_through_hash },
    head: head === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(head.seq), hash: head.hash },
    chainKeyById: options.chainKeyById,
    anchors: options.anchors,
  });
}

/** A stored row as the domain's event (the payload parsed: throws on text that is not JSON). */
export function toAuditEvent(row: StoredAuditRow): AuditEvent {
  return {
    tenantId: row.tenant_id,
    seq: Number(row.seq),
    workflowId: row.workflow_id,
    runId: row.execution_id,
    step: row.step,
    attempt: Number(row.attempt),
    eventType: row.event_type,
    payload: JSON.parse(row.payload) as unknown,
    prevHash: row.prev_hash,
    hash: row.hash,
    hashVersion: Number(row.hash_version),
    hashKeyId: row.hash_key_id ?? null,
    createdAt: toIsoTimestamp(row.created_at),
  };
}
