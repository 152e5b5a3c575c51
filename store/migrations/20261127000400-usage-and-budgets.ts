import type { Knex } from 'knex';
import { columnTypes, runAll } from './migration-sql';

export async function up(knex: Knex): Promise<void> {
  const { postgres, timestamp } = columnTypes(knex);
  const autoIncrementKey = postgres ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
  const statements = [
    `CREATE TABLE IF NOT EXISTS usage_ledger (
      id ${autoIncrementKey},
      tenant_id TEXT NOT NULL,
      workflow_id TEXT NOT NULL,
      execution_id TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      route_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      input_tokens INTEGER NOT NULL CHECK (input_tokens >= 0),
      output_tokens INTEGER NOT NULL CHECK (output_tokens >= 0),
      cache_read_tokens INTEGER NOT NULL CHECK (cache_read_tokens >= 0),
      cache_write_tokens INTEGER NOT NULL CHECK (cache_write_tokens >= 0),
      cost_micro_usd BIGINT NOT NULL CHECK (cost_micro_usd >= 0),
      outcome TEXT NOT NULL,
      failure_type TEXT NULL,
      created_at ${timestamp} NOT NULL,
      UNIQUE (workflow_id, execution_id, attempt)
    )`,
    `CREATE INDEX IF NOT EXISTS usage_ledger_tenant_idx ON usage_ledger (tenant_id, workflow_id)`,
    `CREATE TABLE IF NOT EXISTS budgets (
      tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
      limit_micro_usd BIGINT NOT NULL CHECK (limit_micro_usd >= 0),
      spent_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (spent_micro_usd >= 0),
      reserved_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (reserved_micro_usd >= 0),
      updated_at ${timestamp} NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS budget_reservations (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (id),
      idempotency_key TEXT NOT NULL UNIQUE,
      amount_micro_usd BIGINT NOT NULL CHECK (amount_micro_usd >= 0),
      settled_micro_usd BIGINT NULL CHECK (settled_micro_usd >= 0),
      state TEXT NOT NULL CHECK (state IN ('active', 'settled', 'released')),
      created_at ${timestamp} NOT NULL,
      updated_at ${timestamp} NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS budget_reservations_tenant_idx ON budget_reservations (tenant_id, state)`,
  ];
  await runAll(knex, statements);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['budget_reservations', 'budgets', 'usage_ledger']) {
    await knex.raw(`DROP TABLE IF EXISTS ${table}`);
  }
}
