import { InvalidArgumentError, type Command } from 'commander';
import type { Knex } from 'knex';
import type { GatehouseSettings } from '../config/environment';
import {
  isUsageDimension,
  sumUsage,
  USAGE_DIMENSIONS,
  type UsageDimension,
  type UsageGroup,
} from '../store/usage-report';
import { authenticateOperator, CliError, resolveApiKey, withDatabase } from './cli-context';
import { writeFileSync } from 'node:fs';
import { loadRouteTable } from '../config/load-route-table';
import { gatherLatencyAnatomy, withTemporalIfReachable } from './gather-latency';
import { gatherReportData } from './gather-report-data';
import { buildReportCharts } from './report-charts';
import { readChartLibrary, renderHtmlReport } from './render-html-report';
import { formatLatencyAnatomy, LATENCY_FORMATS, type LatencyFormat } from './latency-anatomy';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const FORMATS = ['table', 'csv', 'json'] as const;
type Format = (typeof FORMATS)[number];

/** `7d`, `24h`, `30m`, `2w` before `now`, or an ISO date/time. */
export function parseSince(text: string, now: Date = new Date()): Date {
  const relative = /^(\d+)([mhdw])$/.exec(text.trim());
  if (relative)
    return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]);
  const absolute = new Date(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(absolute.getTime())) return absolute;
  throw new InvalidArgumentError(
    'use a duration such as 7d, 24h, 30m, 2w, or an ISO date such as 2026-12-01',
  );
}

