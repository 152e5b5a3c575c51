import type { Knex } from 'knex';
import { listAuditHeads } from '../store/audit-repository';
import {
  signAuditCheckpoint,
  type AuditCheckpointSink,
  type SignedAuditCheckpoint,
} from './audit-checkpoint';
import type { AuditKeys } from './audit-key-store';

/**
 * Signs every tenant's current chain head and appends the checkpoints to the sink. With `lastSigned`
 * (kept by a long-lived process between passes) a tenant whose head has not moved since its last
 * checkpoint is skipped, so an idle deployment does not grow the sink.
 */
export async function writeAuditCheckpoints(
  db: Knex,
  audit: { keys: AuditKeys; checkpointSink: AuditCheckpointSink },
  options: { now: Date; tenantId?: string; lastSigned?: Map<string, string> },
): Promise<SignedAuditCheckpoint[]> {
  const heads = (await listAuditHeads(db)).filter(
    (head) => options.tenantId === undefined || head.tenantId === options.tenantId,
  );
  const checkpoints = heads
    .filter((head) => options.lastSigned?.get(head.tenantId) !== `${head.seq}/${head.hash}`)
    .map((head) =>
      signAuditCheckpoint(
        {
          version: 1,
          tenantId: head.tenantId,
          seq: head.seq,
          headHash: head.hash,
          at: options.now.toISOString(),
          signingKeyId: audit.keys.signing.keyId,
        },
        audit.keys.signing.privateKey,
      ),
    );
  await audit.checkpointSink.append(checkpoints);
  for (const checkpoint of checkpoints) {
    options.lastSigned?.set(checkpoint.tenantId, `${checkpoint.seq}/${checkpoint.headHash}`);
  }
  return checkpoints;
}
