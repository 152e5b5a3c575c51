import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { RouteTable } from '../domain/route-table';
import { listFeedback } from '../store/feedback-repository';
import { listRequestAttempts, sumCacheTokensByDay, sumCostByDay } from '../store/report-series';
import { gatherLatencyAnatomy } from './gather-latency';
import type { ReportData } from './report-charts';

/** Reads what the HTML report shows for some tenants since a moment. */
export async function gatherReportData(
  db: Knex,
  client: Client | undefined,
  input: { tenantIds: string[]; since: Date; limit: number; routeTable: RouteTable; now?: Date },
): Promise<ReportData> {
  const window = { tenantIds: input.tenantIds, since: input.since };
  return {
    generatedAt: (input.now ?? new Date()).toISOString(),
    since: input.since.toISOString(),
    tenants: input.tenantIds,
    latency: await gatherLatencyAnatomy(db, client, { ...window, limit: input.limit }),
    cost: await sumCostByDay(db, window),
    requests: await listRequestAttempts(db, window),
    cache: await sumCacheTokensByDay(db, window),
    feedback: await listFeedback(db, window),
    cachePrices: Object.fromEntries(
      input.routeTable.routes.map((route) => [
        route.id,
        { input: route.priceUsdPerMillionTokens.input, cacheRead: route.priceUsdPerMillionTokens.cacheRead },
      ]),
    ),
  };
}
