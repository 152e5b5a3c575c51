import type { Knex } from 'knex';
import { columnTypes, runAll } from './migration-sql';

export async function up(knex: Knex): Promise<void> {
  const { postgres, timestamp } = columnTypes(knex);
  const statements = [
    `CREATE TABLE IF NOT EXISTS documents (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (id),
      external_id TEXT NOT NULL,
      version INTEGER NOT NULL CHECK (version > 0),
      title TEXT NOT NULL,
      classification TEXT NOT NULL
        CHECK (classification IN ('public', 'internal', 'confidential', 'restricted')),
      content_hash TEXT NOT NULL,
      created_at ${timestamp} NOT NULL,
      updated_at ${timestamp} NOT NULL,
      UNIQUE (tenant_id, external_id)
    )`,
    `CREATE TABLE IF NOT EXISTS document_acl (
      document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
      group_name TEXT NOT NULL,
      PRIMARY KEY (document_id, group_name)
    )`,
    `CREATE INDEX IF NOT EXISTS document_acl_group_idx ON document_acl (group_name, document_id)`,
    `CREATE TABLE IF NOT EXISTS chunks (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants (id),
      document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
      document_version INTEGER NOT NULL,
      ordinal INTEGER NOT NULL,
      title TEXT NOT NULL,
      text TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      UNIQUE (document_id, ordinal)
    )`,
    `CREATE INDEX IF NOT EXISTS chunks_tenant_idx ON chunks (tenant_id)`,
  ];
  if (postgres) {
    // A generated column cannot drift from the text it indexes. The document title is copied into each
    // chunk (a title change is a new version, which replaces the chunks) so that it can be weighted here.
    statements.push(
      `ALTER TABLE chunks ADD COLUMN IF NOT EXISTS search_vector tsvector
         GENERATED ALWAYS AS (
           setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', text), 'B')
         ) STORED`,
      `CREATE INDEX IF NOT EXISTS chunks_search_idx ON chunks USING GIN (search_vector)`,
    );
  } else {
    // A standalone FTS5 table rather than external content: chunks has no INTEGER PRIMARY KEY, so its
    // implicit rowids may change on VACUUM. The repository keeps it in sync inside the same transaction.
    statements.push(
      `CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
         title,
         text,
         chunk_id UNINDEXED,
         document_id UNINDEXED,
         tenant_id UNINDEXED,
         tokenize = 'porter unicode61 remove_diacritics 2'
       )`,
    );
  }
  await runAll(knex, statements);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['chunks_fts', 'chunks', 'document_acl', 'documents']) {
    await knex.raw(`DROP TABLE IF EXISTS ${table}`);
  }
}
