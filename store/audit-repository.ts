import type { Knex } from 'knex';
import { canonicalAuditEvent, GENESIS_HASH, hashEvent } from '../governance/audit-chain';
import { canonicalJson } from '../governance/canonical-json';
import { isPostgres, nowIso, toIsoTimestamp } from './knex-client';

export interface NewAuditEvent {
  tenantId: string;
  workflowId: string;
  executionId: string;
  step: string;
  attempt: number;
  eventType: string;
  /** Any JSON value; stored as canonical JSON and covered by the hash. */
  payload: unknown;
}

export interface AuditEvent extends NewAuditEvent {
  seq: number;
  prevHash: string;
  hash: string;
  createdAt: string;
}

export interface ListAuditEventsInput {
  tenantId: string;
  workflowId?: string;
}

export type AuditChainVerification =
  | { ok: true; checked: number; headSeq: number }
  | { ok: false; checked: number; firstBadSeq: number; reason: string };

interface AuditEventRow {
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
  created_at: unknown;
}

interface AuditHeadRow {
  tenant_id: string;
  seq: number;
  hash: string;
}

/**
 * Appends events to their tenants' hash chains and returns how many were new. Idempotent: an event
 * whose (workflow, execution, step, attempt) is already stored is skipped, so activity retries are
 * safe. Appends for a tenant are serialised by locking its `audit_heads` row.
 */
export async function appendAuditEvents(db: Knex, events: NewAuditEvent[]): Promise<number> {
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
      const seen = new Set<string>();
      for (const event of byTenant.get(tenantId) ?? []) {
        const key = JSON.stringify([event.workflowId, event.executionId, event.step, event.attempt]);
        if (seen.has(key)) continue;
        seen.add(key);
        const duplicate = await trx('audit_events')
          .where({
            workflow_id: event.workflowId,
            execution_id: event.executionId,
            step: event.step,
            attempt: event.attempt,
          })
          .first('seq');
        if (duplicate !== undefined) continue;

        const seq = head.seq + 1;
        const createdAt = nowIso();
        const payload = JSON.parse(payloads.get(event) as string) as unknown;
        const hash = hashEvent(head.hash, canonicalAuditEvent({ ...event, payload, seq, createdAt }));
        const inserted = await trx('audit_events')
          .insert({
            tenant_id: tenantId,
            seq,
            workflow_id: event.workflowId,
            execution_id: event.executionId,
            step: event.step,
            attempt: event.attempt,
            event_type: event.eventType,
            payload: payloads.get(event),
            prev_hash: head.hash,
            hash,
            created_at: createdAt,
          })
          // The same key under another tenant is not covered by this tenant's head lock.
          .onConflict(['workflow_id', 'execution_id', 'step', 'attempt'])
          .ignore()
          .returning('seq');
        if (inserted.length === 0) continue;
        head = { tenant_id: tenantId, seq, hash };
        appended += 1;
      }
      await trx('audit_heads').where({ tenant_id: tenantId }).update({ seq: head.seq, hash: head.hash });
    }
    return appended;
  });
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
  const query = db<AuditEventRow>('audit_events').where({ tenant_id: input.tenantId }).orderBy('seq');
  if (input.workflowId !== undefined) query.andWhere({ workflow_id: input.workflowId });
  return ((await query) as AuditEventRow[]).map(toAuditEvent);
}

/**
 * Re-walks a tenant's chain from genesis. Reports the first sequence number at which the stored rows
 * stop being the chain that was appended: an edited row (hash mismatch), a deleted row (gap), rows
 * reordered or inserted (prev_hash or hash mismatch), or a head that disagrees with the last row.
 */
export async function verifyAuditChain(db: Knex, tenantId: string): Promise<AuditChainVerification> {
  const rows = (await db<AuditEventRow>('audit_events')
    .where({ tenant_id: tenantId })
    .orderBy('seq')) as AuditEventRow[];
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  for (const row of rows) {
    const failure = checkRow(row, expectedSeq, prevHash);
    if (failure !== undefined) return { ok: false, checked, ...failure };
    checked += 1;
    prevHash = row.hash;
    expectedSeq += 1;
  }
  const lastSeq = expectedSeq - 1;
  const head = (await db<AuditHeadRow>('audit_heads').where({ tenant_id: tenantId }).first()) as
    AuditHeadRow | undefined;
  const headSeq = head === undefined ? 0 : Number(head.seq);
  const headHash = head === undefined ? GENESIS_HASH : head.hash;
  if (headSeq !== lastSeq) {
    return {
      ok: false,
      checked,
      firstBadSeq: Math.min(headSeq, lastSeq) + 1,
      reason:
        headSeq > lastSeq
          ? `head is at seq ${headSeq} but the last stored event is seq ${lastSeq}: events were removed`
          : `events past the head (seq ${headSeq}) were added without going through the chain`,
    };
  }
  if (headHash !== prevHash) {
    return {
      ok: false,
      checked,
      firstBadSeq: Math.max(lastSeq, 1),
      reason: 'head hash does not match the last event',
    };
  }
  return { ok: true, checked, headSeq };
}

function checkRow(
  row: AuditEventRow,
  expectedSeq: number,
  prevHash: string,
): { firstBadSeq: number; reason: string } | undefined {
  const seq = Number(row.seq);
  if (seq !== expectedSeq) {
    return { firstBadSeq: expectedSeq, reason: `seq ${expectedSeq} is missing (next stored seq is ${seq})` };
  }
  if (row.prev_hash !== prevHash) {
    return {
      firstBadSeq: seq,
      reason: `prev_hash of seq ${seq} does not match the hash of the event before it`,
    };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(row.payload);
  } catch {
    return { firstBadSeq: seq, reason: `payload of seq ${seq} is not valid JSON` };
  }
  const event = toAuditEvent(row);
  if (
    canonicalJson(payload) !== row.payload ||
    hashEvent(prevHash, canonicalAuditEvent(event)) !== row.hash
  ) {
    return {
      firstBadSeq: seq,
      reason: `hash of seq ${seq} does not match its content: the event was altered`,
    };
  }
  return undefined;
}

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    tenantId: row.tenant_id,
    seq: Number(row.seq),
    workflowId: row.workflow_id,
    executionId: row.execution_id,
    step: row.step,
    attempt: Number(row.attempt),
    eventType: row.event_type,
    payload: JSON.parse(row.payload) as unknown,
    prevHash: row.prev_hash,
    hash: row.hash,
    createdAt: toIsoTimestamp(row.created_at),
  };
}
