import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { readDecodedHistory } from '../history/read-decoded-history';
import { listAuditChainLinks } from '../store/audit-chain-links';
import { listAuditEvents } from '../store/audit-repository';
import type { AuditCheckpointSink, SignedAuditCheckpoint } from './audit-checkpoint';
import type { AuditKeys } from './audit-key-store';
import { encodeEvidenceBundle } from './evidence-bundle';
import { verifyAuditTrail } from './verify-audit-trail';
import { writeAuditCheckpoints } from './write-audit-checkpoints';

export class EvidenceError extends Error {
  override readonly name = 'EvidenceError';
}

export interface EvidenceSummary {
  events: number;
  links: number;
  checkpointSeq: number;
  historyRuns: number;
}

/**
 * `gatehouse audit evidence`: only after the tenant's whole trail verifies with the keys, packs the
 * request's events, the chain links from its first event to a signed checkpoint (signing a fresh one when
 * none covers the request yet) and — with a Temporal client — its decoded history, and signs the bundle.
 */
export async function buildEvidenceBundle(
  db: Knex,
  input: {
    tenantId: string;
    workflowId: string;
    createdBy: string;
    keys: AuditKeys;
    checkpointSink: AuditCheckpointSink;
    client?: Client;
    now: Date;
  },
): Promise<{ bytes: Buffer; summary: EvidenceSummary }> {
  const events = await listAuditEvents(db, { tenantId: input.tenantId, workflowId: input.workflowId });
  if (events.length === 0) throw new EvidenceError(`request ${input.workflowId} has no audit events`);
  const report = await verifyAuditTrail(db, input.tenantId, {
    keys: input.keys,
    checkpointSink: input.checkpointSink,
    client: input.client,
  });
  if (!report.verdict.ok) {
    throw new EvidenceError(
      `the audit trail of '${input.tenantId}' does not verify (first bad event #${report.verdict.firstBadSeq}: ${report.verdict.reason}); no evidence is signed over it`,
    );
  }
  const firstSeq = events[0]!.seq;
  const lastSeq = events[events.length - 1]!.seq;
  const stored = await input.checkpointSink.read(input.tenantId);
  let checkpoint: SignedAuditCheckpoint | undefined = stored.checkpoints
    .filter((candidate) => candidate.seq >= lastSeq)
    .sort((a, b) => a.seq - b.seq)[0];
  if (checkpoint === undefined) {
    [checkpoint] = await writeAuditCheckpoints(
      db,
      { keys: input.keys, checkpointSink: input.checkpointSink },
      { now: input.now, tenantId: input.tenantId },
    );
  }
  if (checkpoint === undefined) throw new EvidenceError(`no checkpoint covers #${lastSeq}`);
  const chain = await listAuditChainLinks(db, input.tenantId, { fromSeq: firstSeq, toSeq: checkpoint.seq });
  let history: Array<{ runId: string; history: unknown }> | null = null;
  if (input.client) {
    history = [];
    for (const runId of [...new Set(events.map((event) => event.runId))]) {
      try {
        history.push({ runId, history: await readDecodedHistory(input.client, input.workflowId, runId) });
      } catch {
        // Past Temporal's retention: the audit events are the record of that run.
      }
    }
  }
  const bytes = encodeEvidenceBundle(
    {
      manifest: {
        tenantId: input.tenantId,
        workflowId: input.workflowId,
        createdAt: input.now.toISOString(),
        createdBy: input.createdBy,
      },
      events,
      chain,
      checkpoint,
      history,
    },
    input.keys.signing,
  );
  return {
    bytes,
    summary: {
      events: events.length,
      links: chain.length,
      checkpointSeq: checkpoint.seq,
      historyRuns: history?.length ?? 0,
    },
  };
}
