import type { Knex } from 'knex';
import { nowIso, toIsoTimestamp, toSafeInteger } from './knex-client';

export interface NewUsageRecord {
  tenantId: string;
  workflowId: string;
  executionId: string;
  attempt: number;
  routeId: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Integer micro-USD (1 USD = 1_000_000). */
  costMicroUsd: number;
  outcome: string;
  failureType?: string | null;
}

export interface UsageRecord extends NewUsageRecord {
  id: number;
  failureType: string | null;
  createdAt: string;
}

export interface ListUsageInput {
  tenantId: string;
  workflowId?: string;
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
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_micro_usd: number | string;
  outcome: string;
  failure_type: string | null;
  created_at: unknown;
}

/**
 * Records one row per inference attempt and returns how many were new. Idempotent on
 * (workflow, execution, attempt), so a retried activity never bills twice.
 */
export async function recordUsage(db: Knex, records: NewUsageRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  const createdAt = nowIso();
  const rows = records.map((record) => {
    for (const [field, value] of Object.entries({
      attempt: record.attempt,
      inputTokens: record.inputTokens,
      outputTokens: record.outputTokens,
      cacheReadTokens: record.cacheReadTokens,
      cacheWriteTokens: record.cacheWriteTokens,
      costMicroUsd: record.costMicroUsd,
    })) {
      // Money and token counts are integers; a float here means a unit mistake upstream.
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`recordUsage: ${field} must be a non-negative integer, got ${value}`);
      }
    }
    return {
      tenant_id: record.tenantId,
      workflow_id: record.workflowId,
      execution_id: record.executionId,
      attempt: record.attempt,
      route_id: record.routeId,
      provider: record.provider,
      model: record.model,
      input_tokens: record.inputTokens,
      output_tokens: record.outputTokens,
      cache_read_tokens: record.cacheReadTokens,
      cache_write_tokens: record.cacheWriteTokens,
      cost_micro_usd: record.costMicroUsd,
      outcome: record.outcome,
      failure_type: record.failureType ?? null,
      created_at: createdAt,
    };
  });
  const inserted = (await db('usage_ledger')
    .insert(rows)
    .onConflict(['workflow_id', 'execution_id', 'attempt'])
    .ignore()
    .returning('id')) as unknown[];
  return inserted.length;
}

export async function listUsage(db: Knex, input: ListUsageInput): Promise<UsageRecord[]> {
  const query = db<UsageRow>('usage_ledger').where({ tenant_id: input.tenantId }).orderBy('id');
  if (input.workflowId !== undefined) query.andWhere({ workflow_id: input.workflowId });
  return ((await query) as UsageRow[]).map((row) => ({
    id: toSafeInteger(row.id),
    tenantId: row.tenant_id,
    workflowId: row.workflow_id,
    executionId: row.execution_id,
    attempt: row.attempt,
    routeId: row.route_id,
    provider: row.provider,
    model: row.model,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cacheReadTokens: row.cache_read_tokens,
    cacheWriteTokens: row.cache_write_tokens,
    costMicroUsd: toSafeInteger(row.cost_micro_usd),
    outcome: row.outcome,
    failureType: row.failure_type,
    createdAt: toIsoTimestamp(row.created_at),
  }));
}

/** Total recorded cost for a tenant in integer micro-USD. */
export async function totalCostMicroUsd(db: Knex, tenantId: string): Promise<number> {
  const row = (await db('usage_ledger')
    .where({ tenant_id: tenantId })
    .sum({ total: 'cost_micro_usd' })
    .first()) as { total: number | string | null } | undefined;
  return row?.total === null || row?.total === undefined ? 0 : toSafeInteger(row.total);
}
