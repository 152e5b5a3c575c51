import type { Knex } from 'knex';
import { isPostgres } from './knex-client';

/** The usage ledger's rows of some tenants since a moment. */
export interface LedgerWindow {
  tenantIds: string[];
  since: Date;
}

function ledger(db: Knex, window: LedgerWindow): Knex.QueryBuilder {
  return (
    db('usage_ledger')
      .whereIn('tenant_id', window.tenantIds)
      // ISO-8601 text on SQLite, timestamptz on PostgreSQL: the same literal compares correctly on both.
      .andWhere('created_at', '>=', window.since.toISOString())
  );
}

/** The UTC day (YYYY-MM-DD) of `created_at` on either dialect. */
function day(db: Knex): Knex.Raw {
  return isPostgres(db)
    ? db.raw(`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`)
    : db.raw('substr(created_at, 1, 10)');
}

export interface DailyCost {
  day: string;
  tenantId: string;
  feature: string | null;
  costMicroUsd: number;
}

/** Cost per UTC day, tenant and feature, in integer micro-USD summed by the database. */
export async function sumCostByDay(db: Knex, window: LedgerWindow): Promise<DailyCost[]> {
  const rows = (await ledger(db, window)
    .select(day(db).wrap('(', ') AS day'), 'tenant_id', 'feature', db.raw('SUM(cost_micro_usd) AS cost'))
    .groupByRaw('1, tenant_id, feature')
    .orderBy([{ column: 'day' }, { column: 'tenant_id' }, { column: 'feature' }])) as Array<{
    day: string;
    tenant_id: string;
    feature: string | null;
    cost: number | string;
  }>;
  return rows.map((row) => ({
    day: row.day,
    tenantId: row.tenant_id,
    feature: row.feature,
    costMicroUsd: Number(row.cost),
  }));
}

/** How one request went, from its ledger rows: attempts, routes tried, and whether it ended served. */
export interface RequestAttempts {
  day: string;
  workflowId: string;
  attempts: number;
  routes: number;
  failedAttempts: number;
}

/** Every charged request of the window with its attempts; retries and fallbacks are read from it. */
export async function listRequestAttempts(db: Knex, window: LedgerWindow): Promise<RequestAttempts[]> {
  const rows = (await ledger(db, window)
    .select(
      day(db).wrap('MIN(', ') AS day'),
      'workflow_id',
      db.raw('COUNT(*) AS attempts'),
      db.raw('COUNT(DISTINCT route_id) AS routes'),
      db.raw(`SUM(CASE WHEN outcome = 'succeeded' THEN 0 ELSE 1 END) AS failed`),
    )
    .groupBy('workflow_id')
    .orderBy('day')) as Array<{
    day: string;
    workflow_id: string;
    attempts: number | string;
    routes: number | string;
    failed: number | string;
  }>;
  return rows.map((row) => ({
    day: row.day,
    workflowId: row.workflow_id,
    attempts: Number(row.attempts),
    routes: Number(row.routes),
    failedAttempts: Number(row.failed),
  }));
}

export interface DailyCacheTokens {
  day: string;
  routeId: string;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** Cache-read and cache-write tokens per UTC day and route. */
export async function sumCacheTokensByDay(db: Knex, window: LedgerWindow): Promise<DailyCacheTokens[]> {
  const rows = (await ledger(db, window)
    .select(
      day(db).wrap('(', ') AS day'),
      'route_id',
      db.raw('SUM(cache_read_tokens) AS cache_read'),
      db.raw('SUM(cache_write_tokens) AS cache_write'),
    )
    .groupByRaw('1, route_id')
    .orderBy([{ column: 'day' }, { column: 'route_id' }])) as Array<{
    day: string;
    route_id: string;
    cache_read: number | string | null;
    cache_write: number | string | null;
  }>;
  return rows.map((row) => ({
    day: row.day,
    routeId: row.route_id,
    cacheReadTokens: Number(row.cache_read ?? 0),
    cacheWriteTokens: Number(row.cache_write ?? 0),
  }));
}
