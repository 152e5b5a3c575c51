import type { Knex } from 'knex';
import { createActivities, type GatehouseActivities } from '../activities/create-activities';
import type { RouteTable } from '../domain/route-table';
import { createExtractiveProvider } from '../providers/extractive-provider';
import { createLocalTokenCounter } from '../providers/token-counter';

/** Wires the real capabilities into the activities; the one place that chooses implementations. */
export function buildActivities(db: Knex, routeTable: RouteTable): GatehouseActivities {
  const tokenCounter = createLocalTokenCounter();
  return createActivities({
    db,
    routeTable,
    tokenCounter,
    providers: { extractive: createExtractiveProvider(tokenCounter) },
  });
}
