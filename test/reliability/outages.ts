import Database from 'better-sqlite3';
import { createKnex } from '../../store/knex-client';

/**
 * Makes the app database unusable for a while, from outside the processes that use it.
 *
 * PostgreSQL: `away` refuses new connections and ends the open ones; `read-only` makes every new
 * transaction read-only and ends the open sessions so they reconnect into it. Both are undone the same way.
 * SQLite: another process takes the write lock and holds it, so every write fails with SQLITE_BUSY.
 * Under WAL, readers keep reading, and an open file cannot vanish from under its handles, so on SQLite
 * `away` and `read-only` are both "no writes".
 */
export interface Outage {
  kind: 'away' | 'read-only';
  /** What was done, for the report. */
  how: string;
  end(): Promise<void>;
}

export async function startOutage(
  location: { databaseUrl?: string; sqliteFile?: string },
  kind: Outage['kind'],
): Promise<Outage> {
  if (location.databaseUrl) return postgresOutage(location.databaseUrl, kind);
  const holder = new Database(location.sqliteFile!);
  holder.pragma('busy_timeout = 10000');
  holder.exec('BEGIN IMMEDIATE');
  return {
    kind,
    how: 'SQLite write lock held by another process',
    async end() {
      holder.exec('ROLLBACK');
      holder.close();
    },
  };
}

async function postgresOutage(databaseUrl: string, kind: Outage['kind']): Promise<Outage> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  url.pathname = '/postgres';
  url.search = '';
  const admin = createKnex({ databaseUrl: url.toString() });
  const endSessions = () =>
    admin.raw(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()',
      [database],
    );
  if (kind === 'away') {
    await admin.raw('ALTER DATABASE ?? ALLOW_CONNECTIONS false', [database]);
  } else {
    await admin.raw('ALTER DATABASE ?? SET default_transaction_read_only = on', [database]);
  }
  await endSessions();
  return {
    kind,
    how:
      kind === 'away'
        ? 'PostgreSQL refusing connections, sessions ended'
        : 'PostgreSQL read-only, sessions ended',
    async end() {
      if (kind === 'away') {
        await admin.raw('ALTER DATABASE ?? ALLOW_CONNECTIONS true', [database]);
      } else {
        await admin.raw('ALTER DATABASE ?? RESET default_transaction_read_only', [database]);
        // Sessions opened during the outage keep its setting until they reconnect.
        await endSessions();
      }
      await admin.destroy();
    },
  };
}
