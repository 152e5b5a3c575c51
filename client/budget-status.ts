import type { Knex } from 'knex';
import {
  budgetPeriod,
  nextPeriodStart,
  TENANT_WIDE,
  usageInUnit,
  type BudgetLimitKind,
  type BudgetUnit,
  type BudgetWindow,
} from '../domain/budget-limits';
import { getBudget } from '../store/budget-repository';
import { listBudgetLimits, windowUsages } from '../store/budget-windows';
import { getTenantRateLimit, rateWindowUsage } from '../store/rate-limits';
import { usdText } from './report-options';

/** One limit with its current window: what `budgets show` prints. */
export interface BudgetLimitStatus {
  feature: string | null;
  window: BudgetWindow;
  unit: BudgetUnit;
  kind: BudgetLimitKind;
  approvalOverride: boolean;
  period: string;
  resetsAt: string;
  limit: number;
  spent: number;
  reserved: number;
  remaining: number;
  author: string;
  updatedAt: string;
}

export interface BudgetStatus {
  tenantId: string;
  /** The tenant's budget row: every request reserves against it as well. */
  total: {
    limitMicroUsd: number;
    spentMicroUsd: number;
    reservedMicroUsd: number;
    overrunMicroUsd: number;
  } | null;
  limits: BudgetLimitStatus[];
  /** Requests and tokens per UTC minute, across every worker; null when the tenant has none. */
  rateLimit: {
    requestsPerMinute: number | null;
    tokensPerMinute: number | null;
    window: string;
    requests: number;
    tokens: number;
    author: string;
  } | null;
}

export async function readBudgetStatus(db: Knex, tenantId: string, now: Date): Promise<BudgetStatus> {
  const budget = await getBudget(db, tenantId);
  const stored = await listBudgetLimits(db, tenantId);
  const usageIn = await windowUsages(
    db,
    tenantId,
    stored.map((limit) => ({ feature: limit.feature, period: budgetPeriod(limit.window, now) })),
  );
  const limits: BudgetLimitStatus[] = [];
  for (const limit of stored) {
    const period = budgetPeriod(limit.window, now);
    const { spent, reserved } = usageInUnit(usageIn(limit.feature, period), limit.unit);
    limits.push({
      feature: limit.feature === TENANT_WIDE ? null : limit.feature,
      window: limit.window,
      unit: limit.unit,
      kind: limit.kind,
      approvalOverride: limit.approvalOverride,
      period,
      resetsAt: nextPeriodStart(limit.window, now).toISOString(),
      limit: limit.limit,
      spent,
      reserved,
      remaining: Math.max(0, limit.limit - spent - reserved),
      author: limit.author,
      updatedAt: limit.updatedAt,
    });
  }
  const rate = await getTenantRateLimit(db, tenantId);
  const rateUsage = await rateWindowUsage(db, tenantId, now);
  return {
    tenantId,
    rateLimit:
      rate === undefined
        ? null
        : {
            requestsPerMinute: rate.requestsPerMinute,
            tokensPerMinute: rate.tokensPerMinute,
            ...rateUsage,
            author: rate.author,
          },
    total:
      budget === undefined
        ? null
        : {
            limitMicroUsd: budget.limitMicroUsd,
            spentMicroUsd: budget.spentMicroUsd,
            reservedMicroUsd: budget.reservedMicroUsd,
            overrunMicroUsd: budget.overrunMicroUsd,
          },
    limits,
  };
}

export function formatBudgetStatus(status: BudgetStatus): string {
  const lines = [`budgets of tenant ${status.tenantId}`];
  lines.push(
    status.total === null
      ? 'total: no budget configured (every request is refused)'
      : `total: limit ${usdText(status.total.limitMicroUsd)} USD · spent ${usdText(status.total.spentMicroUsd)} · reserved ${usdText(status.total.reservedMicroUsd)} · remaining ${usdText(Math.max(0, status.total.limitMicroUsd - status.total.spentMicroUsd - status.total.reservedMicroUsd))}`,
  );
  if (status.rateLimit !== null) {
    const { rateLimit } = status;
    lines.push(
      `rate limit per minute: ${rateLimit.requestsPerMinute ?? 'no'} requests, ${rateLimit.tokensPerMinute ?? 'no'} tokens limit · ${rateLimit.requests} requests and ${rateLimit.tokens} tokens in ${rateLimit.window} (set by ${rateLimit.author})`,
    );
  }
  if (status.limits.length === 0) {
    lines.push('no daily or monthly limits');
    return `${lines.join('\n')}\n`;
  }
  const amount = (unit: BudgetUnit, value: number) => (unit === 'usd' ? usdText(value) : String(value));
  const header = [
    'feature',
    'window',
    'period',
    'kind',
    'unit',
    'limit',
    'spent',
    'reserved',
    'remaining',
    'set by',
  ];
  const rows = status.limits.map((limit) => [
    limit.feature ?? '(tenant)',
    limit.window,
    limit.period,
    limit.kind + (limit.approvalOverride ? ' (approval may override)' : ''),
    limit.unit === 'usd' ? 'USD' : 'tokens',
    amount(limit.unit, limit.limit),
    amount(limit.unit, limit.spent),
    amount(limit.unit, limit.reserved),
    amount(limit.unit, limit.remaining),
    limit.author,
  ]);
  const table = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const render = (row: string[]) =>
    row
      .map((cell, column) =>
        column >= 5 && column <= 8 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  lines.push(render(header), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(render));
  return `${lines.join('\n')}\n`;
}
