import { InvalidArgumentError, type Command } from 'commander';
import type { GatehouseSettings } from '../config/environment';
import {
  isUsageDimension,
  sumUsage,
  USAGE_DIMENSIONS,
  type UsageDimension,
  type UsageGroup,
} from '../store/usage-report';
import { authenticateOperator, resolveApiKey, withDatabase } from './cli-context';

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

/** `gatehouse report cost`: the usage ledger summed by tenant, feature, task, route, model… */
export function registerReportCommands(program: Command, settings: GatehouseSettings): void {
  const report = program.command('report').description('reports from the usage ledger');
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
            await authenticateOperator(
              db,
              tenantId,
              resolveApiKey(settings, tenantId, options.apiKey),
              'audit',
            );
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
