import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { GatehouseSettings } from '../config/environment';
import { loadConfiguredRouteTable } from '../config/load-route-table';
import { CliError } from './cli-context';
import { registerCostReport } from './cost-report-command';
import { withTemporalIfReachable } from './gather-latency';
import { gatherReportData } from './gather-report-data';
import { registerLatencyReport } from './latency-report-command';
import { buildReportCharts } from './report-charts';
import {
  API_KEY_OPTION_HELP,
  asOperatorOfTenants,
  parsePositiveInteger,
  parseSince,
  SINCE_OPTION_HELP,
  TENANT_OPTION_HELP,
} from './report-options';
import { readChartLibrary, renderHtmlReport } from './render-html-report';

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
              routeTable: loadConfiguredRouteTable(settings),
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
  registerCostReport(report, settings);
}
