import type { Knex } from 'knex';
import { addColumnsIfMissing, columnTypes, runAll } from './migration-sql';

/**
 * Durable ingestion: where a document came from (its source URI and the source's own version label), and
 * the staging table an ingestion workflow reads its documents from. Documents reach the workflow by
 * reference (ingestion id and ordinal range), never through its history; each staged row records how
 * its document was ingested, in the same transaction as the document, so a retried batch skips it.
 */
export async function up(knex: Knex): Promise<void> {
  const { timestamp } = columnTypes(knex);
  await addColumnsIfMissing(knex, 'documents', { source_uri: 'TEXT', source_version: 'TEXT' });
  const statements = [
    `CREATE TABLE IF NOT EXISTS ingestions (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (id),
      source TEXT NOT NULL,
      item_count INTEGER NOT NULL CHECK (item_count >= 0),
      created_at ${timestamp} NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS ingestion_items (
      ingestion_id TEXT NOT NULL REFERENCES ingestions (id) ON DELETE CASCADE,
      ordinal INTEGER NOT NULL,
      external_id TEXT NOT NULL,
      payload TEXT NOT NULL,
      outcome TEXT CHECK (outcome IN ('created', 'updated', 'permissions', 'unchanged', 'deleted', 'absent')),
      chunk_count INTEGER,
      embedded_chunks INTEGER,
      PRIMARY KEY (ingestion_id, ordinal),
      UNIQUE (ingestion_id, external_id)
    )`,
    `CREATE INDEX IF NOT EXISTS documents_source_idx ON documents (tenant_id, source_uri)`,
  ];
  await runAll(knex, statements);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS ingestion_items');
  await knex.raw('DROP TABLE IF EXISTS ingestions');
  await knex.raw('DROP INDEX IF EXISTS documents_source_idx');
  await knex.raw('ALTER TABLE documents DROP COLUMN source_version');
  await knex.raw('ALTER TABLE documents DROP COLUMN source_uri');
}
