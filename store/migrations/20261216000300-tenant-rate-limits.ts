import type { Knex } from 'knex';
import { isPostgres } from '../knex-client';

/**
 * Per-tenant rate limits held in the database, so every worker process and host counts against the same
 * numbers (docs/decisions/0021): `tenant_rate_limits` the limits per minute, `tenant_rate_windows` one
 * fixed-window counter row per tenant and UTC minute, raised in the reservation's transaction under the
 * tenant's budget lock.
 */
export async function up(knex: Knex): Promise<void> {
  const timestamp = isPostgres(knex) ? 'TIMESTAMPTZ' : 'TEXT';
  await knex.raw(`CREATE TABLE IF NOT EXISTS tenant_rate_limits (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    requests_per_minute BIGINT NULL CHECK (requests_per_minute > 0),
    tokens_per_minute BIGINT NULL CHECK (tokens_per_minute > 0),
    author TEXT NOT NULL,
    updated_at ${timestamp} NOT NULL
  )`);
  await knex.raw(`CREATE TABLE IF NOT EXISTS tenant_rate_windows (
    tenant_id TEXT NOT NULL,
    minute TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0 CHECK (requests >= 0),
    tokens BIGINT NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    PRIMARY KEY (tenant_id, minute)
  )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS tenant_rate_windows');
  await knex.raw('DROP TABLE IF EXISTS tenant_rate_limits');
}
