import { BudgetExceededError } from '../../client/errors';
import { getBudget, setBudget } from '../../store/budget-repository';
import { totalCostMicroUsd } from '../../store/usage-repository';
import { getTestTemporalAddress } from '../support/temporal-test-env';
import { startFleet, type Fleet } from './fleet';
import { report, scaled } from './processes';

const REQUESTS = scaled(60, 100);
const CONCURRENCY = 20;
const LIMIT_MICRO_USD = 1_000_000;
/** $100 per million output tokens × 500 tokens: every request reserves, and spends, $0.05. */
const MAX_OUTPUT_TOKENS = 500;
const COST_MICRO_USD = 50_000;

describe('concurrent spend against one budget', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      address: getTestTemporalAddress(),
      latencyMs: 200,
      // Always the longest answer, so the actual cost is the reserved worst case.
      script: { answer: 'word '.repeat(2_000).trim() },
      price: { input: 0, output: 100 },
      maxOutputTokens: MAX_OUTPUT_TOKENS,
      budget: { maxTotalAttempts: 1, maxFallbacks: 0 },
    });
    await fleet.db('budgets').where({ tenant_id: 'demo' }).delete();
    await setBudget(fleet.db, { tenantId: 'demo', limitMicroUsd: LIMIT_MICRO_USD });
    await fleet.startWorker('worker');
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it(`admits at most ${LIMIT_MICRO_USD / COST_MICRO_USD} of ${REQUESTS} $0.05 requests against $1.00, and never commits past the limit`, async () => {
    let sampling = true;
    let samples = 0;
    let worstCommitted = 0;
    const sampler = (async () => {
      while (sampling) {
        const budget = await getBudget(fleet.db, 'demo');
        if (budget) worstCommitted = Math.max(worstCommitted, budget.spentMicroUsd + budget.reservedMicroUsd);
        samples += 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    let next = 0;
    let admitted = 0;
    let refused = 0;
    const others: unknown[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          const index = next++;
          try {
            await fleet.gatehouse.execute(
              fleet.input({ requestId: `spend-${index}`, question: `What is the refund policy? (${index})` }),
            );
            admitted += 1;
          } catch (error) {
            if (error instanceof BudgetExceededError) refused += 1;
            else others.push(error);
          }
        }
      }),
    );
    sampling = false;
    await sampler;

    const budget = (await getBudget(fleet.db, 'demo'))!;
    const ledgerMicroUsd = await totalCostMicroUsd(fleet.db, 'demo');
    expect(others).toEqual([]);
    expect(admitted + refused).toBe(REQUESTS);
    expect(admitted).toBeLessThanOrEqual(LIMIT_MICRO_USD / COST_MICRO_USD);
    expect(admitted).toBeGreaterThan(0);
    expect(worstCommitted).toBeLessThanOrEqual(LIMIT_MICRO_USD);
    expect(budget.reservedMicroUsd).toBe(0);
    expect(budget.spentMicroUsd).toBe(ledgerMicroUsd);
    expect(budget.spentMicroUsd).toBeLessThanOrEqual(LIMIT_MICRO_USD);
    report('concurrent spend', {
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      admitted,
      refused,
      'spent (USD)': budget.spentMicroUsd / 1e6,
      'ledger (USD)': ledgerMicroUsd / 1e6,
      'highest spent + reserved seen (USD)': worstCommitted / 1e6,
      'budget samples': samples,
      'reserved at the end': budget.reservedMicroUsd,
    });
  });
});
