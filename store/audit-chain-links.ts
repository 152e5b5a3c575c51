import type { Knex } from 'knex';
import { toAuditEvent, type AuditEvent, type StoredAuditRow } from './audit-repository';

/** The hashes of a tenant's events `fromSeq`…`toSeq`, without their content (evidence bundles' proofs). */
export async function listAuditChainLinks(
  db: Knex,
  tenantId: string,
  range: { fromSeq: number; toSeq: number },
): Promise<
  Array<{ seq: number; prevHash: string; hash: string; hashVersion: number; hashKeyId: string | null }>
> {
  const rows = (await db('audit_events')
    .where({ tenant_id: tenantId })
    .whereBetween('seq', [range.fromSeq, range.toSeq])
    .orderBy('seq')
    .select('seq', 'prev_hash', 'hash', 'hash_version', 'hash_key_id')) as Array<{
    seq: number | string;
    prev_hash: string;
    hash: string;
    hash_version: number | string;
    hash_key_id: string | null;
  }>;
  return rows.map((row) => ({
    seq: Number(row.seq),
    prevHash: row.prev_hash,
    hash: row.hash,
    hashVersion: Number(row.hash_version),
    hashKeyId: row.hash_key_id ?? null,
  }));
}

/** The highest seq among a tenant's events of one workflow (0: none); one read of the workflow index. */
export async function latestAuditSeq(db: Knex, tenantId: string, workflowId: string): Promise<number> {
  const row = (await db('audit_events')
    .where({ tenant_id: tenantId, workflow_id: workflowId })
    .max({ seq: 'seq' })
    .first()) as { seq: number | string | null } | undefined;
  return Number(row?.seq ?? 0);
}

/** A stored event as written, with the links around it in its tenant's chain. */
export interface LinkedAuditRow {
  event: AuditEvent & { payloadText: string };
  /** The hash of the event before it; undefined when no row has that seq (the first, or one removed). */
  hashBefore?: string;
  /** The prev_hash of the event after it; undefined when it is the newest. */
  prevHashAfter?: string;
  /** Where retention moved the chain's start, when it did. */
  retentionStart?: { seq: number; hash: string };
}

/**
 * A tenant's events of one workflow in seq order, each with the hash of its predecessor and the prev_hash
 * of its successor in the tenant's chain, in one query: enough to check each event and both its links
 * (governance/verify-audit-chain.ts) without reading the rest of the chain. An event whose payload does
 * not parse comes back with payload null, so its check fails on the stored text.
 */
export async function listLinkedAuditEvents(
  db: Knex,
  tenantId: string,
  workflowId: string,
): Promise<LinkedAuditRow[]> {
  const rows = (await db('audit_events as e')
    .leftJoin('audit_events as b', (on) =>
      on.on('b.tenant_id', '=', 'e.tenant_id').andOn('b.seq', '=', db.raw('?? - 1', ['e.seq'])),
    )
    .leftJoin('audit_events as a', (on) =>
      on.on('a.tenant_id', '=', 'e.tenant_id').andOn('a.seq', '=', db.raw('?? + 1', ['e.seq'])),
    )
    .leftJoin('audit_retention as r', 'r.tenant_id', 'e.tenant_id')
    .where({ 'e.tenant_id': tenantId, 'e.workflow_id': workflowId })
    .orderBy('e.seq')
    .select(
      'e.*',
      'b.hash as hash_before',
      'a.prev_hash as prev_hash_after',
      'r.pruned_through_seq',
      'r.pruned_through_hash',
    )) as Array<
    StoredAuditRow & {
      hash_before: string | null;
      prev_hash_after: string | null;
      pruned_through_seq: number | string | null;
      pruned_through_hash: string | null;
    }
  >;
  return rows.map((row) => {
    let event: AuditEvent;
    try {
      event = toAuditEvent(row);
    } catch {
      event = toAuditEvent({ ...row, payload: 'null' });
    }
    return {
      event: { ...event, payloadText: row.payload },
      ...(row.hash_before == null ? {} : { hashBefore: row.hash_before }),
      ...(row.prev_hash_after == null ? {} : { prevHashAfter: row.prev_hash_after }),
      ...(row.pruned_through_seq == null || row.pruned_through_hash == null
        ? {}
        : { retentionStart: { seq: Number(row.pruned_through_seq), hash: row.pruned_through_hash } }),
    };
  });
}
