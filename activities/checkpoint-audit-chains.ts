import { log } from '@temporalio/activity';
import { auditRetentionDaysOf, pruneAuditTrail } from '../governance/prune-audit-trail';
import { writeAuditCheckpoints } from '../governance/write-audit-checkpoints';
import { listAuditHeads } from '../store/audit-repository';
import type { ActivityDependencies } from './activity-dependencies';

export interface CheckpointAuditChainsResult {
  /** Tenants whose head was signed on this pass (the others had not moved since their last checkpoint). */
  checkpointed: number;
  /** Events removed by the tenants' retention policies on this pass. */
  pruned: number;
}

/** Retention is applied at most this often per tenant and worker: each prune verifies the whole chain first. */
const RETENTION_EVERY_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Run by the reconciler Schedule after each pass (docs/decisions/0016): signs every tenant's audit chain
 * head that moved and appends it to the checkpoint sink outside the app database, then prunes events
 * older than a tenant's `auditRetentionDays`, anchoring the new start with a signed checkpoint.
 */
export function createCheckpointAuditChainsActivity(
  deps: Pick<ActivityDependencies, 'db' | 'audit' | 'clock'>,
) {
  // Per worker process: a restarted worker signs every head once more, which is harmless.
  const lastSigned = new Map<string, string>();
  const lastPruned = new Map<string, number>();
  return async function checkpointAuditChains(): Promise<CheckpointAuditChainsResult> {
    const now = deps.clock();
    const written = await writeAuditCheckpoints(deps.db, deps.audit, { now: new Date(now), lastSigned });
    let pruned = 0;
    for (const { tenantId } of await listAuditHeads(deps.db)) {
      if (now - (lastPruned.get(tenantId) ?? 0) < RETENTION_EVERY_MS) continue;
      const days = await auditRetentionDaysOf(deps.db, tenantId);
      if (days === undefined) continue;
      lastPruned.set(tenantId, now);
      try {
        const result = await pruneAuditTrail(deps.db, {
          tenantId,
          before: new Date(now - days * DAY_MS),
          keys: deps.audit.keys,
          checkpointSink: deps.audit.checkpointSink,
          now: new Date(now),
        });
        pruned += result.pruned;
      } catch (error) {
        // A chain that does not verify is never pruned; the others still are.
        log.warn('audit retention skipped a tenant', { tenantId, error: String(error) });
      }
    }
    return { checkpointed: written.length, pruned };
  };
}
