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

/**
 * Per UTC day and `groupBy` columns (in that order), the database's sum of each `sums` column under its
 * alias, as a number (PostgreSQL returns sums as strings, and null where every value was null).
 */
async function sumPerDay<Group extends string, Alias extends string>(
  db: Knex,
  window: LedgerWindow,
  groupBy: readonly Group[],
  sums: Record<Alias, string>,
): Promise<Array<Record<'day', string> & Record<Group, unknown> & Record<Alias, number>>> {
  const aliases = Object.keys(sums) as Alias[];
  const rows = (await ledger(db, window)
    .select(
      day(db).wrap('(', ') AS day'),
      ...groupBy,
      ...aliases.map((alias) => db.raw('SUM(??) AS ??', [sums[alias], alias])),
    )
    .groupByRaw(['1', ...groupBy].join(', '))
    .orderBy(['day', ...groupBy].map((column) => ({ column })))) as Array<Record<string, unknown>>;
  return rows.map((row) => ({
    ...row,
    ...Object.fromEntries(aliases.map((alias) => [alias, Number(row[alias] ?? 0)])),
  })) as Array<Record<'day', string> & Record<Group, unknown> & Record<Alias, number>>;
}

/** Cost per UTC day, tenant and feature, in integer micro-USD summed by the database. */
export async function sumCostByDay(db: Knex, window: LedgerWindow): Promise<DailyCost[]> {
  const rows = await sumPerDay(db, window, ['tenant_id', 'feature'], { cost: 'cost_micro_usd' });
  return rows.map((row) => ({
    day: row.day,
    tenantId: row.tenant_id as string,
    feature: row.feature as string | null,
    costMicroUsd: row.cost,
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
  const rows = await sumPerDay(db, window, ['route_id'], {
    cache_read: 'cache_read_tokens',
    cache_write: 'cache_write_tokens',
  });
  return rows.map((row) => ({
    day: row.day,
    routeId: row.route_id as string,
    cacheReadTokens: row.cache_read,
    cacheWriteTokens: row.cache_write,
  }));
}
