import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex, isPostgres } from '../../store/knex-client';
import { migrateLatest } from '../../store/migrate';

export interface TestDatabase {
  db: Knex;
  postgres: boolean;
  /** Another handle on the same database, as a second worker process would have; closed by `destroy`. */
  connect(): Knex;
  /** Closes the handle and removes everything the suite created (temp file or PG schema). */
  destroy(): Promise<void>;
}

/**
 * A migrated database no other suite can see: a temp SQLite file by default, or — with DATABASE_URL
 * set — a fresh PostgreSQL schema on the search path, dropped again by `destroy`.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    const schema = `test_${randomBytes(6).toString('hex')}`;
    const admin = createKnex({ databaseUrl });
    await admin.raw('CREATE SCHEMA ??', [schema]);
    const db = createKnex({ databaseUrl, searchPath: schema });
    await migrateLatest(db);
    const others: Knex[] = [];
    return {
      db,
      postgres: isPostgres(db),
      connect: () => {
        const other = createKnex({ databaseUrl, searchPath: schema });
        others.push(other);
        return other;
      },
      destroy: async () => {
        for (const other of others) await other.destroy();
        await db.destroy();
        await admin.raw('DROP SCHEMA ?? CASCADE', [schema]);
        await admin.destroy();
      },
    };
  }
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-store-'));
  const sqliteFile = path.join(directory, 'test.sqlite3');
  const db = createKnex({ sqliteFile });
  await migrateLatest(db);
  const others: Knex[] = [];
  return {
    db,
    postgres: isPostgres(db),
    connect: () => {
      const other = createKnex({ sqliteFile });
      others.push(other);
      return other;
    },
    destroy: async () => {
      for (const other of others) await other.destroy();
      await db.destroy();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Runs `task` over `items` with at most `concurrency` in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index] as T, index);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * The message a database rejection carries. better-sqlite3 errors come from outside jest's sandbox
 * realm, so `rejects.toThrow` does not recognise them as errors; this reads the message directly
 * and fails when the operation succeeded.
 */
export async function rejectionMessage(operation: PromiseLike<unknown>): Promise<string> {
  try {
    await operation;
  } catch (error) {
    return String((error as { message?: unknown }).message ?? error);
  }
  throw new Error('expected the operation to be rejected, but it succeeded');
}
