import type { Knex } from 'knex';
import { AUDIT_EVENT_TYPES, TERMINAL_AUDIT_EVENT_TYPES } from '../domain/audit-event';
import { listAuditEvents } from '../store/audit-repository';
import { listUsage } from '../store/usage-repository';
import { ledgerRowHash } from './ledger-row-hash';

export type LedgerVerification =
  | { ok: true; rowsChecked: number }
  | { ok: false; rowsChecked: number; firstBadSeq: number; firstBadWorkflowId: string; reason: string };

/**
 * The usage ledger against the audit chain (call it once the chain itself verifies): every
 * `usage.recorded` event must find its ledger row with the same content hash (an edited or deleted row
 * does not), and every row of a run recorded since ledger rows joined the chain must have its event (a
 * row inserted afterwards has none). Rows of runs not recorded yet are checked once they are.
 */
export async function verifyLedgerAgainstAudit(db: Knex, tenantId: string): Promise<LedgerVerification> {
  const events = await listAuditEvents(db, { tenantId });
  const rows = await listUsage(db, { tenantId });
  const key = (workflowId: string, runId: string, attempt: number) =>
    JSON.stringify([workflowId, runId, attempt]);
  const rowByKey = new Map(rows.map((row) => [key(row.workflowId, row.runId, row.attempt), row]));
  const failures: Array<Extract<LedgerVerification, { ok: false }>> = [];
  const covered = new Set<string>();
  const runsWithUsage = new Set<string>();
  let firstUsageSeq: number | undefined;
  for (const event of events) {
    if (event.eventType !== AUDIT_EVENT_TYPES.usageRecorded) continue;
    firstUsageSeq ??= event.seq;
    const rowKey = key(event.workflowId, event.runId, event.attempt);
    covered.add(rowKey);
    runsWithUsage.add(JSON.stringify([event.workflowId, event.runId]));
    const row = rowByKey.get(rowKey);
    const expected = (event.payload as { ledgerRowHash?: unknown }).ledgerRowHash;
    if (row === undefined || ledgerRowHash(row) !== expected) {
      failures.push({
        ok: false,
        rowsChecked: rows.length,
        firstBadSeq: event.seq,
        firstBadWorkflowId: event.workflowId,
        reason: `the ledger row of attempt ${event.attempt} (run ${event.runId}) ${row === undefined ? 'was deleted' : 'was edited'} after audit event #${event.seq} recorded it`,
      });
    }
  }
  if (firstUsageSeq !== undefined) {
    const recordedAt = new Map<string, number>();
    for (const event of events) {
      if ((TERMINAL_AUDIT_EVENT_TYPES as readonly string[]).includes(event.eventType)) {
        recordedAt.set(JSON.stringify([event.workflowId, event.runId]), event.seq);
      }
    }
    for (const row of rows) {
      const run = JSON.stringify([row.workflowId, row.runId]);
      const closedAt = recordedAt.get(run);
      // Runs recorded since ledger rows joined the chain: those with usage events, and any closed after the first.
      const inScope = closedAt !== undefined && (runsWithUsage.has(run) || closedAt > firstUsageSeq);
      if (!inScope || covered.has(key(row.workflowId, row.runId, row.attempt))) continue;
      failures.push({
        ok: false,
        rowsChecked: rows.length,
        firstBadSeq: closedAt,
        firstBadWorkflowId: row.workflowId,
        reason: `the ledger row of attempt ${row.attempt} (run ${row.runId}) is not in the audit trail: it was added after the run was recorded at #${closedAt}`,
      });
    }
  }
  const first = failures.sort((a, b) => a.firstBadSeq - b.firstBadSeq)[0];
  return first ?? { ok: true, rowsChecked: rows.length };
}
