import fs from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';

export interface CreateKnexOptions {
  /** `postgres://` or `postgresql://` selects PostgreSQL; anything else (or nothing) selects SQLite. */
  databaseUrl?: string;
  /** SQLite database file; its directory is created when missing. */
  sqliteFile?: string;
  /** PostgreSQL schema to put first on the search path, so test suites can each own a schema. */
  searchPath?: string;
  /**
   * How long one SQLite statement may wait for another process's write lock. better-sqlite3 waits
   * synchronously, blocking the event loop, so workers keep this short and let Temporal retry the step
   * (asynchronously); the CLI may wait longer. Default 5 s.
   */
  sqliteBusyTimeoutMs?: number;
}

const DEFAULT_SQLITE_FILE = path.join('.data', 'gatehouse.sqlite');

/** A worker's SQLite busy wait: short, since it blocks the event loop; Temporal retries the step instead. */
export const WORKER_SQLITE_BUSY_TIMEOUT_MS = 50;

/** Opens the Gatehouse database: PostgreSQL in production, an embedded SQLite file by default. */
export function createKnex(options: CreateKnexOptions): Knex {
  const { databaseUrl, searchPath } = options;
  if (databaseUrl !== undefined && /^postgres(ql)?:\/\//i.test(databaseUrl)) {
    return knex({
      client: 'pg',
      connection: databaseUrl,
      ...(searchPath === undefined ? {} : { searchPath: [searchPath] }),
    });
  }
  const filename = path.resolve(options.sqliteFile ?? DEFAULT_SQLITE_FILE);
  fs.mkdirSync(path.dirname(filename), { recursive: true });
  return knex({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      // Pragmas are per connection, so they are applied as each pooled connection opens.
      afterCreate: (
        connection: SqliteConnection,
        done: (error: Error | null, connection: unknown) => void,
      ) => {
        try {
          connection.pragma('journal_mode = WAL');
          connection.pragma('foreign_keys = ON');
          connection.pragma(`busy_timeout = ${Math.max(0, Math.round(options.sqliteBusyTimeoutMs ?? 5000))}`);
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  });
}

interface SqliteConnection {
  pragma(source: string): unknown;
}

/** True when the handle (or a transaction made from it) talks to PostgreSQL. */
export function isPostgres(db: Knex): boolean {
  return (db.client as { dialect?: string }).dialect === 'postgresql';
}

/**
 * Serialises writers of one logical key (`key` within `table`) for the rest of the transaction.
 * PostgreSQL: a transaction-scoped advisory lock, because two `max + 1` reads race under READ
 * COMMITTED. SQLite: a write that touches no rows takes the database write lock now — the effect of
 * BEGIN IMMEDIATE, which knex cannot issue — so another process's commit cannot make this
 * transaction's later write fail with SQLITE_BUSY_SNAPSHOT; it waits on busy_timeout instead.
 */
export async function serializeOn(trx: Knex.Transaction, table: string, key: string): Promise<void> {
  if (isPostgres(trx)) {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`${table}:${key}`]);
  } else {
    await trx.raw('DELETE FROM ?? WHERE 0', [table]);
  }
}

/**
 * `serializeOn` for many keys in one statement, taken in sorted key order so two writers of overlapping
 * key sets cannot deadlock. SQLite's write lock already covers every key.
 */
export async function serializeOnMany(
  trx: Knex.Transaction,
  table: string,
  keys: readonly string[],
): Promise<void> {
  if (keys.length === 0) return;
  if (!isPostgres(trx)) {
    await serializeOn(trx, table, keys[0] as string);
    return;
  }
  const sorted = [...new Set(keys.map((key) => `${table}:${key}`))].sort();
  await trx.raw(
    'SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT unnest(?::text[]) AS k ORDER BY 1) AS keys',
    [sorted],
  );
}

/** Timestamps travel as ISO-8601 strings: pg returns `Date` for timestamptz, SQLite returns text. */
export function toIsoTimestamp(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') {
    const parsed = new Date(
      value.includes('T') || !value.includes(' ') ? value : `${value.replace(' ', 'T')}Z`,
    );
    return Number.isNaN(parsed.getTime()) ? value : parsed.toISOString();
  }
  throw new TypeError(`Expected a timestamp, got ${typeof value}`);
}

/** pg returns BIGINT and SUM() as strings; money stays well inside the safe-integer range. */
export function toSafeInteger(value: unknown): number {
  const result = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(result)) {
    throw new RangeError(`Expected a safe integer from the database, got ${String(value)}`);
  }
  return result;
}

/** Timestamp written by the application so both dialects store the same instant with millisecond precision. */
export function nowIso(): string {
  return new Date().toISOString();
}
