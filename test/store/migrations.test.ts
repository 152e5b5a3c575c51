import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../store/knex-client';
import { MIGRATIONS, migrateLatest } from '../../store/migrate';
import { createTestDatabase, rejectionMessage, type TestDatabase } from './test-database';

/** Several handles on one empty database (a temp SQLite file, or a fresh PostgreSQL schema), like replicas. */
async function emptyDatabaseHandles(count: number): Promise<{ handles: Knex[]; drop(): Promise<void> }> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    const schema = `test_${randomBytes(6).toString('hex')}`;
    const admin = createKnex({ databaseUrl });
    await admin.raw('CREATE SCHEMA ??', [schema]);
    const handles = Array.from({ length: count }, () => createKnex({ databaseUrl, searchPath: schema }));
    return {
      handles,
      drop: async () => {
        await Promise.all(handles.map((handle) => handle.destroy()));
        await admin.raw('DROP SCHEMA ?? CASCADE', [schema]);
        await admin.destroy();
      },
    };
  }
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-migrate-'));
  const file = path.join(directory, 'replicas.sqlite3');
  const handles = Array.from({ length: count }, () => createKnex({ sqliteFile: file }));
  return {
    handles,
    drop: async () => {
      await Promise.all(handles.map((handle) => handle.destroy()));
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

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
      'request_feedback',
    ];
    for (const table of tables) {
      expect({ table, exists: await database.db.schema.hasTable(table) }).toEqual({ table, exists: true });
    }
    // Ranking moved to retrieval/chunk-index.ts: the database's own full-text indexes are gone.
    expect(await database.db.schema.hasColumn('chunks', 'search_vector')).toBe(false);
    expect(await database.db.schema.hasTable('chunks_fts')).toBe(false);
    expect(await database.db.schema.hasColumn('chunks', 'start_offset')).toBe(true);
  });

  it('lets replicas that start together all migrate one empty database, then restart', async () => {
    const { handles, drop } = await emptyDatabaseHandles(8);
    try {
      // Before waiting on contention, four of five failed here (lock taken, knex_migrations created twice).
      const firstStart = await Promise.allSettled(handles.map((handle) => migrateLatest(handle)));
      expect(firstStart.map((result) => result.status)).toEqual(handles.map(() => 'fulfilled'));
      const restart = await Promise.allSettled(handles.map((handle) => migrateLatest(handle)));
      expect(restart.map((result) => result.status)).toEqual(handles.map(() => 'fulfilled'));
      const recorded = (await handles[0]!('knex_migrations').orderBy('id').pluck('name')) as string[];
      expect(recorded).toEqual(MIGRATIONS.map((entry) => entry.name));
    } finally {
      await drop();
    }
  });

  it('keeps one lock row when replicas find knex’s lock table created but not yet filled', async () => {
    const { handles, drop } = await emptyDatabaseHandles(8);
    try {
      // The moment between knex's CREATE TABLE and its INSERT in another process: each replica that
      // saw the table empty inserted a row, and with two rows the lock could never be taken again.
      await handles[0]!.schema.createTable('knex_migrations', (table) => {
        table.increments();
        table.string('name');
        table.integer('batch');
        table.timestamp('migration_time');
      });
      await handles[0]!.schema.createTable('knex_migrations_lock', (table) => {
        table.increments('index').primary();
        table.integer('is_locked');
      });
      const results = await Promise.allSettled(handles.map((handle) => migrateLatest(handle)));
      expect(results.map((result) => result.status)).toEqual(handles.map(() => 'fulfilled'));
      expect(await handles[0]!('knex_migrations_lock').select('index', 'is_locked')).toEqual([
        { index: 1, is_locked: 0 },
      ]);
    } finally {
      await drop();
    }
  });

  it('names the stuck lock and how to release it when a migration never finishes', async () => {
    const { handles, drop } = await emptyDatabaseHandles(1);
    const db = handles[0]!;
    try {
      await migrateLatest(db);
      const last = MIGRATIONS[MIGRATIONS.length - 1]!.name;
      // A process that died mid-run: one migration unrecorded, the lock still held.
      await db('knex_migrations').where({ name: last }).delete();
      await db('knex_migrations_lock').update({ is_locked: 1 });
      const message = await rejectionMessage(migrateLatest(db, { lockTimeoutMs: 300 }));
      expect(message).toMatch(/another process held the migration lock/);
      expect(message).toContain('UPDATE knex_migrations_lock SET is_locked = 0');

      await db('knex_migrations_lock').update({ is_locked: 0 });
      await migrateLatest(db);
      const rows = await db('knex_migrations').where({ name: last }).count({ n: '*' });
      expect(Number(rows[0]?.n)).toBe(1);
    } finally {
      await drop();
    }
  });
});
