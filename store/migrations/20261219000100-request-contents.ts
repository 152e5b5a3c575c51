import type { Knex } from 'knex';
import { columnTypes, runAll } from './migration-sql';

/**
 * Content by reference (docs/decisions/0026): large content a request moves between its steps (the
 * rendered prompt) is kept here, sealed with the payload codec's cipher under the request's tenant
 * label, while history carries only a reference (id, SHA-256, length, token count). One row per request
 * and content: a retry or a Reset that renders the same text finds its row and writes nothing. Rows go
 * with the tenant's audit retention (`created_at`).
 */
export async function up(knex: Knex): Promise<void> {
  const { postgres, timestamp } = columnTypes(knex);
  await runAll(knex, [
    `CREATE TABLE IF NOT EXISTS request_contents (
      content_id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL,
      workflow_id TEXT NOT NULL,
      step TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      tokens INTEGER NOT NULL,
      sealed ${postgres ? 'BYTEA' : 'BLOB'} NOT NULL,
      created_at ${timestamp} NOT NULL,
      CHECK (bytes >= 0 AND tokens >= 0)
    )`,
    `CREATE INDEX IF NOT EXISTS request_contents_retention_idx ON request_contents (tenant_id, created_at)`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS request_contents');
}
