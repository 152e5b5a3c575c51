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
   * How long one SQLite statement may wait for another process's write lock, inside SQLite. better-sqlite3
   * waits synchronously, blocking the event loop: right for the CLI (default 5 s), wrong for a worker.
   */
  sqliteBusyTimeoutMs?: number;
  /**
   * Wait for a busy SQLite database outside SQLite instead: the statement fails at once (busy_timeout 0)
   * and is tried again after an asynchronous pause, for up to this long, so the event loop keeps
   * running heartbeats, timers and other activities meanwhile. Overrides `sqliteBusyTimeoutMs`.
   */
  sqliteAsyncBusyWaitMs?: number;
}

const DEFAULT_SQLITE_FILE = path.join('.data', 'gatehouse.sqlite');

/**
 * How long a worker's statement waits for a busy SQLite database, asynchronously (`sqliteAsyncBusyWaitMs`),
 * before it fails and Temporal retries the step.
 */
export const WORKER_SQLITE_BUSY_WAIT_MS = 2_000;
/** Pauses between tries of a busy statement: short at first, since most write locks last a millisecond. */
const BUSY_PAUSES_MS = [1, 2, 5, 10, 20, 50] as const;

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
  const asyncWaitMs = options.sqliteAsyncBusyWaitMs;
  const busyTimeoutMs = asyncWaitMs === undefined ? (options.sqliteBusyTimeoutMs ?? 5000) : 0;
  return knex({
    client: asyncWaitMs === undefined ? 'better-sqlite3' : betterSqliteWaitingAsynchronously(asyncWaitMs),
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
          connection.pragma(`busy_timeout = ${Math.max(0, Math.round(busyTimeoutMs))}`);
          reusePreparedStatements(connection, PREPARED_STATEMENT_CACHE_SIZE);
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  });
}

type KnexClientClass = typeof Knex.Client;

/**
 * knex's better-sqlite3 client, with SQLITE_BUSY answered by an asynchronous pause and another try of the
 * same statement. Only plain SQLITE_BUSY is retried: SQLITE_BUSY_SNAPSHOT means the transaction read a
 * snapshot that is no longer current, which only a new transaction can fix, so it fails as before.
 */
function betterSqliteWaitingAsynchronously(maxWaitMs: number): KnexClientClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const BetterSqliteClient = require('knex/lib/dialects/better-sqlite3') as new (
    config: Knex.Config,
  ) => Knex.Client & { _query(connection: unknown, query: unknown): Promise<unknown> };
  return class WaitingBetterSqliteClient extends BetterSqliteClient {
    override async _query(connection: unknown, query: unknown): Promise<unknown> {
      const started = Date.now();
      for (let attempt = 0; ; attempt++) {
        try {
          return await super._query(connection, query);
        } catch (error) {
          const waited = Date.now() - started;
          if ((error as { code?: string }).code !== 'SQLITE_BUSY' || waited >= maxWaitMs) throw error;
          const pause = BUSY_PAUSES_MS[Math.min(attempt, BUSY_PAUSES_MS.length - 1)]!;
          await new Promise((resolve) => setTimeout(resolve, Math.min(pause, maxWaitMs - waited)));
        }
      }
    }
  } as unknown as KnexClientClass;
}

interface SqliteConnection {
  pragma(source: string): unknown;
  prepare(source: string): unknown;
}

/** Distinct statements kept prepared per SQLite connection; the request path uses a few dozen. */
export const PREPARED_STATEMENT_CACHE_SIZE = 256;

/**
 * knex prepares every SQLite statement anew for each query; compiling the SQL was about 5 ms of the
 * worker's CPU per request (docs/decisions/0018). Each connection keeps its statements by SQL text
 * instead, the least recently used dropped beyond `capacity`. better-sqlite3 runs a statement to
 * completion synchronously, so one statement object never serves two queries at once, and SQLite
 * recompiles a kept statement by itself after a schema change.
 */
export function reusePreparedStatements(connection: SqliteConnection, capacity: number): void {
  const prepare = connection.prepare.bind(connection);
  const statements = new Map<string, unknown>();
  connection.prepare = (source: string) => {
    let statement = statements.get(source);
    if (statement === undefined) {
      statement = prepare(source);
      if (statements.size >= capacity) statements.delete(statements.keys().next().value as string);
    } else {
      statements.delete(source);
    }
    statements.set(source, statement);
    return statement;
  };
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

/** The query's first row mapped by `toRecord` (snake_case row to domain type), or undefined when it finds none. */
export async function firstRecord<Row, T>(
  query: { first: () => PromiseLike<unknown> },
  toRecord: (row: Row) => T,
): Promise<T | undefined> {
  const row = (await query.first()) as Row | undefined;
  return row === undefined ? undefined : toRecord(row);
}
