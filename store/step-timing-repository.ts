import type { Knex } from 'knex';
import { AUDIT_EVENT_TYPES, TERMINAL_AUDIT_EVENT_TYPES } from '../domain/audit-event';
import { isStepName, type StepName } from '../domain/step-names';
import { isPostgres, toIsoTimestamp } from './knex-client';

/** A step as the audit trail recorded it: the milliseconds its activity measured around its own work. */
export interface RecordedStepTiming {
  workflowId: string;
  runId: string;
  step: StepName;
  attempt: number;
  status: 'succeeded' | 'failed';
  elapsedMs: number;
}

/** A run that recorded its outcome in the window. */
export interface RecordedRun {
  tenantId: string;
  workflowId: string;
  runId: string;
  recordedAt: string;
}

export interface TimingWindow {
  tenantIds: string[];
  since: Date;
}

function sinceValue(db: Knex, since: Date): Date | string {
  // timestamptz on PostgreSQL, ISO-8601 text on SQLite.
  return isPostgres(db) ? since : since.toISOString();
}

/**
 * The step events (succeeded or failed; skipped ones took no time) of the given runs of the given
 * tenants, with the elapsed time each step's activity reported.
 */
export async function listRecordedStepTimings(
  db: Knex,
  input: { tenantIds: string[]; runIds: string[] },
): Promise<RecordedStepTiming[]> {
  if (input.runIds.length === 0) return [];
  const rows = (await db('audit_events')
    .whereIn('tenant_id', input.tenantIds)
    .whereIn('execution_id', input.runIds)
    .whereIn('event_type', [AUDIT_EVENT_TYPES.stepSucceeded, AUDIT_EVENT_TYPES.stepFailed])
    .select('workflow_id', 'execution_id', 'step', 'attempt', 'event_type', 'payload')) as Array<{
    workflow_id: string;
    execution_id: string;
    step: string;
    attempt: number | string;
    event_type: string;
    payload: string;
  }>;
  const timings: RecordedStepTiming[] = [];
  for (const row of rows) {
    if (!isStepName(row.step)) continue;
    const elapsedMs = (JSON.parse(row.payload) as { elapsedMs?: unknown }).elapsedMs;
    if (typeof elapsedMs !== 'number' || !Number.isFinite(elapsedMs)) continue;
    timings.push({
      workflowId: row.workflow_id,
      runId: row.execution_id,
      step: row.step,
      attempt: Number(row.attempt),
      status: row.event_type === AUDIT_EVENT_TYPES.stepFailed ? 'failed' : 'succeeded',
      elapsedMs,
    });
  }
  return timings;
}

/**
 * The runs of the given tenants that recorded an outcome since a moment, each once, newest outcome
 * first, at most `limit`.
 */
export async function listRecordedRuns(
  db: Knex,
  window: TimingWindow & { limit: number },
): Promise<RecordedRun[]> {
  const rows = (await db('audit_events')
    .whereIn('tenant_id', window.tenantIds)
    .whereIn('event_type', [...TERMINAL_AUDIT_EVENT_TYPES])
    .andWhere('created_at', '>=', sinceValue(db, window.since))
    // One row per run, however many outcomes it recorded (its own, then an operator's): its newest.
    .groupBy('tenant_id', 'workflow_id', 'execution_id')
    .select('tenant_id', 'workflow_id', 'execution_id', db.raw('MAX(created_at) AS created_at'))
    .orderByRaw('MAX(created_at) DESC, MAX(seq) DESC')
    .limit(window.limit)) as Array<{
    tenant_id: string;
    workflow_id: string;
    execution_id: string;
    created_at: unknown;
  }>;
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    workflowId: row.workflow_id,
    runId: row.execution_id,
    recordedAt: toIsoTimestamp(row.created_at),
  }));
}
