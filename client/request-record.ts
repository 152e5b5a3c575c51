import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { AUDIT_EVENT_TYPES, TERMINAL_AUDIT_EVENT_TYPES, type AuditEvent } from '../domain/audit-event';
import { microToUsd } from '../domain/cost';
import { parseRequestWorkflowId } from '../domain/request-contract';
import { listAuditEvents } from '../store/audit-repository';
import { getRunReservations } from '../store/budget-repository';
import { listUsage, type UsageRecord } from '../store/usage-repository';

/** One run of a request as the record shows it: its events in order, its ledger rows and its budget. */
export interface RunRecord {
  runId: string;
  /** The run's closing audit event type without its prefix (succeeded, failed, terminated…), or 'open'. */
  outcome: string;
  /** Temporal's status of the run, while Temporal still has it. */
  temporalStatus?: string;
  startedAt?: string;
  closedAt?: string;
  events: AuditEvent[];
  ledger: UsageRecord[];
  costUsd: number;
  reservations: Array<{ key: string; state: string; amountUsd: number; settledUsd: number | null }>;
}

export interface RequestRecord {
  workflowId: string;
  tenantId: string;
  requestId: string;
  /** Whether Temporal still has the request's history; the record is complete either way. */
  temporal: 'present' | 'gone' | 'not-checked';
  runs: RunRecord[];
}

/**
 * A request's whole record, read from the audit store first (it outlives Temporal's retention) and
 * joined with Temporal's own view of each run while it has one: every run in order with its status, its
 * reset, cancel or terminate events, each step with its decision, each attempt with route, error and cost.
 */
export async function loadRequestRecord(
  db: Knex,
  workflowId: string,
  client?: Client,
): Promise<RequestRecord> {
  const parsed = parseRequestWorkflowId(workflowId);
  if (!parsed) throw new Error(`'${workflowId}' is not a Gatehouse request id`);
  const events = await listAuditEvents(db, { tenantId: parsed.tenantId, workflowId });
  const ledger = await listUsage(db, { tenantId: parsed.tenantId, workflowId });
  const runs = new Map<string, RunRecord>();
  const runOf = (runId: string): RunRecord => {
    let run = runs.get(runId);
    if (!run) {
      run = { runId, outcome: 'open', events: [], ledger: [], costUsd: 0, reservations: [] };
      runs.set(runId, run);
    }
    return run;
  };
  for (const event of events) {
    const run = runOf(event.runId);
    run.events.push(event);
    if ((TERMINAL_AUDIT_EVENT_TYPES as readonly string[]).includes(event.eventType)) {
      run.outcome = event.eventType.replace(/^request\./, '');
    }
  }
  for (const row of ledger) {
    const run = runOf(row.runId);
    run.ledger.push(row);
    run.costUsd = microToUsd(run.ledger.reduce((total, entry) => total + entry.costMicroUsd, 0));
  }
  let temporal: RequestRecord['temporal'] = 'not-checked';
  if (client) {
    temporal = 'gone';
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      temporal = 'present';
      const run = runOf(execution.runId);
      run.temporalStatus = execution.status.name;
      run.startedAt = execution.startTime.toISOString();
      run.closedAt = execution.closeTime?.toISOString();
    }
  }
  for (const run of runs.values()) {
    run.reservations = (await getRunReservations(db, workflowId, run.runId)).map((reservation) => ({
      key: reservation.key,
      state: reservation.state,
      amountUsd: microToUsd(reservation.amountMicroUsd),
      settledUsd: reservation.settledMicroUsd === null ? null : microToUsd(reservation.settledMicroUsd),
    }));
  }
  // Runs in the order they happened: by their first audit event, then by Temporal's start time.
  const ordered = [...runs.values()].sort(
    (left, right) =>
      (left.events[0]?.seq ?? Number.MAX_SAFE_INTEGER) - (right.events[0]?.seq ?? Number.MAX_SAFE_INTEGER) ||
      (left.startedAt ?? '').localeCompare(right.startedAt ?? ''),
  );
  return { workflowId, tenantId: parsed.tenantId, requestId: parsed.requestId, temporal, runs: ordered };
}

