import { writeAuditCheckpoints } from '../governance/write-audit-checkpoints';
import type { ActivityDependencies } from './activity-dependencies';

export interface CheckpointAuditChainsResult {
  /** Tenants whose head was signed on this pass (the others had not moved since their last checkpoint). */
  checkpointed: number;
}

/**
 * Run by the reconciler Schedule after each pass (docs/decisions/0016): signs every tenant's audit chain
 * head whose head moved and appends it to the checkpoint sink outside the app database.
 */
export function createCheckpointAuditChainsActivity(
  deps: Pick<ActivityDependencies, 'db' | 'audit' | 'clock'>,
) {
  // Per worker process: a restarted worker signs every head once more, which is harmless.
  const lastSigned = new Map<string, string>();
  return async function checkpointAuditChains(): Promise<CheckpointAuditChainsResult> {
    const written = await writeAuditCheckpoints(deps.db, deps.audit, {
      now: new Date(deps.clock()),
      lastSigned,
    });
    return { checkpointed: written.length };
  };
}
