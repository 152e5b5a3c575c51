import type { Knex } from 'knex';
import { policyDocumentSchema } from '../domain/policy';
import { getLatestPolicy } from '../store/policy-repository';
import { isPostgres, nowIso } from '../store/knex-client';
import { deleteRequestContentsBefore } from '../store/request-content-repository';
import { signAuditCheckpoint, type AuditCheckpointSink } from './audit-checkpoint';
import type { AuditKeys } from './audit-key-store';
import { verifyAuditTrail } from './verify-audit-trail';

export class AuditRetentionError extends Error {
  override readonly name = 'AuditRetentionError';
}

export interface PruneResult {
  /** Events removed by this call. */
  pruned: number;
  /** The chain now starts after this event (0: nothing was ever pruned). */
  prunedThroughSeq: number;
  /** Stored request contents (large prompts kept by reference) removed by this call. */
  prunedContents: number;
}

/**
 * Removes a tenant's audit events recorded before `before`, keeping the rest verifiable: only after the
 * whole trail verifies, it signs a checkpoint of the last event it removes — the new start of the chain
 * — writes that start to `audit_retention` (which is what lets the append-only guard allow the DELETE)
 * and deletes the rows at or below it, in one transaction. The head is never removed. The tenant's
 * stored request contents written before `before` go too (docs/decisions/0026): they hold the same
 * customer data, and their requests' audit events carry no copy of them that a chain would need.
 */
export async function pruneAuditTrail(
  db: Knex,
  input: { tenantId: string; before: Date; keys: AuditKeys; checkpointSink: AuditCheckpointSink; now: Date },
): Promise<PruneResult> {
  const prunedContents = await deleteRequestContentsBefore(db, input.tenantId, input.before);
  const current = (await db('audit_retention').where({ tenant_id: input.tenantId }).first()) as
    { pruned_through_seq: number } | undefined;
  const prunedThrough = Number(current?.pruned_through_seq ?? 0);
  const head = (await db('audit_heads').where({ tenant_id: input.tenantId }).first('seq')) as
    { seq: number } | undefined;
  const cutoffRow = (await db('audit_events')
    .where({ tenant_id: input.tenantId })
    .andWhere('created_at', '<', isPostgres(db) ? input.before : input.before.toISOString())
    .andWhere('seq', '<', Number(head?.seq ?? 0))
    .orderBy('seq', 'desc')
    .first('seq', 'hash')) as { seq: number; hash: string } | undefined;
  const cutoff = Number(cutoffRow?.seq ?? 0);
  if (cutoffRow === undefined || cutoff <= prunedThrough)
    return { pruned: 0, prunedThroughSeq: prunedThrough, prunedContents };

  const report = await verifyAuditTrail(db, input.tenantId, {
    keys: input.keys,
    checkpointSink: input.checkpointSink,
  });
  if (!report.verdict.ok) {
    throw new AuditRetentionError(
      `the audit trail of '${input.tenantId}' does not verify (first bad event #${report.verdict.firstBadSeq}: ${report.verdict.reason}); nothing is pruned from a broken chain`,
    );
  }
  await input.checkpointSink.append([
    signAuditCheckpoint(
      {
        version: 1,
        tenantId: input.tenantId,
        seq: cutoff,
        headHash: cutoffRow.hash,
        at: input.now.toISOString(),
        signingKeyId: input.keys.signing.keyId,
      },
      input.keys.signing.privateKey,
    ),
  ]);
  const pruned = await db.transaction(async (trx): Promise<number> => {
    await trx('audit_retention')
      .insert({
        tenant_id: input.tenantId,
        pruned_through_seq: cutoff,
        pruned_through_hash: cutoffRow.hash,
        pruned_at: nowIso(),
      })
      .onConflict('tenant_id')
      .merge();
    const deleted: number = await trx('audit_events')
      .where({ tenant_id: input.tenantId })
      .andWhere('seq', '<=', cutoff)
      .delete();
    return deleted;
  });
  return { pruned, prunedThroughSeq: cutoff, prunedContents };
}

/** The tenant's retention from its latest policy (`auditRetentionDays`); undefined keeps everything. */
export async function auditRetentionDaysOf(db: Knex, tenantId: string): Promise<number | undefined> {
  const policy = await getLatestPolicy(db, tenantId);
  if (policy === undefined) return undefined;
  const parsed = policyDocumentSchema.safeParse(policy.document);
  return parsed.success ? parsed.data.auditRetentionDays : undefined;
}
