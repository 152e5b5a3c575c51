/**
 * `gatehouse report cost`: the usage ledger grouped by tenant and feature (or any other dimension),
 * whose totals equal the ledger's own sums, on SQLite and (with DATABASE_URL) PostgreSQL.
 */
import { parseDimensions, parseSince, usdText } from '../../client/report-options';
import { readSettings, type GatehouseSettings } from '../../config/environment';
import { listUsage, recordUsage, type NewUsageRecord } from '../../store/usage-repository';
import { createSeededDatabase, type IsolatedDatabase } from '../support/gatehouse-harness';
import { runCli, runCliJson } from '../support/run-cli';

function ledgerRow(workflow: string, attempt: number, overrides: Partial<NewUsageRecord>): NewUsageRecord {
  return {
    tenantId: 'demo',
    workflowId: `gatehouse/demo/${workflow}`,
    runId: 'run-1',
    attempt,
    routeId: 'claude',
    provider: 'bedrock',
    model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    principalId: 'analyst',
    feature: 'refund-faq',
    taskType: 'qa',
    promptRef: 'qa@1',
    inputTokens: 1_000,
    outputTokens: 200,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costMicroUsd: 1_600,
    outcome: 'succeeded',
    failureType: null,
    usageEstimated: false,
    pricingVersion: '2026-12-01.1',
    ...overrides,
  };
}

interface JsonReport {
  rows: { tenant: string; feature: string | null; requests: number; costMicroUsd: number; costUsd: string }[];
  total: { requests: number; attempts: number; costMicroUsd: number; costUsd: string; inputTokens: number };
}

describe('gatehouse report cost', () => {
  let database: IsolatedDatabase;
  let settings: GatehouseSettings;
  let contractorKey: string;

  beforeAll(async () => {
    const seeded = await createSeededDatabase('report');
    database = seeded;
    const { apiKey } = seeded;
    contractorKey = seeded.contractorApiKey;
    settings = { ...readSettings({ GATEHOUSE_API_KEY: apiKey }), ...database.location };
    await recordUsage(database.db, [
      // A throttled attempt, then a fallback that answered: both billed, one request.
      ledgerRow('r1', 1, {
        outcome: 'failed',
        failureType: 'Inference.RateLimited',
        costMicroUsd: 800,
        outputTokens: 0,
      }),
      ledgerRow('r1', 2, {
        routeId: 'extractive',
        model: 'extractive-v1',
        provider: 'extractive',
        costMicroUsd: 61,
      }),
      ledgerRow('r2', 1, { costMicroUsd: 1_234_567, cacheReadTokens: 500 }),
      ledgerRow('r3', 1, { feature: 'search', costMicroUsd: 333 }),
      ledgerRow('r4', 1, { feature: null, costMicroUsd: 7 }),
      ledgerRow('old', 1, { costMicroUsd: 999_999 }),
    ]);
    // Ten days old: outside `--since 7d`.
    await database
      .db('usage_ledger')
      .where({ workflow_id: 'gatehouse/demo/old' })
      .update({ created_at: new Date(Date.now() - 10 * 86_400_000).toISOString() });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('groups by tenant and feature, and its totals equal the ledger’s sums to the micro-dollar', async () => {
    const run = await runCliJson<JsonReport>(
      settings,
      'report',
      'cost',
      '--by',
      'tenant,feature',
      '--since',
      '7d',
    );
    expect(run).toEqual(expect.objectContaining({ exitCode: 0, stderr: '' }));
    const report = run.json;
    const cutoff = Date.now() - 7 * 86_400_000;
    const ledger = (await listUsage(database.db, { tenantId: 'demo' })).filter(
      (row) => Date.parse(row.createdAt) >= cutoff,
    );
    const sum = (rows: typeof ledger) => rows.reduce((total, row) => total + row.costMicroUsd, 0);
    expect(report.total.costMicroUsd).toBe(sum(ledger));
    expect(report.total.costMicroUsd).toBe(800 + 61 + 1_234_567 + 333 + 7);
    expect(report.total.costUsd).toBe('1.235768');
    expect(report.total.attempts).toBe(ledger.length);
    expect(report.total.requests).toBe(4);
    expect(report.rows.map((row) => [row.feature, row.requests, row.costMicroUsd])).toEqual([
      ['refund-faq', 2, sum(ledger.filter((row) => row.feature === 'refund-faq'))],
      ['search', 1, 333],
      [null, 1, 7],
    ]);
    expect(report.rows.every((row) => row.tenant === 'demo')).toBe(true);
  });

  it('writes CSV and a table whose figures add up to the same total', async () => {
    const csv = await runCli(settings, 'report', 'cost', '--by', 'feature,route', '--format', 'csv');
    expect(csv.exitCode).toBe(0);
    const [header, ...lines] = csv.stdout.trim().split('\n');
    expect(header).toBe(
      'feature,route,requests,attempts,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_usd,feedback_count,feedback_mean_score',
    );
    const micro = lines.map((line) => Math.round(Number(line.split(',').at(-3)) * 1_000_000));
    expect(micro.reduce((total, value) => total + value, 0)).toBe(1_235_768);
    expect(lines).toContain('refund-faq,extractive,1,1,1000,200,0,0,0.000061,0,');

    const table = await runCli(settings, 'report', 'cost', '--by', 'tenant,feature');
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^total\s+4\s+5\s+5000\s+800\s+500\s+0\s+1\.235768\s+0\s+—$/m);
    expect(table.stdout).toMatch(/^demo\s+\(none\)\s+1\s+1\s+.*0\.000007\s+0\s+—$/m);
  });

  it('counts the old row with a longer window, and refuses a key that is not an operator’s', async () => {
    const month = await runCliJson<JsonReport>(settings, 'report', 'cost', '--since', '30d');
    expect(month.json.total.costMicroUsd).toBe(1_235_768 + 999_999);
    const contractor = await runCli(settings, 'report', 'cost', '--api-key', contractorKey);
    expect(contractor.exitCode).toBe(5);
  });
});

describe('report helpers', () => {
  const now = new Date('2026-12-02T12:00:00Z');
  it.each([
    ['7d', '2026-11-25T12:00:00.000Z'],
    ['24h', '2026-12-01T12:00:00.000Z'],
    ['30m', '2026-12-02T11:30:00.000Z'],
    ['2w', '2026-11-18T12:00:00.000Z'],
    ['2026-12-01', '2026-12-01T00:00:00.000Z'],
  ])('--since %s', (text, expected) => {
    expect(parseSince(text, now).toISOString()).toBe(expected);
  });
  it('rejects what is neither a duration nor a date', () => {
    expect(() => parseSince('last week', now)).toThrow(/duration/);
  });
  it('groups by known dimensions only', () => {
    expect(parseDimensions('tenant, feature,tenant')).toEqual(['tenant', 'feature']);
    expect(() => parseDimensions('tenant,colour')).toThrow(/group by one or more of tenant, feature/);
    expect(() => parseDimensions('')).toThrow(/group by/);
  });
  it.each([
    [0, '0.000000'],
    [7, '0.000007'],
    [1_235_768, '1.235768'],
    [12_000_000, '12.000000'],
  ])('usdText(%i) = %s', (micro, text) => {
    expect(usdText(micro)).toBe(text);
  });
});
