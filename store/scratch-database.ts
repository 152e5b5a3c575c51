import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex, isPostgres } from './knex-client';
import { migrateLatest } from './migrate';

export interface ScratchDatabase {
  db: Knex;
  store: 'sqlite' | 'postgres';
  /** Closes the handle and removes everything created (the temp file, or the PostgreSQL schema). */
  destroy(): Promise<void>;
}

/**
 * A migrated, throw-away database for evaluations and benchmarks: a temp SQLite file, or with a
 * `postgres://` URL a fresh schema on that server, so nothing touches the tables in use.
 */
export async function openScratchDatabase(options: { databaseUrl?: string } = {}): Promise<ScratchDatabase> {
  const { databaseUrl } = options;
  if (databaseUrl !== undefined && /^postgres(ql)?:\/\//i.test(databaseUrl)) {
    const schema = `scratch_${randomBytes(6).toString('hex')}`;
    const admin = createKnex({ databaseUrl });
    await admin.raw('CREATE SCHEMA ??', [schema]);
    const db = createKnex({ databaseUrl, searchPath: schema });
    await migrateLatest(db);
    return {
      db,
      store: 'postgres',
      destroy: async () => {
        await db.destroy();
        await admin.raw('DROP SCHEMA ?? CASCADE', [schema]);
        await admin.destroy();
      },
    };
  }
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-scratch-'));
  const db = createKnex({ sqliteFile: path.join(directory, 'scratch.sqlite3') });
  await migrateLatest(db);
  return {
    db,
    store: isPostgres(db) ? 'postgres' : 'sqlite',
    destroy: async () => {
      await db.destroy();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
