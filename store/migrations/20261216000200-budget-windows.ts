import type { Knex } from 'knex';
import { isPostgres } from '../knex-client';

async function addColumn(knex: Knex, table: string, column: string, definition: string): Promise<void> {
  if (await knex.schema.hasColumn(table, column)) return;
  await knex.raw(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
}

/**
 * Budgets per tenant and per feature over UTC days and months, in micro-USD and tokens (docs/decisions/
 * 0021). `budget_limits` holds the soft and hard limits ('' = the whole tenant); `budget_window_usage`
 * what each (tenant, feature, period) has spent and holds reserved, changed only under the tenant's
 * budget row lock, together with `budgets`. A reservation remembers its feature, tokens and periods, so
 * settling and releasing touch the counters that admitted it.
 */
export async function up(knex: Knex): Promise<void> {
  const timestamp = isPostgres(knex) ? 'TIMESTAMPTZ' : 'TEXT';
  await knex.raw(`CREATE TABLE IF NOT EXISTS budget_limits (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    feature TEXT NOT NULL DEFAULT '',
    budget_window TEXT NOT NULL CHECK (budget_window IN ('daily', 'monthly')),
    unit TEXT NOT NULL CHECK (unit IN ('usd', 'tokens')),
    kind TEXT NOT NULL CHECK (kind IN ('soft', 'hard')),
    limit_value BIGINT NOT NULL CHECK (limit_value >= 0),
    approval_override ${isPostgres(knex) ? 'BOOLEAN NOT NULL DEFAULT FALSE' : 'INTEGER NOT NULL DEFAULT 0'},
    author TEXT NOT NULL,
    updated_at ${timestamp} NOT NULL,
    PRIMARY KEY (tenant_id, feature, budget_window, unit, kind)
  )`);
  await knex.raw(`CREATE TABLE IF NOT EXISTS budget_window_usage (
    tenant_id TEXT NOT NULL,
    feature TEXT NOT NULL DEFAULT '',
    period TEXT NOT NULL,
    spent_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (spent_micro_usd >= 0),
    reserved_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (reserved_micro_usd >= 0),
    spent_tokens BIGINT NOT NULL DEFAULT 0 CHECK (spent_tokens >= 0),
    reserved_tokens BIGINT NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
    PRIMARY KEY (tenant_id, feature, period)
  )`);
  for (const [column, definition] of [
    ['feature', 'TEXT NULL'],
    ['tokens', 'BIGINT NOT NULL DEFAULT 0'],
    ['settled_tokens', 'BIGINT NULL'],
    ['day_period', 'TEXT NULL'],
    ['month_period', 'TEXT NULL'],
  ] as const) {
    await addColumn(knex, 'budget_reservations', column, definition);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const column of ['feature', 'tokens', 'settled_tokens', 'day_period', 'month_period']) {
    if (await knex.schema.hasColumn('budget_reservations', column)) {
      await knex.raw(`ALTER TABLE budget_reservations DROP COLUMN ${column}`);
    }
  }
  await knex.raw('DROP TABLE IF EXISTS budget_window_usage');
  await knex.raw('DROP TABLE IF EXISTS budget_limits');
}
