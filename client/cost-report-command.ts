import { InvalidArgumentError, type Command } from 'commander';
import type { GatehouseSettings } from '../config/environment';
import {
  sumFeedbackByGroup,
  sumUsage,
  USAGE_DIMENSIONS,
  type GroupFeedback,
  type UsageDimension,
  type UsageGroup,
} from '../store/usage-report';
import {
  API_KEY_OPTION_HELP,
  asOperatorOfTenants,
  FORMATS,
  parseDimensions,
  parseSince,
  usdText,
  type Format,
} from './report-options';

export interface CostReport {
  tenants: string[];
  since: string;
  by: UsageDimension[];
  rows: UsageGroup[];
  /** The same sums without grouping (requests counted once each). */
  total: Omit<UsageGroup, 'keys'>;
  /** Feedback on each group's requests, keyed by its dimension values as JSON; `[]` is the total. */
  feedback: Map<string, GroupFeedback>;
}

function feedbackOf(report: CostReport, keys: UsageGroup['keys'] | undefined): GroupFeedback {
  const key = JSON.stringify(keys === undefined ? [] : report.by.map((dimension) => keys[dimension] ?? null));
  return report.feedback.get(key) ?? { count: 0, scoreSum: 0 };
}

/** Mean score to two places, or null without feedback. */
function meanScore(feedback: GroupFeedback): number | null {
  return feedback.count === 0 ? null : Math.round((feedback.scoreSum / feedback.count) * 100) / 100;
}

const COLUMNS = [
  'requests',
  'attempts',
  'input tokens',
  'output tokens',
  'cache read',
  'cache write',
  'cost USD',
  'feedback',
  'score',
];

function cells(row: Omit<UsageGroup, 'keys'>, feedback: GroupFeedback): string[] {
  const mean = meanScore(feedback);
  return [
    String(row.requests),
    String(row.attempts),
    String(row.inputTokens),
    String(row.outputTokens),
    String(row.cacheReadTokens),
    String(row.cacheWriteTokens),
    usdText(row.costMicroUsd),
    String(feedback.count),
    mean === null ? '—' : mean.toFixed(2),
  ];
}

export function formatCostReport(report: CostReport, format: Format): string {
  const keyCells = (row: UsageGroup) => report.by.map((dimension) => row.keys[dimension] ?? '');
  if (format === 'json') {
    const json = (row: Omit<UsageGroup, 'keys'>, feedback: GroupFeedback) => ({
      ...row,
      costUsd: usdText(row.costMicroUsd),
      feedbackCount: feedback.count,
      feedbackMeanScore: meanScore(feedback),
    });
    return `${JSON.stringify(
      {
        tenants: report.tenants,
        since: report.since,
        by: report.by,
        rows: report.rows.map((row) => ({ ...row.keys, ...json(row, feedbackOf(report, row.keys)) })),
        total: json(report.total, feedbackOf(report, undefined)),
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
      'feedback_count',
      'feedback_mean_score',
    ];
    const lines = report.rows.map((row) =>
      [...keyCells(row), ...cells(row, feedbackOf(report, row.keys))]
        .map((cell) => (cell === '—' ? '' : cell))
        .map(quote)
        .join(','),
    );
    return `${[header.join(','), ...lines].join('\n')}\n`;
  }
  const header = [...report.by, ...COLUMNS];
  const totalCells = [
    'total',
    ...report.by.slice(1).map(() => ''),
    ...cells(report.total, feedbackOf(report, undefined)),
  ];
  const body = report.rows.map((row) => [
    ...keyCells(row).map((cell) => cell || '(none)'),
    ...cells(row, feedbackOf(report, row.keys)),
  ]);
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
export function registerCostReport(report: Command, settings: GatehouseSettings): void {
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
    .option('--api-key <key>', API_KEY_OPTION_HELP)
    .action(
      async (options: {
        tenant: string;
        by: UsageDimension[];
        since: Date;
        format: Format;
        apiKey?: string;
      }) => {
        await asOperatorOfTenants(settings, options, async (db, tenantIds) => {
          const query = { tenantIds, since: options.since };
          const rows = await sumUsage(db, { ...query, by: options.by });
          // Summed again without grouping: a request whose attempts span two groups counts once here.
          const [total] = await sumUsage(db, { ...query, by: [] });
          // Grouped keys are never `[]` (at least one dimension): the total's entry sits beside them.
          const feedback = new Map([
            ...(await sumFeedbackByGroup(db, { ...query, by: options.by })),
            ...(await sumFeedbackByGroup(db, { ...query, by: [] })),
          ]);
          const text = formatCostReport(
            {
              tenants: tenantIds,
              since: options.since.toISOString(),
              by: options.by,
              rows,
              feedback,
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
