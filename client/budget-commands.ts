import { InvalidArgumentError, type Command } from 'commander';
import type { Knex } from 'knex';
import type { GatehouseSettings } from '../config/environment';
import {
  BUDGET_WINDOWS,
  budgetPeriod,
  nextPeriodStart,
  TENANT_WIDE,
  type BudgetLimitKind,
  type BudgetUnit,
  type BudgetWindow,
} from '../domain/budget-limits';
import { usdToMicro } from '../domain/cost';
import { attestGovernanceChanges } from '../governance/governance-attestation';
import { getBudget } from '../store/budget-repository';
import { listBudgetLimits, putBudgetLimit, windowUsage } from '../store/budget-windows';
import { getTenantRateLimit, putTenantRateLimit, rateWindowUsage } from '../store/rate-limits';
import { auditWriter, authenticateOperator, CliError, resolveApiKey, withDatabase } from './cli-context';
import { usdText } from './report-options';
import { demoTenantOption, operatorKeyOption, tenantOption } from './command-options';

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
  const limits: BudgetLimitStatus[] = [];
  for (const limit of await listBudgetLimits(db, tenantId)) {
    const period = budgetPeriod(limit.window, now);
    const usage = await windowUsage(db, tenantId, limit.feature, period);
    const [spent, reserved] =
      limit.unit === 'usd'
        ? [usage.spentMicroUsd, usage.reservedMicroUsd]
        : [usage.spentTokens, usage.reservedTokens];
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

function parseWindow(value: string): BudgetWindow {
  if (!(BUDGET_WINDOWS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`one of ${BUDGET_WINDOWS.join(', ')}`);
  return value as BudgetWindow;
}

function parseUsd(value: string): number {
  if (!/^\d+(\.\d{1,6})?$/.test(value)) throw new InvalidArgumentError('an amount in USD such as 25 or 0.50');
  return usdToMicro(Number(value));
}

function parseTokens(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a whole number of tokens');
  return Number(value);
}

function parsePerMinute(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('a positive whole number');
  return Number(value);
}

/** `gatehouse budgets rate-limit`: requests and tokens per minute for a tenant, across every worker. */
function registerRateLimitCommand(budgets: Command, settings: GatehouseSettings): void {
  budgets
    .command('rate-limit')
    .description('requests and tokens per UTC minute for a tenant, held across every worker; audited')
    .addOption(tenantOption())
    .option('--requests-per-minute <n>', 'requests admitted per minute', parsePerMinute)
    .option('--tokens-per-minute <n>', 'worst-case tokens admitted per minute', parsePerMinute)
    .requiredOption('--author <who>', 'who is making the change, for the audit trail')
    .addOption(operatorKeyOption())
    .action(
      async (options: {
        tenant: string;
        requestsPerMinute?: number;
        tokensPerMinute?: number;
        author: string;
        apiKey?: string;
      }) => {
        if (options.requestsPerMinute === undefined && options.tokensPerMinute === undefined)
          throw new CliError('give --requests-per-minute, --tokens-per-minute or both');
        await changeBudgets(settings, options, async (db) => {
          await putTenantRateLimit(db, {
            tenantId: options.tenant,
            requestsPerMinute: options.requestsPerMinute ?? null,
            tokensPerMinute: options.tokensPerMinute ?? null,
            author: options.author,
          });
        });
      },
    );
}

/**
 * One change to a tenant's limits: made as an authenticated operator, audited with its author (the audit
 * keys are loaded before anything is written), then the tenant's budgets as they now stand.
 */
async function changeBudgets(
  settings: GatehouseSettings,
  options: { tenant: string; apiKey?: string; author: string },
  write: (db: Knex) => Promise<unknown>,
): Promise<void> {
  await withDatabase(settings, async (db) => {
    const principal = await authenticateOperator(
      db,
      options.tenant,
      resolveApiKey(settings, options.tenant, options.apiKey),
    );
    const writer = auditWriter(settings, db);
    await write(db);
    const changes = await attestGovernanceChanges(
      writer,
      options.tenant,
      `${options.author} (${principal.id})`,
    );
    const audited = changes.map((change) => change.item).join(', ') || 'no change';
    process.stdout.write(
      `${formatBudgetStatus(await readBudgetStatus(db, options.tenant, new Date()))}audited: ${audited}\n`,
    );
  });
}

/** `gatehouse budgets show|set|rate-limit`: limits per tenant and feature, daily and monthly, in USD or tokens. */
export function registerBudgetCommands(program: Command, settings: GatehouseSettings): void {
  const budgets = program
    .command('budgets')
    .description('budget limits per tenant and feature, and rate limits');
  registerRateLimitCommand(budgets, settings);
  budgets
    .command('show')
    .description('limits, spent, reserved and remaining in the current day and month (UTC)')
    .addOption(demoTenantOption())
    .option(
      '--format <format>',
      'table or json',
      (value: string) => {
        if (value !== 'table' && value !== 'json') throw new InvalidArgumentError('table or json');
        return value;
      },
      'table',
    )
    .addOption(operatorKeyOption())
    .action(async (options: { tenant: string; format: string; apiKey?: string }) => {
      await withDatabase(settings, async (db) => {
        await authenticateOperator(
          db,
          options.tenant,
          resolveApiKey(settings, options.tenant, options.apiKey),
        );
        const status = await readBudgetStatus(db, options.tenant, new Date());
        process.stdout.write(
          options.format === 'json' ? `${JSON.stringify(status, null, 2)}\n` : formatBudgetStatus(status),
        );
      });
    });
  budgets
    .command('set')
    .description('sets one limit; the change joins the audit chain with its author')
    .addOption(tenantOption())
    .option('--feature <name>', 'limit one product feature (default: the whole tenant)')
    .requiredOption('--window <window>', 'daily or monthly (UTC days and months)', parseWindow)
    .option('--usd <amount>', 'a limit in USD', parseUsd)
    .option('--tokens <count>', 'a limit in tokens (input, output and cache tokens together)', parseTokens)
    .option('--soft', 'warn (audited) and let the request proceed')
    .option('--hard', 'refuse the request with Budget.Exceeded')
    .option('--approval-override', 'a hard limit an approver may lift for one request (the request waits)')
    .requiredOption('--author <who>', 'who is making the change, for the audit trail')
    .addOption(operatorKeyOption())
    .action(
      async (options: {
        tenant: string;
        feature?: string;
        window: BudgetWindow;
        usd?: number;
        tokens?: number;
        soft?: boolean;
        hard?: boolean;
        approvalOverride?: boolean;
        author: string;
        apiKey?: string;
      }) => {
        if ((options.usd === undefined) === (options.tokens === undefined))
          throw new CliError('give exactly one of --usd and --tokens');
        if (Boolean(options.soft) === Boolean(options.hard))
          throw new CliError('give exactly one of --soft and --hard');
        if (options.approvalOverride && !options.hard)
          throw new CliError('--approval-override applies to --hard limits');
        await changeBudgets(settings, options, async (db) => {
          await putBudgetLimit(db, {
            tenantId: options.tenant,
            feature: options.feature ?? TENANT_WIDE,
            window: options.window,
            unit: options.usd === undefined ? 'tokens' : 'usd',
            kind: options.hard ? 'hard' : 'soft',
            limit: options.usd ?? options.tokens!,
            approvalOverride: Boolean(options.approvalOverride),
            author: options.author,
          });
        });
      },
    );
}
