import type { Knex } from 'knex';
import * as coreTables from './migrations/20261127000100-core-tables';
import * as documents from './migrations/20261127000200-documents';
import * as auditEvents from './migrations/20261127000300-audit-events';
import * as usageAndBudgets from './migrations/20261127000400-usage-and-budgets';
import * as routeHealth from './migrations/20261127000500-route-health';
import * as requestLifecycle from './migrations/20261202000100-request-lifecycle';
import * as hybridRetrieval from './migrations/20261202000200-hybrid-retrieval';

interface NamedMigration {
  name: string;
  migration: Knex.Migration;
}

/**
 * Listed explicitly, in order: knex's directory loader guesses file extensions, which breaks
 * under tsx, jest and bundlers alike. The names are what `knex_migrations` records — never rename.
 */
export const MIGRATIONS: readonly NamedMigration[] = [
  { name: '20261127000100-core-tables', migration: coreTables },
  { name: '20261127000200-documents', migration: documents },
  { name: '20261127000300-audit-events', migration: auditEvents },
  { name: '20261127000400-usage-and-budgets', migration: usageAndBudgets },
  { name: '20261127000500-route-health', migration: routeHealth },
  { name: '20261202000100-request-lifecycle', migration: requestLifecycle },
  { name: '20261202000200-hybrid-retrieval', migration: hybridRetrieval },
];

const migrationSource: Knex.MigrationSource<NamedMigration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (entry) => entry.name,
  getMigration: async (entry) => entry.migration,
};

/** Brings the schema up to date; safe to call on every start and from several processes. */
export async function migrateLatest(db: Knex): Promise<void> {
  await db.migrate.latest({ migrationSource });
}
