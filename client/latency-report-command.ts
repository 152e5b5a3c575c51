import { InvalidArgumentError, type Command } from 'commander';
import type { GatehouseSettings } from '../config/environment';
import { gatherLatencyAnatomy, withTemporalIfReachable } from './gather-latency';
import { formatLatencyAnatomy, LATENCY_FORMATS, type LatencyFormat } from './latency-anatomy';
import {
  API_KEY_OPTION_HELP,
  asOperatorOfTenants,
  parseFormat,
  parsePositiveInteger,
  parseSince,
  SINCE_OPTION_HELP,
  TENANT_OPTION_HELP,
} from './report-options';

/**
 * `gatehouse report latency`: p50/p95/p99 per step, queueing vs work. Reads the newest runs recorded in
 * the window from the audit trail and their histories through Temporal (when it can be reached).
 */
export function registerLatencyReport(report: Command, settings: GatehouseSettings): void {
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
