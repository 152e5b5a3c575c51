import { randomBytes } from 'node:crypto';
import { BudgetExceededError } from '../../client/errors';
import { attemptWorstCaseMicroUsd } from '../../domain/cost';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import type { InferenceRequest, InferenceResponse } from '../../domain/step-contracts';
import { ProviderError, type ModelProvider } from '../../providers/model-provider';
import { createLocalTokenCounter } from '../../providers/token-counter';
import { getBudget, listOpenReservations, setBudget } from '../../store/budget-repository';
import { totalCostMicroUsd } from '../../store/usage-repository';
import { mapWithConcurrency } from '../store/test-database';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const PRICE = { input: 10, output: 20 };
const MAX_OUTPUT = 256;
const OVERCOUNT = 1.2;

function table(suffix: string): RouteTable {
  return routeTableSchema.parse({
    version: 'budget-test',
    routes: [
      {
        id: 'billed',
        provider: 'openai-compatible',
        model: 'billed-model',
        label: 'a model that bills more than we estimate',
        endpoint: 'http://127.0.0.1:9/v1',
        priceUsdPerMillionTokens: PRICE,
        contextWindowTokens: 32_000,
        maxOutputTokens: MAX_OUTPUT,
        dataClasses: ['public', 'internal', 'confidential'],
        taskQueue: `route-billed-${suffix}`,
        retry: { maximumAttempts: 3, initialIntervalMs: 5, backoffCoefficient: 1, maximumIntervalMs: 5 },
      },
    ],
    tasks: {
      default: { routes: ['billed'], budget: { maxTotalAttempts: 3, maxFallbacks: 0, maxRetrySpendUsd: 10 } },
    },
    breaker: { failureThreshold: 10_000, windowMs: 1_000, cooldownMs: 1_000 },
  });
}

/**
 * Counts 20% more prompt tokens than the local estimate and always writes the maximum answer; the first
 * two attempts of every request fail after being billed, so each request uses its whole retry budget.
 */
function overcountingProvider(): ModelProvider & { billedMicroUsd: number } {
  const counter = createLocalTokenCounter();
  const attemptsByRequest = new Map<string, number>();
  const provider = {
    name: 'openai-compatible' as const,
    billedMicroUsd: 0,
    async generate(request: InferenceRequest): Promise<InferenceResponse> {
      const attempt = (attemptsByRequest.get(request.workflowId) ?? 0) + 1;
      attemptsByRequest.set(request.workflowId, attempt);
      const usage = {
        inputTokens: Math.ceil(
          (counter.count(request.prompt.system) + counter.count(request.prompt.user)) * OVERCOUNT,
        ),
        outputTokens: request.maxOutputTokens,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      };
      provider.billedMicroUsd += usage.inputTokens * PRICE.input + usage.outputTokens * PRICE.output;
      if (attempt < 3) {
        throw new ProviderError(
          'billed, then the stream broke',
          { failureType: 'Inference.ModelError', retryable: true, fallback: true, code: '500' },
          usage,
        );
      }
      return { text: 'An answer.', citedDocumentIds: [], finishReason: 'length', usage, latencyMs: 1 };
    },
  };
  return provider;
}

describe('budgets hold against estimation error and retries', () => {
  let harness: GatehouseHarness;
  let provider: ReturnType<typeof overcountingProvider>;

  beforeAll(async () => {
    provider = overcountingProvider();
    harness = await startHarness({ routeTable: table, providers: { 'openai-compatible': provider } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('never lets the ledger pass the limit by more than one attempt, and spent equals the ledger', async () => {
    const route = harness.routeTable.routes[0]!;
    // One attempt's worst case with a generous prompt: what the ledger may exceed the limit by, at most.
    const oneAttempt = attemptWorstCaseMicroUsd(route, 2_000, MAX_OUTPUT);
    const limit = 12 * oneAttempt;
    await setBudget(harness.db, { tenantId: 'demo', limitMicroUsd: limit });
    const spentBefore = (await getBudget(harness.db, 'demo'))!.spentMicroUsd;
    const ledgerBefore = await totalCostMicroUsd(harness.db, 'demo');
    await harness.db('budgets').where({ tenant_id: 'demo' }).update({ spent_micro_usd: 0 });

    const run = randomBytes(3).toString('hex');
    const outcomes = await mapWithConcurrency(
      Array.from({ length: 40 }, (_, index) => index),
      20,
      async (index) => {
        try {
          await harness.gatehouse.execute(
            harness.input({
              requestId: `budget-${run}-${index}`,
              question: `What is the refund policy? (${index})`,
            }),
          );
          return 'succeeded';
        } catch (error) {
          if (error instanceof BudgetExceededError) return 'over budget';
          throw error;
        }
      },
    );
    const ledger = (await totalCostMicroUsd(harness.db, 'demo')) - ledgerBefore;
    const budget = (await getBudget(harness.db, 'demo'))!;
    process.stdout.write(
      `budget ${limit} µ$, one attempt ≤ ${oneAttempt} µ$: ${outcomes.filter((o) => o === 'succeeded').length} succeeded, ` +
        `${outcomes.filter((o) => o === 'over budget').length} over budget; ledger ${ledger} µ$, provider billed ${provider.billedMicroUsd} µ$, ` +
        `spent ${budget.spentMicroUsd} µ$, overrun ${budget.overrunMicroUsd} µ$\n`,
    );
    expect(outcomes).toContain('succeeded');
    expect(outcomes).toContain('over budget');
    expect(ledger).toBe(provider.billedMicroUsd);
    expect(ledger).toBeLessThanOrEqual(limit + oneAttempt);
    expect(budget.spentMicroUsd).toBe(ledger);
    expect(budget.reservedMicroUsd).toBe(0);
    expect(await listOpenReservations(harness.db)).toEqual([]);
    await harness.db('budgets').where({ tenant_id: 'demo' }).update({ spent_micro_usd: spentBefore });
    await setBudget(harness.db, { tenantId: 'demo', limitMicroUsd: 25_000_000 });
  });
});
