import { InvalidArgumentError, type Command } from 'commander';
import type { Knex } from 'knex';
import type { GatehouseSettings } from '../config/environment';
import { BUDGET_WINDOWS, TENANT_WIDE, type BudgetWindow } from '../domain/budget-limits';
import { usdToMicro } from '../domain/cost';
import { attestGovernanceChanges } from '../governance/governance-attestation';
import { putBudgetLimit } from '../store/budget-windows';
import { putTenantRateLimit } from '../store/rate-limits';
import { formatBudgetStatus, readBudgetStatus } from './budget-status';
import { auditWriter, authenticateOperator, CliError, resolveApiKey, withDatabase } from './cli-context';
import { demoTenantOption, operatorKeyOption, tenantOption } from './command-options';

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

/** What every budget change takes besides its own options. */
interface BudgetChangeOptions {
  tenant: string;
  author: string;
  apiKey?: string;
}

/**
 * A `budgets` subcommand that changes a tenant's limits: the tenant first, then the command's own options,
 * then its author and the operator's key. `check` refuses bad combinations before anything is opened;
 * `write` runs inside changeBudgets.
 */
function registerBudgetChange<Options extends BudgetChangeOptions>(
  budgets: Command,
  settings: GatehouseSettings,
  change: {
    name: string;
    description: string;
    options: (command: Command) => Command;
    check: (options: Options) => void;
    write: (db: Knex, options: Options) => Promise<unknown>;
  },
): void {
  change
    .options(budgets.command(change.name).description(change.description).addOption(tenantOption()))
    .requiredOption('--author <who>', 'who is making the change, for the audit trail')
    .addOption(operatorKeyOption())
    .action(async (options: Options) => {
      change.check(options);
      await changeBudgets(settings, options, (db) => change.write(db, options));
    });
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
  registerBudgetChange<BudgetChangeOptions & { requestsPerMinute?: number; tokensPerMinute?: number }>(
    budgets,
    settings,
    {
      name: 'rate-limit',
      description: 'requests and tokens per UTC minute for a tenant, held across every worker; audited',
      options: (command) =>
        command
          .option('--requests-per-minute <n>', 'requests admitted per minute', parsePerMinute)
          .option('--tokens-per-minute <n>', 'worst-case tokens admitted per minute', parsePerMinute),
      check: (options) => {
        if (options.requestsPerMinute === undefined && options.tokensPerMinute === undefined)
          throw new CliError('give --requests-per-minute, --tokens-per-minute or both');
      },
      write: (db, options) =>
        putTenantRateLimit(db, {
          tenantId: options.tenant,
          requestsPerMinute: options.requestsPerMinute ?? null,
          tokensPerMinute: options.tokensPerMinute ?? null,
          author: options.author,
        }),
    },
  );
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
  registerBudgetChange<
    BudgetChangeOptions & {
      feature?: string;
      window: BudgetWindow;
      usd?: number;
      tokens?: number;
      soft?: boolean;
      hard?: boolean;
      approvalOverride?: boolean;
    }
  >(budgets, settings, {
    name: 'set',
    description: 'sets one limit; the change joins the audit chain with its author',
    options: (command) =>
      command
        .option('--feature <name>', 'limit one product feature (default: the whole tenant)')
        .requiredOption('--window <window>', 'daily or monthly (UTC days and months)', parseWindow)
        .option('--usd <amount>', 'a limit in USD', parseUsd)
        .option(
          '--tokens <count>',
          'a limit in tokens (input, output and cache tokens together)',
          parseTokens,
        )
        .option('--soft', 'warn (audited) and let the request proceed')
        .option('--hard', 'refuse the request with Budget.Exceeded')
        .option(
          '--approval-override',
          'a hard limit an approver may lift for one request (the request waits)',
        ),
    check: (options) => {
      if ((options.usd === undefined) === (options.tokens === undefined))
        throw new CliError('give exactly one of --usd and --tokens');
      if (Boolean(options.soft) === Boolean(options.hard))
        throw new CliError('give exactly one of --soft and --hard');
      if (options.approvalOverride && !options.hard)
        throw new CliError('--approval-override applies to --hard limits');
    },
    write: (db, options) =>
      putBudgetLimit(db, {
        tenantId: options.tenant,
        feature: options.feature ?? TENANT_WIDE,
        window: options.window,
        unit: options.usd === undefined ? 'tokens' : 'usd',
        kind: options.hard ? 'hard' : 'soft',
        limit: options.usd ?? options.tokens!,
        approvalOverride: Boolean(options.approvalOverride),
        author: options.author,
      }),
  });
}
