/**
 * `gatehouse budgets set|show`: limits set from the CLI join the audit chain with their author, `show`
 * reports what the request path counted, and a limit changed by SQL fails `audit verify`.
 */
import { budgetPeriod } from '../../domain/budget-limits';
import { rateWindowOf } from '../../store/rate-limits';
import { listUsage } from '../../store/usage-repository';
import type { BudgetStatus } from '../../client/budget-status';
import { listAuditEvents } from '../../store/audit-repository';
import { governanceWorkflowId } from '../../governance/governance-attestation';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

describe('gatehouse budgets', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  const budgets = (...args: string[]) => runCli(harness.cliSettings(), 'budgets', ...args);
  /** `budgets set` on the demo tenant. */
  const setLimit = (...args: string[]) => budgets('set', '--tenant', 'demo', ...args);

  it('sets limits with an author, audited, and shows spent, reserved and remaining per window', async () => {
    const daily = await setLimit(
      '--feature',
      'faq',
      '--window',
      'daily',
      '--usd',
      '0.50',
      '--hard',
      '--approval-override',
      '--author',
      'alice@example.com',
    );
    expect(daily).toEqual(expect.objectContaining({ exitCode: 0, stderr: '' }));
    expect(daily.stdout).toMatch(/audited: budget-limit:faq:daily:usd:hard/);
    const monthly = await setLimit(
      '--window',
      'monthly',
      '--tokens',
      '2000000',
      '--soft',
      '--author',
      'bob@example.com',
    );
    expect(monthly.exitCode).toBe(0);
    const governance = await listAuditEvents(harness.db, {
      tenantId: 'demo',
      workflowId: governanceWorkflowId('demo'),
    });
    const authors = governance.map((event) => (event.payload as { author: string }).author);
    expect(authors).toEqual(
      expect.arrayContaining(['alice@example.com (demo-analyst)', 'bob@example.com (demo-analyst)']),
    );

    const result = await harness.gatehouse.execute(harness.input({ requestId: 'budgets-1', feature: 'faq' }));
    const show = await budgets('show', '--tenant', 'demo', '--format', 'json');
    expect(show.exitCode).toBe(0);
    const status = JSON.parse(show.stdout) as BudgetStatus;
    const rows = await listUsage(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    const cost = rows.reduce((total, row) => total + row.costMicroUsd, 0);
    const tokens = rows.reduce(
      (total, row) => total + row.inputTokens + row.outputTokens + row.cacheReadTokens + row.cacheWriteTokens,
      0,
    );
    expect(status.limits).toEqual([
      expect.objectContaining({
        feature: null,
        window: 'monthly',
        unit: 'tokens',
        kind: 'soft',
        period: budgetPeriod('monthly', new Date()),
        limit: 2_000_000,
        spent: tokens,
        reserved: 0,
        remaining: 2_000_000 - tokens,
        author: 'bob@example.com',
      }),
      expect.objectContaining({
        feature: 'faq',
        window: 'daily',
        unit: 'usd',
        kind: 'hard',
        approvalOverride: true,
        limit: 500_000,
        spent: cost,
        reserved: 0,
        remaining: 500_000 - cost,
      }),
    ]);
    expect(status.total?.reservedMicroUsd).toBe(0);
    const table = await budgets('show', '--tenant', 'demo');
    expect(table.stdout).toMatch(
      /faq\s+daily\s+\d{4}-\d{2}-\d{2}\s+hard \(approval may override\)\s+USD\s+0\.500000/,
    );
  });

  it('sets a tenant rate limit, audited, and shows the current minute', async () => {
    const set = await budgets(
      'rate-limit',
      '--tenant',
      'demo',
      '--requests-per-minute',
      '600',
      '--tokens-per-minute',
      '2000000',
      '--author',
      'carol@example.com',
    );
    expect(set).toEqual(expect.objectContaining({ exitCode: 0, stderr: '' }));
    expect(set.stdout).toMatch(/audited: rate-limit/);
    const before = rateWindowOf(new Date());
    await harness.gatehouse.execute(harness.input({ requestId: 'budgets-rate-1' }));
    const status = JSON.parse(
      (await budgets('show', '--tenant', 'demo', '--format', 'json')).stdout,
    ) as BudgetStatus;
    expect(status.rateLimit).toEqual(
      expect.objectContaining({
        requestsPerMinute: 600,
        tokensPerMinute: 2_000_000,
        author: 'carol@example.com',
      }),
    );
    // The request counted once in its minute (a minute that turned meanwhile starts from zero).
    expect(status.rateLimit!.requests).toBe(status.rateLimit!.window === before ? 1 : 0);
  });

  it('refuses a requester’s key and malformed limits', async () => {
    const refused = await setLimit(
      '--window',
      'daily',
      '--usd',
      '1',
      '--hard',
      '--author',
      'mallory',
      '--api-key',
      harness.contractorApiKey,
    );
    expect(refused.exitCode).toBe(5);
    const both = await setLimit(
      '--window',
      'daily',
      '--usd',
      '1',
      '--tokens',
      '5',
      '--hard',
      '--author',
      'x',
    );
    expect(both.stderr).toMatch(/exactly one of --usd and --tokens/);
    // Past 2^53 micro-USD or tokens a limit is no longer exact: refused, and nothing is written.
    const before = await harness.db('budget_limits').where({ tenant_id: 'demo' }).select();
    for (const amount of [
      ['--usd', '9999999999'],
      ['--tokens', '9007199254740993'],
    ]) {
      const huge = await setLimit('--window', 'daily', ...amount, '--hard', '--author', 'x');
      expect(huge.exitCode).toBe(1);
      expect(huge.stderr).toMatch(/a budget limit must be a non-negative integer/);
    }
    expect(await harness.db('budget_limits').where({ tenant_id: 'demo' }).select()).toEqual(before);
  });

  it('fails audit verify when a limit is changed outside Gatehouse', async () => {
    const verify = () => runCli(harness.cliSettings(), 'audit', 'verify', '--tenant', 'demo', '--no-history');
    expect((await verify()).exitCode).toBe(0);
    await harness
      .db('budget_limits')
      .where({ tenant_id: 'demo', feature: 'faq' })
      .update({ limit_value: 99_000_000 });
    const broken = await verify();
    expect(broken.exitCode).toBe(1);
    expect(broken.stdout).toMatch(/budget-limit:faq:daily:usd:hard was changed outside Gatehouse/);
  });
});
