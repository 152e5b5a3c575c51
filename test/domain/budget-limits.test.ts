import {
  budgetPeriod,
  describeCrossing,
  evaluateBudgetLimits,
  nextPeriodStart,
  type BudgetLimit,
  type WindowUsage,
} from '../../domain/budget-limits';

const AT = new Date('2026-12-31T23:59:59.999Z');

describe('budget periods are UTC days and months', () => {
  it.each([
    ['daily', '2026-12-31T23:59:59.999Z', '2026-12-31', '2027-01-01T00:00:00.000Z'],
    ['daily', '2027-01-01T00:00:00.000Z', '2027-01-01', '2027-01-02T00:00:00.000Z'],
    ['monthly', '2026-12-31T23:59:59.999Z', '2026-12', '2027-01-01T00:00:00.000Z'],
    ['monthly', '2027-02-28T10:00:00.000Z', '2027-02', '2027-03-01T00:00:00.000Z'],
  ] as const)('%s at %s is %s, the next starts %s', (window, at, period, next) => {
    expect(budgetPeriod(window, new Date(at))).toBe(period);
    expect(nextPeriodStart(window, new Date(at)).toISOString()).toBe(next);
  });
});

describe('evaluateBudgetLimits', () => {
  const limit = (overrides: Partial<BudgetLimit>): BudgetLimit => ({
    tenantId: 't',
    feature: '',
    window: 'daily',
    unit: 'usd',
    kind: 'hard',
    limit: 1_000,
    approvalOverride: false,
    ...overrides,
  });
  const usage = (spentMicroUsd: number, reservedMicroUsd: number, tokens = 0): WindowUsage => ({
    spentMicroUsd,
    reservedMicroUsd,
    spentTokens: tokens,
    reservedTokens: 0,
  });

  it.each([
    ['fits exactly', limit({}), usage(400, 100), 500, 0, [0, 0]],
    ['one micro-dollar over a hard limit', limit({}), usage(400, 101), 500, 0, [1, 0]],
    ['over a soft limit', limit({ kind: 'soft' }), usage(900, 0), 500, 0, [0, 1]],
    ['tokens over a token limit', limit({ unit: 'tokens' }), usage(0, 0, 900), 5, 101, [1, 0]],
    [
      'tokens within while dollars are not counted',
      limit({ unit: 'tokens' }),
      usage(10_000, 0, 0),
      5,
      1_000,
      [0, 0],
    ],
  ])('%s', (_case, entry, windowUsage, amountMicroUsd, tokens, [denied, warned]) => {
    const evaluation = evaluateBudgetLimits([entry], () => windowUsage, { amountMicroUsd, tokens, at: AT });
    expect([evaluation.denied.length, evaluation.warnings.length]).toEqual([denied, warned]);
  });

  it('is overridable only when every crossed hard limit allows an approver’s override', () => {
    const over = () => usage(1_000, 0);
    const request = { amountMicroUsd: 1, tokens: 0, at: AT };
    expect(evaluateBudgetLimits([limit({ approvalOverride: true })], over, request).overridable).toBe(true);
    expect(
      evaluateBudgetLimits([limit({ approvalOverride: true }), limit({ window: 'monthly' })], over, request)
        .overridable,
    ).toBe(false);
    expect(
      evaluateBudgetLimits([limit({ approvalOverride: true })], () => usage(0, 0), request).overridable,
    ).toBe(false);
  });

  it('reads each limit’s own feature and window', () => {
    const seen: string[] = [];
    evaluateBudgetLimits(
      [limit({}), limit({ feature: 'faq', window: 'monthly' })],
      (feature, window) => {
        seen.push(`${feature}/${window}`);
        return usage(0, 0);
      },
      { amountMicroUsd: 1, tokens: 1, at: AT },
    );
    expect(seen).toEqual(['/daily', 'faq/monthly']);
  });

  it('describes a crossing for a person', () => {
    const [crossing] = evaluateBudgetLimits(
      [limit({ feature: 'faq', limit: 2_000_000 })],
      () => usage(1_990_000, 0),
      {
        amountMicroUsd: 50_000,
        tokens: 0,
        at: AT,
      },
    ).denied;
    expect(describeCrossing(crossing!)).toBe(
      'feature faq daily USD hard limit 2.000000 (2026-12-31): 1.990000 committed + 0.050000 requested',
    );
  });
});
