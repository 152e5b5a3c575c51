import type { Knex } from 'knex';
import { columnTypes, runAll } from './migration-sql';
import { rejectUpdatesOn } from './20261127000100-core-tables';

export async function up(knex: Knex): Promise<void> {
  const { postgres, timestamp } = columnTypes(knex);
  const statements = [
    `CREATE TABLE IF NOT EXISTS audit_events (
      tenant_id TEXT NOT NULL,
      seq INTEGER NOT NULL CHECK (seq > 0),
      workflow_id TEXT NOT NULL,
      execution_id TEXT NOT NULL,
      step TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      event_type TEXT NOT NULL,
      payload TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL,
      created_at ${timestamp} NOT NULL,
      PRIMARY KEY (tenant_id, seq),
      UNIQUE (workflow_id, execution_id, step, attempt)
    )`,
    `CREATE INDEX IF NOT EXISTS audit_events_workflow_idx ON audit_events (tenant_id, workflow_id, seq)`,
    // One row per tenant: locking it is what serialises appends, and it lets verification notice
    // rows removed from (or added past) the end of the chain.
    `CREATE TABLE IF NOT EXISTS audit_heads (
      tenant_id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      hash TEXT NOT NULL
    )`,
    ...rejectUpdatesOn(knex, 'audit_events', true),
  ];
  if (postgres) {
    statements.push(
      `CREATE OR REPLACE TRIGGER audit_events_reject_truncate
       BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_reject_change()`,
    );
  }
  await runAll(knex, statements);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS audit_heads');
  await knex.raw('DROP TABLE IF EXISTS audit_events');
}
