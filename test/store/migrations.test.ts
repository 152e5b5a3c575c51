import { MIGRATIONS, migrateLatest } from '../../store/migrate';
import { createTestDatabase, type TestDatabase } from './test-database';

describe('migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('are idempotent through knex and when each migration runs again by hand', async () => {
    const { db } = database;
    await migrateLatest(db);
    await migrateLatest(db);
    for (const { migration } of MIGRATIONS) await migration.up(db);
    const recorded = (await db('knex_migrations').orderBy('id').pluck('name')) as string[];
    expect(recorded).toEqual(MIGRATIONS.map((entry) => entry.name));
  });

  it('creates every table the repositories use', async () => {
    const tables = [
      'tenants',
      'principals',
      'policies',
      'prompt_templates',
      'prompt_labels',
      'documents',
      'document_acl',
      'chunks',
      'chunk_embeddings',
      'retrieval_changes',
      'audit_events',
      'audit_heads',
      'usage_ledger',
      'budgets',
      'budget_reservations',
    ];
    for (const table of tables) {
      expect({ table, exists: await database.db.schema.hasTable(table) }).toEqual({ table, exists: true });
    }
    // Ranking moved to retrieval/chunk-index.ts: the database's own full-text indexes are gone.
    expect(await database.db.schema.hasColumn('chunks', 'search_vector')).toBe(false);
    expect(await database.db.schema.hasTable('chunks_fts')).toBe(false);
    expect(await database.db.schema.hasColumn('chunks', 'start_offset')).toBe(true);
  });
});
