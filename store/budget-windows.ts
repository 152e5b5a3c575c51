import type { Knex } from 'knex';
import {
  budgetPeriod,
  EMPTY_WINDOW_USAGE,
  TENANT_WIDE,
  type BudgetLimit,
  type BudgetLimitKind,
  type BudgetUnit,
  type BudgetWindow,
  type WindowUsage,
} from '../domain/budget-limits';
import { isPostgres, nowIso, toIsoTimestamp, toSafeInteger } from './knex-client';
import { columnsAsFields } from './row-fields';

/**
 * The counters of budget windows (docs/decisions/0021). Every function that changes them runs in a
 * transaction that already holds the tenant's budget row lock (store/budget-repository.ts), so a window's
 * spent + reserved is checked and raised in one step across every process.
 */

/** Where one reservation's amounts are counted: the tenant and its feature, in the day and month it was admitted. */
export interface WindowScope {
  tenantId: string;
  feature: string | null;
  dayPeriod: string;
  monthPeriod: string;
}

export interface StoredBudgetLimit extends BudgetLimit {
  author: string;
  updatedAt: string;
}

interface LimitRow {
  tenant_id: string;
  feature: string;
  budget_window: BudgetWindow;
  unit: BudgetUnit;
  kind: BudgetLimitKind;
  limit_value: number | string;
  approval_override: boolean | number;
  author: string;
  updated_at: unknown;
}

interface UsageRow {
  tenant_id: string;
  feature: string;
  period: string;
  spent_micro_usd: number | string;
  reserved_micro_usd: number | string;
  spent_tokens: number | string;
  reserved_tokens: number | string;
}

export function windowScopeAt(tenantId: string, feature: string | null | undefined, at: Date): WindowScope {
  return {
    tenantId,
    feature: feature ?? null,
    dayPeriod: budgetPeriod('daily', at),
    monthPeriod: budgetPeriod('monthly', at),
  };
}

function counterKeys(scope: WindowScope): Array<{ feature: string; period: string }> {
  const features = scope.feature === null ? [TENANT_WIDE] : [TENANT_WIDE, scope.feature];
  return features.flatMap((feature) => [
    { feature, period: scope.dayPeriod },
    { feature, period: scope.monthPeriod },
  ]);
}

/** The limits that apply to a request of `feature`: the tenant-wide ones and the feature's own. */
export async function limitsFor(db: Knex, tenantId: string, feature: string | null): Promise<BudgetLimit[]> {
  const features = feature === null ? [TENANT_WIDE] : [TENANT_WIDE, feature];
  const rows = (await db<LimitRow>('budget_limits')
    .where({ tenant_id: tenantId })
    .whereIn('feature', features)) as LimitRow[];
  return rows.map(toLimit);
}

/** Every limit of a tenant, tenant-wide first, then by feature, window, unit and kind. */
export async function listBudgetLimits(db: Knex, tenantId: string): Promise<StoredBudgetLimit[]> {
  const rows = (await db<LimitRow>('budget_limits')
    .where({ tenant_id: tenantId })
    .orderBy(['feature', 'budget_window', 'unit', 'kind'])) as LimitRow[];
  return rows.map((row) => ({
    ...toLimit(row),
    author: row.author,
    updatedAt: toIsoTimestamp(row.updated_at),
  }));
}

/** Sets (or replaces) one limit; the caller audits it with its author. */
export async function putBudgetLimit(db: Knex, limit: BudgetLimit & { author: string }): Promise<void> {
  if (!Number.isSafeInteger(limit.limit) || limit.limit < 0) {
    throw new RangeError(`a budget limit must be a non-negative integer, got ${limit.limit}`);
  }
  await db('budget_limits')
    .insert({
      tenant_id: limit.tenantId,
      feature: limit.feature,
      budget_window: limit.window,
      unit: limit.unit,
      kind: limit.kind,
      limit_value: limit.limit,
      approval_override: isPostgres(db) ? limit.approvalOverride : limit.approvalOverride ? 1 : 0,
      author: limit.author,
      updated_at: nowIso(),
    })
    .onConflict(['tenant_id', 'feature', 'budget_window', 'unit', 'kind'])
    .merge(['limit_value', 'approval_override', 'author', 'updated_at']);
}

/** Spent and reserved of (tenant, feature, period); zero where nothing was counted yet. */
export async function windowUsage(
  db: Knex,
  tenantId: string,
  feature: string,
  period: string,
): Promise<WindowUsage> {
  return (await windowUsages(db, tenantId, [{ feature, period }]))(feature, period);
}

/**
 * Spent and reserved of each of a tenant's (feature, period) `keys`, read at once: the lookup gives zero
 * where nothing was counted yet.
 */
export async function windowUsages(
  db: Knex,
  tenantId: string,
  keys: ReadonlyArray<{ feature: string; period: string }>,
): Promise<(feature: string, period: string) => WindowUsage> {
  if (keys.length === 0) return () => EMPTY_WINDOW_USAGE;
  const rows = (await db<UsageRow>('budget_window_usage')
    .where({ tenant_id: tenantId })
    .whereIn('feature', [...new Set(keys.map((key) => key.feature))])
    .whereIn('period', [...new Set(keys.map((key) => key.period))])) as UsageRow[];
  const usage = new Map(rows.map((row) => [`${row.feature}\u0000${row.period}`, toUsage(row)]));
  return (feature, period) => usage.get(`${feature}\u0000${period}`) ?? EMPTY_WINDOW_USAGE;
}

/** Adds signed amounts to every counter of `scope` (creating them at zero first). */
export async function adjustWindows(
  trx: Knex.Transaction,
  scope: WindowScope,
  delta: Partial<WindowUsage>,
): Promise<void> {
  const columns = {
    spent_micro_usd: delta.spentMicroUsd ?? 0,
    reserved_micro_usd: delta.reservedMicroUsd ?? 0,
    spent_tokens: delta.spentTokens ?? 0,
    reserved_tokens: delta.reservedTokens ?? 0,
  };
  const changes = Object.entries(columns).filter(([, value]) => value !== 0);
  if (changes.length === 0) return;
  for (const key of counterKeys(scope)) {
    const where = { tenant_id: scope.tenantId, feature: key.feature, period: key.period };
    await trx('budget_window_usage').insert(where).onConflict(['tenant_id', 'feature', 'period']).ignore();
    await trx('budget_window_usage')
      .where(where)
      .update(
        Object.fromEntries(
          changes.map(([column, value]) => [
            column,
            // A release of more than the window holds breaks its CHECK: an error, never clamped away.
            trx.raw(`${column} + ?`, [value]),
          ]),
        ),
      );
  }
}

function toLimit(row: LimitRow): BudgetLimit {
  return {
    ...columnsAsFields(row, ['tenant_id', 'feature', 'unit', 'kind']),
    window: row.budget_window,
    limit: toSafeInteger(row.limit_value),
    approvalOverride: row.approval_override === true || Number(row.approval_override) === 1,
  };
}

function toUsage(row: UsageRow): WindowUsage {
  return {
    spentMicroUsd: toSafeInteger(row.spent_micro_usd),
    reservedMicroUsd: toSafeInteger(row.reserved_micro_usd),
    spentTokens: toSafeInteger(row.spent_tokens),
    reservedTokens: toSafeInteger(row.reserved_tokens),
  };
}
