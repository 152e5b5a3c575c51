import type { Knex } from 'knex';
import { columnTypes } from './migration-sql';

/** Circuit-breaker state per route, shared by every worker so one worker's failures protect all. */
export async function up(knex: Knex): Promise<void> {
  const { timestamp } = columnTypes(knex);
  await knex.raw(`CREATE TABLE IF NOT EXISTS route_health (
    route_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half-open')),
    recent_failures TEXT NOT NULL,
    opened_at BIGINT,
    probe_started_at BIGINT,
    updated_at ${timestamp} NOT NULL
  )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS route_health');
}
