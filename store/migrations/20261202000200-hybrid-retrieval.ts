import type { Knex } from 'knex';
import { addColumnsIfMissing, columnTypes, runAll } from './migration-sql';

/**
 * Hybrid retrieval: chunk offsets, chunk vectors per embedding model and version, and a per-tenant change
 * log that search indexes follow. The database's own full-text indexes go: ranking moves to one engine
 * (retrieval/chunk-index.ts) that behaves the same on both dialects (decision record 0015), and the SQLite
 * FTS table's per-document delete was a full scan.
 */
export async function up(knex: Knex): Promise<void> {
  const { postgres, timestamp } = columnTypes(knex);
  // Offsets into the normalised document text; NULL for chunks written before this migration.
  await addColumnsIfMissing(knex, 'chunks', { start_offset: 'INTEGER', end_offset: 'INTEGER' });
  const statements = [
    `CREATE TABLE IF NOT EXISTS chunk_embeddings (
      chunk_id TEXT NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
      model TEXT NOT NULL,
      model_version TEXT NOT NULL,
      tenant_id TEXT NOT NULL,
      document_id TEXT NOT NULL,
      dimensions INTEGER NOT NULL CHECK (dimensions > 0),
      vector ${postgres ? 'BYTEA' : 'BLOB'} NOT NULL,
      created_at ${timestamp} NOT NULL,
      PRIMARY KEY (chunk_id, model, model_version)
    )`,
    `CREATE INDEX IF NOT EXISTS chunk_embeddings_tenant_idx ON chunk_embeddings (tenant_id, model, model_version)`,
    `CREATE INDEX IF NOT EXISTS chunk_embeddings_document_idx ON chunk_embeddings (document_id)`,
    postgres
      ? `CREATE TABLE IF NOT EXISTS retrieval_changes (
          revision BIGSERIAL PRIMARY KEY,
          tenant_id TEXT NOT NULL,
          document_id TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('content', 'permissions', 'deleted')),
          changed_at TIMESTAMPTZ NOT NULL
        )`
      : `CREATE TABLE IF NOT EXISTS retrieval_changes (
          revision INTEGER PRIMARY KEY AUTOINCREMENT,
          tenant_id TEXT NOT NULL,
          document_id TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('content', 'permissions', 'deleted')),
          changed_at TEXT NOT NULL
        )`,
    `CREATE INDEX IF NOT EXISTS retrieval_changes_tenant_idx ON retrieval_changes (tenant_id, revision)`,
    `CREATE INDEX IF NOT EXISTS chunks_tenant_document_idx ON chunks (tenant_id, document_id, ordinal)`,
  ];
  if (postgres) {
    statements.push(
      `DROP INDEX IF EXISTS chunks_search_idx`,
      `ALTER TABLE chunks DROP COLUMN IF EXISTS search_vector`,
    );
  } else {
    statements.push(`DROP TABLE IF EXISTS chunks_fts`);
  }
  await runAll(knex, statements);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['retrieval_changes', 'chunk_embeddings'])
    await knex.raw(`DROP TABLE IF EXISTS ${table}`);
  await knex.raw('DROP INDEX IF EXISTS chunks_tenant_document_idx');
  await knex.raw('ALTER TABLE chunks DROP COLUMN end_offset');
  await knex.raw('ALTER TABLE chunks DROP COLUMN start_offset');
}
