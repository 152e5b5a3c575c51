import type { Knex } from 'knex';
import { firstRecord, isPostgres, nowIso, toIsoTimestamp, toSafeInteger } from './knex-client';

/**
 * One inference attempt as the provider served it: the ledger's row. Keyed by the run that made the
 * attempt (docs/decisions/0002), so an attempt a Reset re-runs is a row of its own and one it copies is
 * never charged twice.
 */
export interface NewUsageRecord {
  tenantId: string;
  workflowId: string;
  /** The run that made the attempt. */
  runId: string;
  attempt: number;
  routeId: string;
  provider: string;
  model: string;
  principalId: string | null;
  feature: string | null;
  taskType: string | null;
  promptRef: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Integer micro-USD (1 USD = 1_000_000). */
  costMicroUsd: number;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  failureType: string | null;
  /** The provider reported no usage; the tokens are Gatehouse's estimate. */
  usageEstimated: boolean;
  /** The pricing catalogue version (or `route-table <version>`) that priced the row; null before it was recorded. */
  pricingVersion: string | null;
}

export interface UsageRecord extends NewUsageRecord {
  id: number;
  createdAt: string;
}

export interface ListUsageInput {
  tenantId: string;
  workflowId?: string;
}

/** A write that disagrees with what is already stored under the same key: never silently ignored. */
export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';
}

interface UsageRow {
  id: number | string;
  tenant_id: string;
  workflow_id: string;
  execution_id: string;
  attempt: number;
  route_id: string;
  provider: string;
  model: string;
  principal_id: string | null;
  feature: string | null;
  task_type: string | null;
  prompt_ref: string | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_micro_usd: number | string;
  outcome: NewUsageRecord['outcome'];
  failure_type: string | null;
  usage_estimated: number | boolean;
  pricing_version: string | null;
  created_at: unknown;
}

const INTEGER_FIELDS = [
  'attempt',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'costMicroUsd',
] as const satisfies ReadonlyArray<keyof NewUsageRecord>;

function toRow(record: NewUsageRecord, createdAt: string): Omit<UsageRow, 'id'> {
  for (const field of INTEGER_FIELDS) {
    const value = record[field];
    // Money and token counts are integers; a float here means a unit mistake upstream.
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`recordUsage: ${field} must be a non-negative integer, got ${value}`);
    }
  }
  return {
    tenant_id: record.tenantId,
    workflow_id: record.workflowId,
    execution_id: record.runId,
    attempt: record.attempt,
    route_id: record.routeId,
    provider: record.provider,
    model: record.model,
    principal_id: record.principalId,
    feature: record.feature,
    task_type: record.taskType,
    prompt_ref: record.promptRef,
    input_tokens: record.inputTokens,
    output_tokens: record.outputTokens,
    cache_read_tokens: record.cacheReadTokens,
    cache_write_tokens: record.cacheWriteTokens,
    cost_micro_usd: record.costMicroUsd,
    outcome: record.outcome,
    failure_type: record.failureType,
    usage_estimated: record.usageEstimated,
    pricing_version: record.pricingVersion,
    created_at: createdAt,
  };
}

function toRecord(row: UsageRow): UsageRecord {
  return {
    id: toSafeInteger(row.id),
    tenantId: row.tenant_id,
    workflowId: row.workflow_id,
    runId: row.execution_id,
    attempt: Number(row.attempt),
    routeId: row.route_id,
    provider: row.provider,
    model: row.model,
    principalId: row.principal_id,
    feature: row.feature,
    taskType: row.task_type,
    promptRef: row.prompt_ref,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    cacheReadTokens: Number(row.cache_read_tokens),
    cacheWriteTokens: Number(row.cache_write_tokens),
    costMicroUsd: toSafeInteger(row.cost_micro_usd),
    outcome: row.outcome,
    failureType: row.failure_type,
    usageEstimated: row.usage_estimated === true || Number(row.usage_estimated) === 1,
    pricingVersion: row.pricing_version ?? null,
    createdAt: toIsoTimestamp(row.created_at),
  };
}

/** The fields that make a ledger row what it is; a repeat write must agree on all of them. */
function sameAttempt(stored: UsageRecord, wanted: NewUsageRecord): string[] {
  const differing: string[] = [];
  for (const field of Object.keys(wanted) as Array<keyof NewUsageRecord>) {
    if (stored[field] !== wanted[field]) differing.push(field);
  }
  return differing;
}

/**
 * Records attempts and returns how many rows were new. Writing the same attempt again is a no-op (the
 * infer activity writes its row at once; `record` and the reconciler write what is missing); writing a
 * different row under the same (workflow, run, attempt) throws `LedgerConflictError`.
 */
export async function recordUsage(db: Knex, records: NewUsageRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  const createdAt = nowIso();
  const rows = records.map((record) => toRow(record, createdAt));
  const insert = db('usage_ledger').insert(
    isPostgres(db) ? rows : rows.map((row) => ({ ...row, usage_estimated: row.usage_estimated ? 1 : 0 })),
  );
  const inserted = (await insert
    .onConflict(['workflow_id', 'execution_id', 'attempt'])
    .ignore()
    .returning(['workflow_id', 'execution_id', 'attempt'])) as Array<{
    workflow_id: string;
    execution_id: string;
    attempt: number;
  }>;
  if (inserted.length === records.length) return inserted.length;
  const fresh = new Set(
    inserted.map((row) => `${row.workflow_id}\u0000${row.execution_id}\u0000${row.attempt}`),
  );
  for (const record of records) {
    if (fresh.has(`${record.workflowId}\u0000${record.runId}\u0000${record.attempt}`)) continue;
    const stored = await firstRecord(
      db<UsageRow>('usage_ledger').where({
        workflow_id: record.workflowId,
        execution_id: record.runId,
        attempt: record.attempt,
      }),
      toRecord,
    );
    if (stored === undefined) {
      throw new LedgerConflictError(
        `ledger row ${record.workflowId} run ${record.runId} attempt ${record.attempt} was neither inserted nor found`,
      );
    }
    const differing = sameAttempt(stored, record);
    if (differing.length > 0) {
      throw new LedgerConflictError(
        `ledger row ${record.workflowId} run ${record.runId} attempt ${record.attempt} is already recorded with other values (${differing.join(', ')})`,
      );
    }
  }
  return inserted.length;
}

export async function listUsage(db: Knex, input: ListUsageInput): Promise<UsageRecord[]> {
  const query = db<UsageRow>('usage_ledger').where({ tenant_id: input.tenantId }).orderBy('id');
  if (input.workflowId !== undefined) query.andWhere({ workflow_id: input.workflowId });
  return ((await query) as UsageRow[]).map(toRecord);
}

/** Every attempt one run made, in attempt order. */
export async function listRunUsage(db: Knex, workflowId: string, runId: string): Promise<UsageRecord[]> {
  const rows = (await db<UsageRow>('usage_ledger')
    .where({ workflow_id: workflowId, execution_id: runId })
    .orderBy('attempt')) as UsageRow[];
  return rows.map(toRecord);
}

/** Total recorded cost for a tenant in integer micro-USD. */
export async function totalCostMicroUsd(db: Knex, tenantId: string): Promise<number> {
  const row = (await db('usage_ledger')
    .where({ tenant_id: tenantId })
    .sum({ total: 'cost_micro_usd' })
    .first()) as { total: number | string | null } | undefined;
  return row?.total === null || row?.total === undefined ? 0 : toSafeInteger(row.total);
}
