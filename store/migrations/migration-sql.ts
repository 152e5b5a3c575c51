import type { Knex } from 'knex';
import { isPostgres } from '../knex-client';

/** The column types that differ between the two dialects. */
export function columnTypes(knex: Knex): { postgres: boolean; timestamp: string; flag: string } {
  const postgres = isPostgres(knex);
  return {
    postgres,
    timestamp: postgres ? 'TIMESTAMPTZ' : 'TEXT',
    flag: postgres ? 'BOOLEAN NOT NULL DEFAULT FALSE' : 'INTEGER NOT NULL DEFAULT 0',
  };
}

/** better-sqlite3 prepares one statement per call, so a migration runs a list of statements. */
export async function runAll(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

/**
 * SQLite has no ADD COLUMN IF NOT EXISTS, so the check is explicit: a migration may be run again by hand.
 * Adding a column fires no row trigger, so the append-only guards stay as they are.
 */
export async function addColumnsIfMissing(
  knex: Knex,
  table: string,
  columns: Readonly<Record<string, string>>,
): Promise<void> {
  for (const [column, definition] of Object.entries(columns)) {
    if (await knex.schema.hasColumn(table, column)) continue;
    await knex.raw(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
}
