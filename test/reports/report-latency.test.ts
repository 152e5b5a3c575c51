/**
 * `gatehouse report latency` against a real dev server: requests run by a real worker, then the report
 * reads the audit trail and the runs' histories through the Temporal client.
 */
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { runCli, runCliJson } from '../support/run-cli';

interface Row {
  name: string;
  kind: string;
  count: number;
  queueMs: { p50: number; p95: number; p99: number } | null;
  workMs: { p50: number; p95: number; p99: number };
}

interface JsonLatency {
  by: string;
  runs: number;
  historiesRead: number;
  rows: Row[];
}

describe('gatehouse report latency', () => {
  let harness: GatehouseHarness;
  const requests = 4;

  beforeAll(async () => {
    harness = await startHarness();
    for (let index = 0; index < requests; index++) {
      await harness.gatehouse.execute(harness.input({ requestId: `latency-${index}` }));
    }
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('splits activities into queueing and work from the histories, local activities from the audit trail', async () => {
    const run = await runCliJson<JsonLatency>(
      harness.cliSettings(),
      'report',
      'latency',
      '--by',
      'step',
      '--since',
      '1h',
    );
    expect(run).toEqual(expect.objectContaining({ exitCode: 0, stderr: '' }));
    const report = run.json;
    expect(report).toEqual(expect.objectContaining({ by: 'step', runs: requests, historiesRead: requests }));
    const row = (name: string) => report.rows.find((entry) => entry.name === name);
    // Regular activities on this path: infer and record — one execution each per request.
    for (const name of ['infer', 'record']) {
      expect(row(name)).toEqual(expect.objectContaining({ kind: 'activity', count: requests }));
      expect(row(name)!.queueMs).not.toBeNull();
    }
    const localSteps = ['authorize', 'plan-retrieval', 'retrieve', 'assemble-prompt', 'select-route'];
    for (const name of [...localSteps, 'validate']) {
      expect(row(name)).toEqual(
        expect.objectContaining({ kind: 'local activity', count: requests, queueMs: null }),
      );
    }
    expect(row('workflow tasks')!.count).toBeGreaterThanOrEqual(requests * 3);
    expect(row('request')).toEqual(expect.objectContaining({ kind: 'request', count: requests }));
    for (const entry of report.rows) {
      const { p50, p95, p99 } = entry.workMs;
      expect(p50).toBeGreaterThanOrEqual(0);
      expect(p50).toBeLessThanOrEqual(p95);
      expect(p95).toBeLessThanOrEqual(p99);
      // No piece of a request outlasts the slowest request.
      expect(p99).toBeLessThanOrEqual(row('request')!.workMs.p99);
    }
    expect(row('infer')!.workMs.p50 + row('infer')!.queueMs!.p50).toBeLessThan(row('request')!.workMs.p50);

    const table = await runCli(harness.cliSettings(), 'report', 'latency', '--since', '1h');
    expect(table.stdout).toMatch(/queueing and work of activities from 4 run histories/);
    expect(table.stdout).toMatch(/^infer\s+activity\s+4\s+\d+\.\d/m);
    const csv = await runCli(harness.cliSettings(), 'report', 'latency', '--format', 'csv', '--limit', '2');
    expect(csv.stdout.trim().split('\n')).toContainEqual(expect.stringMatching(/^record,activity,2,/));
  });

  it('without Temporal, reports what the audit trail measured and says so', async () => {
    const run = await runCliJson<JsonLatency>(
      harness.cliSettings({ TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      'report',
      'latency',
    );
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/cannot reach Temporal .*\nReading the audit trail only/);
    const report = run.json;
    expect(report.historiesRead).toBe(0);
    expect(report.rows.map((entry) => entry.kind)).toEqual(report.rows.map(() => 'step'));
    expect(report.rows.find((entry) => entry.name === 'infer')!.count).toBe(requests);
  });

  it('refuses a key that is not an operator’s', async () => {
    const contractor = await runCli(
      harness.cliSettings(),
      'report',
      'latency',
      '--api-key',
      harness.contractorApiKey,
    );
    expect(contractor.exitCode).toBe(5);
  });
});
