/**
 * A request priced by the pricing catalogue end to end: a cross-region profile route loaded through the
 * route table loader, a provider reporting cache reads and writes, the ledger row's cost and catalogue
 * version, and `report cost` totals equal to the ledger's sums to the cent.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPricingCatalogue } from '../../config/load-pricing-catalogue';
import { loadRouteTable } from '../../config/load-route-table';
import type { TokenUsage } from '../../domain/cost';
import type { InferenceRequest, InferenceResponse } from '../../domain/step-contracts';
import { ProviderError, type ModelProvider } from '../../providers/model-provider';
import { listUsage } from '../../store/usage-repository';
import { isolatedRouteTable, startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

const PROFILE = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const USAGE: TokenUsage = { inputTokens: 300, outputTokens: 50, cacheReadTokens: 2_000, cacheWriteTokens: 0 };
const FIRST_USAGE: TokenUsage = {
  inputTokens: 300,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 2_000,
};

function routeFile(): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'gatehouse-priced-')), 'routes.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: 'priced-test',
      routes: [
        {
          id: 'haiku',
          provider: 'bedrock',
          model: PROFILE,
          label: 'Claude 3.5 Haiku (scripted)',
          region: 'us-east-1',
          contextWindowTokens: 200_000,
          maxOutputTokens: 1024,
          dataClasses: ['public', 'internal', 'confidential'],
          taskQueue: 'route-haiku',
          retry: { maximumAttempts: 2, initialIntervalMs: 5 },
        },
      ],
      tasks: { default: { routes: ['haiku'] } },
    }),
  );
  return file;
}

/** Writes the cache on a billed first attempt that then fails, and reads it on the second. */
function cachingProvider(): ModelProvider {
  const attempts = new Map<string, number>();
  return {
    name: 'bedrock',
    async generate(request: InferenceRequest): Promise<InferenceResponse> {
      const attempt = (attempts.get(request.workflowId) ?? 0) + 1;
      attempts.set(request.workflowId, attempt);
      if (attempt === 1) {
        throw new ProviderError(
          'billed, then the model failed',
          { failureType: 'Inference.ModelError', retryable: true, fallback: true, code: '500' },
          FIRST_USAGE,
        );
      }
      return { text: 'An answer.', citedDocumentIds: [], finishReason: 'stop', usage: USAGE, latencyMs: 1 };
    },
  };
}

describe('catalogue prices on the ledger', () => {
  let harness: GatehouseHarness;
  const catalogue = loadPricingCatalogue();
  const table = loadRouteTable(routeFile(), catalogue);

  beforeAll(async () => {
    harness = await startHarness({
      routeTable: (suffix) => isolatedRouteTable(suffix, table),
      providers: { bedrock: cachingProvider() },
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('charges a cross-region profile at the base model’s prices, cache reads and writes included', async () => {
    const result = await harness.gatehouse.execute(harness.input({ requestId: 'priced-1', feature: 'faq' }));
    const rows = await listUsage(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    expect(rows.map((row) => [row.attempt, row.outcome, row.pricingVersion])).toEqual([
      [1, 'failed', catalogue.version],
      [2, 'succeeded', catalogue.version],
    ]);
    // $0.80 in, $4 out, $1 cache write, $0.08 cache read per million tokens:
    // 300 × 0.8 + 2,000 × 1 = 2,240 µ$; 300 × 0.8 + 50 × 4 + 2,000 × 0.08 = 600 µ$.
    expect(rows.map((row) => row.costMicroUsd)).toEqual([2_240, 600]);
    expect(rows[1]).toMatchObject({ cacheReadTokens: 2_000, cacheWriteTokens: 0, model: PROFILE });
    expect(rows[0]).toMatchObject({ cacheReadTokens: 0, cacheWriteTokens: 2_000 });
    expect(result.costUsd).toBeCloseTo(0.00284, 9);
  });

  it('reports cost totals equal to the ledger’s sums to the cent', async () => {
    for (const index of [2, 3, 4]) {
      await harness.gatehouse.execute(
        harness.input({ requestId: `priced-${index}`, feature: index === 4 ? 'search' : 'faq' }),
      );
    }
    const run = await runCli(
      harness.cliSettings(),
      'report',
      'cost',
      '--by',
      'tenant,feature',
      '--format',
      'json',
    );
    expect(run).toEqual(expect.objectContaining({ exitCode: 0, stderr: '' }));
    const report = JSON.parse(run.stdout) as {
      rows: Array<{ feature: string | null; costMicroUsd: number; costUsd: string }>;
      total: { costMicroUsd: number; costUsd: string; attempts: number };
    };
    const ledger = await listUsage(harness.db, { tenantId: 'demo' });
    const sum = (rows: typeof ledger) => rows.reduce((total, row) => total + row.costMicroUsd, 0);
    expect(report.total.costMicroUsd).toBe(sum(ledger));
    expect(report.total.costMicroUsd).toBe(4 * (2_240 + 600));
    expect(report.total.attempts).toBe(8);
    expect(Number(report.total.costUsd).toFixed(2)).toBe((sum(ledger) / 1_000_000).toFixed(2));
    for (const feature of ['faq', 'search']) {
      expect(report.rows.find((row) => row.feature === feature)?.costMicroUsd).toBe(
        sum(ledger.filter((row) => row.feature === feature)),
      );
    }
  });
});
