import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { readAuditWitnesses } from '../history/read-audit-witnesses';
import { verifyAuditChain } from '../store/audit-repository';
import { auditCheckpointSignatureValid, type AuditCheckpointSink } from './audit-checkpoint';
import type { AuditKeys } from './audit-key-store';
import { governanceWorkflowId, verifyGovernanceAgainstAudit } from './governance-attestation';
import { verifyLedgerAgainstAudit } from './verify-ledger';
import type { AuditAnchor, AuditChainVerification } from './verify-audit-chain';

export interface AuditTrailReport {
  verdict: AuditChainVerification;
  /** Usage ledger rows checked against their `usage.recorded` events (once the chain verified). */
  ledgerRowsChecked?: number;
  /** Policy, prompt and principal items checked against their `governance.changed` events. */
  governanceItemsChecked?: number;
  checkpoints: { valid: number; latestSeq?: number; latestAt?: string };
  /** Undefined when Temporal was not consulted. */
  history?: { witnesses: number; runsRead: number; unreadable: number };
}

/**
 * `gatehouse audit verify`: the tenant's chain walked with the HMAC keys, against every signed
 * checkpoint in the sink and — when a Temporal client is given — against the heads its requests recorded
 * into their own histories. A checkpoint whose signature fails, or a sink line that does not parse, is
 * itself a failure: the sink is append-only, so nothing in it may have been altered.
 */
export async function verifyAuditTrail(
  db: Knex,
  tenantId: string,
  options: {
    keys: AuditKeys;
    checkpointSink: AuditCheckpointSink;
    client?: Client;
    historyLimit?: number;
  },
): Promise<AuditTrailReport> {
  const stored = await options.checkpointSink.read(tenantId);
  const invalid = stored.checkpoints.find(
    (checkpoint) => !auditCheckpointSignatureValid(checkpoint, options.keys.signing.publicKey),
  );
  if (invalid !== undefined || stored.unreadable > 0) {
    return {
      verdict: {
        ok: false,
        checked: 0,
        firstBadSeq: invalid?.seq ?? 0,
        reason:
          invalid !== undefined
            ? `the checkpoint of seq ${invalid.seq} at ${invalid.at} in ${options.checkpointSink.description} does not carry a valid signature of key '${options.keys.signing.keyId}': the checkpoint sink was altered`
            : `${stored.unreadable} line(s) of ${options.checkpointSink.description} cannot be read: the checkpoint sink was altered`,
      },
      checkpoints: { valid: 0 },
    };
  }
  const anchors: AuditAnchor[] = stored.checkpoints.map((checkpoint) => ({
    seq: checkpoint.seq,
    hash: checkpoint.headHash,
    source: `the checkpoint signed at ${checkpoint.at}`,
  }));
  let history: AuditTrailReport['history'];
  if (options.client) {
    const witnesses = await readAuditWitnesses(options.client, tenantId, {
      limit: options.historyLimit ?? 1000,
    });
    anchors.push(...witnesses.anchors);
    history = {
      witnesses: witnesses.anchors.length,
      runsRead: witnesses.runsRead,
      unreadable: witnesses.unreadable,
    };
  }
  const latest = stored.checkpoints.reduce<(typeof stored.checkpoints)[number] | undefined>(
    (best, checkpoint) => (best === undefined || checkpoint.seq >= best.seq ? checkpoint : best),
    undefined,
  );
  const chain = await verifyAuditChain(db, tenantId, { chainKeyById: options.keys.chainKeyById, anchors });
  const ledger = chain.ok ? await verifyLedgerAgainstAudit(db, tenantId) : undefined;
  const governance = ledger?.ok ? await verifyGovernanceAgainstAudit(db, tenantId) : undefined;
  let verdict: AuditChainVerification = chain;
  if (ledger !== undefined && !ledger.ok) {
    verdict = {
      ok: false,
      checked: chain.checked,
      firstBadSeq: ledger.firstBadSeq,
      firstBadWorkflowId: ledger.firstBadWorkflowId,
      reason: ledger.reason,
    };
  } else if (governance !== undefined && !governance.ok) {
    verdict = {
      ok: false,
      checked: chain.checked,
      firstBadSeq: governance.firstBadSeq,
      firstBadWorkflowId: governanceWorkflowId(tenantId),
      reason: governance.reason,
    };
  }
  return {
    verdict,
    ledgerRowsChecked: ledger?.rowsChecked,
    governanceItemsChecked: governance?.itemsChecked,
    checkpoints: { valid: stored.checkpoints.length, latestSeq: latest?.seq, latestAt: latest?.at },
    history,
  };
}