const money = (usd: number) => `$${usd.toFixed(6)}`;

function describeEvent(event: AuditEvent): string {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (value === null || value === undefined ? '' : String(value));
  switch (event.eventType) {
    case AUDIT_EVENT_TYPES.inferenceSucceeded:
    case AUDIT_EVENT_TYPES.inferenceFailed:
    case AUDIT_EVENT_TYPES.inferenceCancelled: {
      const usage = payload.usage as { inputTokens?: number; outputTokens?: number } | undefined;
      return [
        `attempt ${event.attempt} on ${text(payload.routeId)}`,
        event.eventType.replace('inference.', ''),
        payload.failureType ? `${text(payload.failureType)}: ${text(payload.message)}` : '',
        `${usage?.inputTokens ?? 0} in / ${usage?.outputTokens ?? 0} out${payload.usageEstimated ? ' (estimated)' : ''}`,
        money(Number(payload.costUsd ?? 0)),
      ]
        .filter((part) => part !== '')
        .join(' · ');
    }
    case AUDIT_EVENT_TYPES.requestReset:
      return `reset from run ${text(payload.baseRunId)} at event ${text(payload.eventId)} by ${text(payload.identity)}: ${text(payload.reason)}`;
    case AUDIT_EVENT_TYPES.requestTerminated:
    case AUDIT_EVENT_TYPES.requestAbandoned:
      return `${event.eventType}: Temporal ${text(payload.temporalStatus)}${payload.reason ? ` (${text(payload.reason)})` : ''}${payload.closedBy ? ` by ${text(payload.closedBy)}` : ''}`;
    case AUDIT_EVENT_TYPES.operatorRetry:
    case AUDIT_EVENT_TYPES.operatorCancel:
    case AUDIT_EVENT_TYPES.operatorTerminate:
      return `${event.eventType} by ${text(payload.operator)}: ${text(payload.reason)}`;
    default: {
      const failure = payload.failure as
        { type?: string; step?: string; message?: string } | null | undefined;
      if (failure) return `${event.eventType}: ${failure.type} at ${failure.step}: ${failure.message}`;
      const reason = payload.reason ? ` — ${text(payload.reason)}` : '';
      return `${event.step.padEnd(15)} ${event.eventType.replace('step.', '')}${reason}`;
    }
  }
}

/** The record as a person reads it (`gatehouse requests show`, `gatehouse audit show`). */
export function formatRequestRecord(record: RequestRecord): string {
  const lines = [`Request:   ${record.workflowId} (tenant ${record.tenantId})`];
  if (record.temporal === 'gone') {
    lines.push('Temporal:  history no longer in Temporal (retention); this record is from the audit store');
  }
  if (record.runs.length === 0) lines.push('No runs recorded yet.');
  record.runs.forEach((run, index) => {
    const status = run.temporalStatus ? ` · Temporal ${run.temporalStatus}` : '';
    lines.push('', `Run ${index + 1}  ${run.runId}  ${run.outcome}${status} · ${money(run.costUsd)}`);
    const copied =
      run.events.length === 0 && run.temporalStatus === 'RUNNING' ? '  (running; nothing recorded yet)' : '';
    if (copied) lines.push(copied);
    for (const event of run.events) lines.push(`  #${event.seq} ${describeEvent(event)}`);
    for (const reservation of run.reservations) {
      lines.push(
        `  reservation ${reservation.key.split('/').slice(-1)[0]}: ${reservation.state} · held ${money(reservation.amountUsd)}` +
          (reservation.settledUsd === null ? '' : ` · charged ${money(reservation.settledUsd)}`),
      );
    }
  });
  return lines.join('\n');
}
