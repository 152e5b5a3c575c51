import type { Knex } from 'knex';
import { isPostgres } from '../knex-client';
import { columnTypes, runAll } from './migration-sql';

export async function up(knex: Knex): Promise<void> {
  const { timestamp } = columnTypes(knex);
  const classification = `('public', 'internal', 'confidential', 'restricted')`;
  await runAll(knex, [
    `CREATE TABLE IF NOT EXISTS tenants (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
      tier TEXT NOT NULL,
      created_at ${timestamp} NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS principals (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (id),
      name TEXT NOT NULL,
      api_key_hash TEXT NOT NULL UNIQUE,
      capabilities TEXT NOT NULL,
      "groups" TEXT NOT NULL,
      clearance TEXT NOT NULL CHECK (clearance IN ${classification}),
      role TEXT NOT NULL CHECK (role IN ('requester', 'approver', 'admin')),
      status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
      created_at ${timestamp} NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS principals_tenant_idx ON principals (tenant_id)`,
    `CREATE TABLE IF NOT EXISTS policies (
      tenant_id TEXT NOT NULL REFERENCES tenants (id),
      version INTEGER NOT NULL CHECK (version > 0),
      document TEXT NOT NULL,
      created_at ${timestamp} NOT NULL,
      PRIMARY KEY (tenant_id, version)
    )`,
    `CREATE TABLE IF NOT EXISTS prompt_templates (
      tenant_id TEXT NOT NULL REFERENCES tenants (id),
      name TEXT NOT NULL,
      version INTEGER NOT NULL CHECK (version > 0),
      system_template TEXT NOT NULL,
      user_template TEXT NOT NULL,
      created_at ${timestamp} NOT NULL,
      PRIMARY KEY (tenant_id, name, version)
    )`,
    `CREATE TABLE IF NOT EXISTS prompt_labels (
      tenant_id TEXT NOT NULL,
      name TEXT NOT NULL,
      label TEXT NOT NULL,
      version INTEGER NOT NULL,
      updated_at ${timestamp} NOT NULL,
      PRIMARY KEY (tenant_id, name, label),
      FOREIGN KEY (tenant_id, name, version) REFERENCES prompt_templates (tenant_id, name, version)
    )`,
    // A published policy or prompt version is what an audited request ran under; editing it in place
    // would make the audit trail lie, so the database refuses, not just the repository.
    ...rejectUpdatesOn(knex, 'policies'),
    ...rejectUpdatesOn(knex, 'prompt_templates'),
  ]);
}

/** Statements that make `table` reject UPDATE (and DELETE when `alsoDelete`), with a readable message. */
export function rejectUpdatesOn(knex: Knex, table: string, alsoDelete = false): string[] {
  const operations = alsoDelete ? ['UPDATE', 'DELETE'] : ['UPDATE'];
  if (isPostgres(knex)) {
    return [
      `CREATE OR REPLACE FUNCTION gatehouse_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
           USING ERRCODE = 'integrity_constraint_violation';
       END
       $$`,
      ...operations.map(
        (operation) =>
          `CREATE OR REPLACE TRIGGER ${table}_reject_${operation.toLowerCase()}
           BEFORE ${operation} ON ${table} FOR EACH ROW EXECUTE FUNCTION gatehouse_reject_change()`,
      ),
    ];
  }
  return operations.map(
    (operation) =>
      `CREATE TRIGGER IF NOT EXISTS ${table}_reject_${operation.toLowerCase()}
       BEFORE ${operation} ON ${table}
       BEGIN SELECT RAISE(ABORT, '${table} is append-only: ${operation} is not allowed'); END`,
  );
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['prompt_labels', 'prompt_templates', 'policies', 'principals', 'tenants']) {
    await knex.raw(`DROP TABLE IF EXISTS ${table}`);
  }
}
