/**
 * Budget limits per tenant and per feature, in USD or tokens, over UTC days and months (docs/decisions/
 * 0021). Pure: the store reads the limits and the window's counters under the budget lock and asks
 * `evaluateBudgetLimits` whether to admit.
 */
export const BUDGET_WINDOWS = ['daily', 'monthly'] as const;
export type BudgetWindow = (typeof BUDGET_WINDOWS)[number];

export const BUDGET_UNITS = ['usd', 'tokens'] as const;
export type BudgetUnit = (typeof BUDGET_UNITS)[number];

export const BUDGET_LIMIT_KINDS = ['soft', 'hard'] as const;
export type BudgetLimitKind = (typeof BUDGET_LIMIT_KINDS)[number];

/** A feature-less limit covers the whole tenant. */
export const TENANT_WIDE = '';

export interface BudgetLimit {
  tenantId: string;
  /** `TENANT_WIDE` ('') or the feature the limit applies to. */
  feature: string;
  window: BudgetWindow;
  unit: BudgetUnit;
  kind: BudgetLimitKind;
  /** Micro-USD for `usd`, tokens for `tokens`. */
  limit: number;
  /** A hard limit an approver may lift for one request (the request waits for the decision). */
  approvalOverride: boolean;
}

/** What a (tenant, feature, period) has spent and holds reserved. */
export interface WindowUsage {
  spentMicroUsd: number;
  reservedMicroUsd: number;
  spentTokens: number;
  reservedTokens: number;
}

export const EMPTY_WINDOW_USAGE: WindowUsage = {
  spentMicroUsd: 0,
  reservedMicroUsd: 0,
  spentTokens: 0,
  reservedTokens: 0,
};

/** A window's spent and reserved in a limit's unit: micro-USD or tokens. */
export function usageInUnit(usage: WindowUsage, unit: BudgetUnit): { spent: number; reserved: number } {
  return unit === 'usd'
    ? { spent: usage.spentMicroUsd, reserved: usage.reservedMicroUsd }
    : { spent: usage.spentTokens, reserved: usage.reservedTokens };
}

/** The UTC day (`2026-12-02`) or month (`2026-12`) that `at` falls in: the key of its counters. */
export function budgetPeriod(window: BudgetWindow, at: Date): string {
  const day = at.toISOString().slice(0, 10);
  return window === 'daily' ? day : day.slice(0, 7);
}

/** The start of the next period, when a window's counters begin again. */
export function nextPeriodStart(window: BudgetWindow, at: Date): Date {
  return window === 'daily'
    ? new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1))
    : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}

export interface LimitCrossing {
  limit: BudgetLimit;
  period: string;
  /** Spent plus reserved before this request. */
  committed: number;
  requested: number;
}

export interface LimitEvaluation {
  /** Hard limits this request would cross; any one denies it unless an approval overrides. */
  denied: LimitCrossing[];
  /** Whether an approval may lift every denial: each crossed hard limit allows it. */
  overridable: boolean;
  /** Soft limits it crosses: it proceeds, and the crossing is audited. */
  warnings: LimitCrossing[];
}

/**
 * Which limits a request for `amountMicroUsd` and `tokens` would cross, given each limit's window usage
 * (`usageOf(feature, window)`). A limit is crossed when spent + reserved + requested exceeds it.
 */
export function evaluateBudgetLimits(
  limits: readonly BudgetLimit[],
  usageOf: (feature: string, window: BudgetWindow) => WindowUsage,
  request: { amountMicroUsd: number; tokens: number; at: Date },
): LimitEvaluation {
  const evaluation: LimitEvaluation = { denied: [], overridable: false, warnings: [] };
  for (const limit of limits) {
    const { spent, reserved } = usageInUnit(usageOf(limit.feature, limit.window), limit.unit);
    const committed = spent + reserved;
    const requested = limit.unit === 'usd' ? request.amountMicroUsd : request.tokens;
    if (committed + requested <= limit.limit) continue;
    const crossing = { limit, period: budgetPeriod(limit.window, request.at), committed, requested };
    (limit.kind === 'hard' ? evaluation.denied : evaluation.warnings).push(crossing);
  }
  evaluation.overridable =
    evaluation.denied.length > 0 && evaluation.denied.every((crossing) => crossing.limit.approvalOverride);
  return evaluation;
}

/** One line for a person: `feature faq daily USD hard limit 2.000000: 1.990000 committed + 0.050000 requested`. */
export function describeCrossing(crossing: LimitCrossing): string {
  const { limit } = crossing;
  const amount = (value: number) => (limit.unit === 'usd' ? (value / 1_000_000).toFixed(6) : String(value));
  const scope = limit.feature === TENANT_WIDE ? 'tenant' : `feature ${limit.feature}`;
  return (
    `${scope} ${limit.window} ${limit.unit === 'usd' ? 'USD' : 'token'} ${limit.kind} limit ` +
    `${amount(limit.limit)} (${crossing.period}): ${amount(crossing.committed)} committed + ` +
    `${amount(crossing.requested)} requested`
  );
}
