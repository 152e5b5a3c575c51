import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { createActivities, type ActivityDependencies, type GatehouseActivities } from '../activities/create-activities';
import type { RouteTable } from '../domain/route-table';
import { createExtractiveProvider } from '../providers/extractive-provider';
import { createLocalTokenCounter } from '../providers/token-counter';
import { createSignalStreamPublisher } from './signal-stream-publisher';

/** Wires the real capabilities into the activities; the one place that chooses implementations. */
export function buildActivities(options: {
  db: Knex;
  routeTable: RouteTable;
  client: Client;
  providers?: Partial<ActivityDependencies['providers']>;
  clock?: () => number;
}): GatehouseActivities {
  const tokenCounter = createLocalTokenCounter();
  return createActivities({
    db: options.db,
    routeTable: options.routeTable,
    tokenCounter,
    clock: options.clock ?? Date.now,
    streamPublisher: createSignalStreamPublisher(options.client),
    providers: { extractive: createExtractiveProvider(tokenCounter), ...options.providers },
  });
}