export function parseDimensions(text: string): UsageDimension[] {
  const dimensions = [
    ...new Set(
      text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = dimensions.filter((dimension) => !isUsageDimension(dimension));
  if (unknown.length > 0 || dimensions.length === 0) {
    throw new InvalidArgumentError(`group by one or more of ${Object.keys(USAGE_DIMENSIONS).join(', ')}`);
  }
  return dimensions as UsageDimension[];
}

/** Micro-USD as an exact decimal string (integers below 2^53 divide exactly at six places). */
export function usdText(microUsd: number): string {
  const sign = microUsd < 0 ? '-' : '';
  const absolute = Math.abs(microUsd);
  return `${sign}${Math.floor(absolute / 1_000_000)}.${String(absolute % 1_000_000).padStart(6, '0')}`;
}

export interface CostReport {
  tenants: string[];
  since: string;
  by: UsageDimension[];
  rows: UsageGroup[];
  /** The same sums without grouping (requests counted once each). */
  total: Omit<UsageGroup, 'keys'>;
}

const COLUMNS = [
  'requests',
  'attempts',
  'input tokens',
  'output tokens',
  'cache read',
  'cache write',
  'cost USD',
];

function cells(row: Omit<UsageGroup, 'keys'>): string[] {
  return [
    String(row.requests),
    String(row.attempts),
    String(row.inputTokens),
    String(row.outputTokens),
    String(row.cacheReadTokens),
    String(row.cacheWriteTokens),
    usdText(row.costMicroUsd),
  ];
}

export function formatCostReport(report: CostReport, format: Format): string {
  const keyCells = (row: UsageGroup) => report.by.map((dimension) => row.keys[dimension] ?? '');
  if (format === 'json') {
    const json = (row: Omit<UsageGroup, 'keys'>) => ({ ...row, costUsd: usdText(row.costMicroUsd) });
    return `${JSON.stringify(
      {
        tenants: report.tenants,
        since: report.since,
        by: report.by,
        rows: report.rows.map((row) => ({ ...row.keys, ...json(row) })),
        total: json(report.total),
      },
      null,
      2,
    )}\n`;
  }
  if (format === 'csv') {
    const quote = (cell: string) => (/[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
    const header = [
      ...report.by,
      'requests',
      'attempts',
      'input_tokens',
      'output_tokens',
      'cache_read_tokens',
      'cache_write_tokens',
      'cost_usd',
    ];
    const lines = report.rows.map((row) => [...keyCells(row), ...cells(row)].map(quote).join(','));
    return `${[header.join(','), ...lines].join('\n')}\n`;
  }
  const header = [...report.by, ...COLUMNS];
  const totalCells = ['total', ...report.by.slice(1).map(() => ''), ...cells(report.total)];
  const body = report.rows.map((row) => [...keyCells(row).map((cell) => cell || '(none)'), ...cells(row)]);
  const table = [header, ...body, totalCells];
  const widths = header.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  const render = (line: string[]) =>
    line
      .map((cell, column) =>
        column < report.by.length ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '─'.repeat(width)).join('  ');
  return `${[
    `cost since ${report.since} · tenant${report.tenants.length > 1 ? 's' : ''} ${report.tenants.join(', ')}`,
    render(header),
    rule,
    ...body.map(render),
    rule,
    render(totalCells),
  ].join('\n')}\n`;
}

/** `--tenant a,b`: the distinct tenant ids named. */
export function parseTenantIds(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  ];
}

function parseFormat<F extends string>(formats: readonly F[]) {
  return (value: string): F => {
    if (!(formats as readonly string[]).includes(value))
      throw new InvalidArgumentError(`one of ${formats.join(', ')}`);
    return value as F;
  };
}

export function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new InvalidArgumentError('a whole number ≥ 1');
  return parsed;
}

/** Authenticates the key as an admin or approver of every tenant named, then runs with the store. */
async function asOperatorOfTenants<T>(
  settings: GatehouseSettings,
  options: { tenant: string; apiKey?: string },
  run: (db: Knex, tenantIds: string[]) => Promise<T>,
): Promise<T> {
  const tenantIds = parseTenantIds(options.tenant);
  return withDatabase(settings, async (db) => {
    for (const tenantId of tenantIds) {
      await authenticateOperator(db, tenantId, resolveApiKey(settings, tenantId, options.apiKey));
    }
    return run(db, tenantIds);
  });
}

const TENANT_OPTION_HELP =
  'tenant id, or several separated by commas (the key must be an admin or approver of each)';
const API_KEY_OPTION_HELP =
  'an admin or approver key of the tenants (default: GATEHOUSE_API_KEY, or the demo key)';
const SINCE_OPTION_HELP = 'a duration back from now (7d, 24h, 30m, 2w) or an ISO date';

/**
 * `gatehouse report latency`: p50/p95/p99 per step, queueing vs work. Reads the newest runs recorded in
 * the window from the audit trail and their histories through Temporal (when it can be reached).
 */
function registerLatencyReport(report: Command, settings: GatehouseSettings): void {
  report
    .command('latency')
    .description(
      'p50/p95/p99 per step of the request path, split into queueing and work where Temporal tells it',
    )
    .option('-t, --tenant <ids>', TENANT_OPTION_HELP, 'demo')
    .option(
      '--by <grouping>',
      'step (one row per step of the request path, then workflow tasks and the whole request)',
      (value: string) => {
        if (value !== 'step') throw new InvalidArgumentError('step is the grouping latency is reported by');
        return value;
      },
      'step',
    )
    .option('--since <when>', SINCE_OPTION_HELP, (value: string) => parseSince(value), parseSince('1h'))
    .option('--limit <runs>', 'read at most this many runs, newest first', parsePositiveInteger, 500)
    .option(
      '--format <format>',
      LATENCY_FORMATS.join(', '),
      parseFormat(LATENCY_FORMATS),
      'table' as LatencyFormat,
    )
    .option('--api-key <key>', API_KEY_OPTION_HELP)
    .action(
      async (options: {
        tenant: string;
        since: Date;
        limit: number;
        format: LatencyFormat;
        apiKey?: string;
      }) => {
        await asOperatorOfTenants(settings, options, async (db, tenantIds) => {
          const anatomy = await withTemporalIfReachable(settings, (client) =>
            gatherLatencyAnatomy(db, client, { tenantIds, since: options.since, limit: options.limit }),
          );
          process.stdout.write(
            formatLatencyAnatomy(
              anatomy,
              { since: options.since.toISOString(), tenants: tenantIds },
              options.format,
            ),
          );
        });
      },
    );
}

/** `gatehouse report cost|latency`: the usage ledger summed by tenant, feature…; latency per step. */
export function registerReportCommands(program: Command, settings: GatehouseSettings): void {
  const report = program
    .command('report')
    .description('reports from the usage ledger, the audit trail and history')
    // `report --since 1d` and `report cost --since 30d` each keep their own options.
    .enablePositionalOptions()
    .option('--html <file>', 'write one self-contained HTML page with charts to this file')
    .option('-t, --tenant <ids>', TENANT_OPTION_HELP, 'demo')
    .option('--since <when>', SINCE_OPTION_HELP, (value: string) => parseSince(value), parseSince('7d'))
    .option(
      '--limit <runs>',
      'read the histories of at most this many runs, newest first',
      parsePositiveInteger,
      500,
    )
    .option('--api-key <key>', API_KEY_OPTION_HELP)
    .action(
      async (options: { html?: string; tenant: string; since: Date; limit: number; apiKey?: string }) => {
        if (!options.html)
          throw new CliError('name a report (cost, latency) or write one with --html <file>');
        const file = options.html;
        await asOperatorOfTenants(settings, options, async (db, tenantIds) => {
          const data = await withTemporalIfReachable(settings, (client) =>
            gatherReportData(db, client, {
              tenantIds,
              since: options.since,
              limit: options.limit,
              routeTable: loadRouteTable(settings.routesFile),
            }),
          );
          const charts = buildReportCharts(data);
          writeFileSync(
            file,
            renderHtmlReport(
              {
                title: `Gatehouse report · ${tenantIds.join(', ')}`,
                subtitle: `Since ${data.since} · generated ${data.generatedAt}`,
              },
              charts,
              readChartLibrary(),
            ),
          );
          process.stdout.write(
            `report written to ${file}: ${charts.length} charts, ${data.latency.runs} run(s), ${data.requests.length} charged request(s), ${data.feedback.length} feedback item(s)\n`,
          );
        });
      },
    );
  registerLatencyReport(report, settings);
  report
    .command('cost')
    .description('what was spent, grouped: every attempt the providers billed, failed ones included')
    .option(
      '-t, --tenant <ids>',
      'tenant id, or several separated by commas (the key must be an admin or approver of each)',
      'demo',
    )
    .option('--by <dimensions>', `group by: ${Object.keys(USAGE_DIMENSIONS).join(', ')}`, parseDimensions, [
      'tenant',
    ] as UsageDimension[])
    .option(
      '--since <when>',
      'a duration back from now (7d, 24h, 30m, 2w) or an ISO date',
      (value: string) => parseSince(value),
      parseSince('7d'),
    )
    .option(
      '--format <format>',
      `${FORMATS.join(', ')}`,
      (value: string) => {
        if (!(FORMATS as readonly string[]).includes(value))
          throw new InvalidArgumentError(`one of ${FORMATS.join(', ')}`);
        return value as Format;
      },
      'table' as Format,
    )
    .option(
      '--api-key <key>',
      'an admin or approver key of the tenants (default: GATEHOUSE_API_KEY, or the demo key)',
    )
    .action(
      async (options: {
        tenant: string;
        by: UsageDimension[];
        since: Date;
        format: Format;
        apiKey?: string;
      }) => {
        const tenantIds = [
          ...new Set(
            options.tenant
              .split(',')
              .map((id) => id.trim())
              .filter(Boolean),
          ),
        ];
        await withDatabase(settings, async (db) => {
          for (const tenantId of tenantIds) {
            await authenticateOperator(db, tenantId, resolveApiKey(settings, tenantId, options.apiKey));
          }
          const query = { tenantIds, since: options.since };
          const rows = await sumUsage(db, { ...query, by: options.by });
          // Summed again without grouping: a request whose attempts span two groups counts once here.
          const [total] = await sumUsage(db, { ...query, by: [] });
          const text = formatCostReport(
            {
              tenants: tenantIds,
              since: options.since.toISOString(),
              by: options.by,
              rows,
              total: total ?? {
                keys: {},
                requests: 0,
                attempts: 0,
                inputTokens: 0,
                outputTokens: 0,
                cacheReadTokens: 0,
                cacheWriteTokens: 0,
                costMicroUsd: 0,
              },
            },
            options.format,
          );
          process.stdout.write(text);
        });
      },
    );
}
