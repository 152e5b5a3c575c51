import type { Knex } from 'knex';
import { isPostgres } from './knex-client';
import * as coreTables from './migrations/20261127000100-core-tables';
import * as documents from './migrations/20261127000200-documents';
import * as auditEvents from './migrations/20261127000300-audit-events';
import * as usageAndBudgets from './migrations/20261127000400-usage-and-budgets';
import * as routeHealth from './migrations/20261127000500-route-health';
import * as requestLifecycle from './migrations/20261202000100-request-lifecycle';
import * as hybridRetrieval from './migrations/20261202000200-hybrid-retrieval';
import * as documentIngestion from './migrations/20261203000100-document-ingestion';
import * as auditHashVersion from './migrations/20261210000100-audit-hash-version';
import * as auditRetention from './migrations/20261210000200-audit-retention';
import * as promptRegistry from './migrations/20261215000100-prompt-registry';
import * as apiKeys from './migrations/20261215000200-api-keys';
import * as ledgerPricingVersion from './migrations/20261216000100-ledger-pricing-version';
import * as budgetWindows from './migrations/20261216000200-budget-windows';
import * as tenantRateLimits from './migrations/20261216000300-tenant-rate-limits';
import * as requestFeedback from './migrations/20261217000100-request-feedback';
import * as instructionSignals from './migrations/20261218000100-instruction-signals';
import * as requestContents from './migrations/20261219000100-request-contents';
import * as apiKeyFeatures from './migrations/20261220000100-api-key-features';

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
  { name: '20261203000100-document-ingestion', migration: documentIngestion },
  { name: '20261210000100-audit-hash-version', migration: auditHashVersion },
  { name: '20261210000200-audit-retention', migration: auditRetention },
  { name: '20261215000100-prompt-registry', migration: promptRegistry },
  { name: '20261215000200-api-keys', migration: apiKeys },
  { name: '20261216000100-ledger-pricing-version', migration: ledgerPricingVersion },
  { name: '20261216000200-budget-windows', migration: budgetWindows },
  { name: '20261216000300-tenant-rate-limits', migration: tenantRateLimits },
  { name: '20261217000100-request-feedback', migration: requestFeedback },
  { name: '20261218000100-instruction-signals', migration: instructionSignals },
  { name: '20261219000100-request-contents', migration: requestContents },
  { name: '20261220000100-api-key-features', migration: apiKeyFeatures },
];

const migrationSource: Knex.MigrationSource<NamedMigration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (entry) => entry.name,
  getMigration: async (entry) => entry.migration,
};

/**
 * What another process's migration run looks like from here: its lock, SQLite's busy database, or its
 * `CREATE TABLE knex_migrations…` winning the race (PostgreSQL reports that in several ways). Each
 * clears once that process is done.
 */
const CONTENTION_PATTERNS: readonly RegExp[] = [
  /already locked/i,
  /database is locked/i,
  // SQLite, and PostgreSQL's relation or row type of the same name, when both create it at once:
  /[`"]knex_migrations\w*[`"] already exists/i,
  /duplicate key value violates unique constraint "pg_(type_typname|class_relname)_nsp_index"/i,
];

function isMigrationContention(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  const message = String((error as { message?: unknown } | null)?.message ?? error);
  return name === 'MigrationLocked' || CONTENTION_PATTERNS.some((pattern) => pattern.test(message));
}

/**
 * knex creates its lock table and then, if it is empty, inserts the one row its lock needs — two steps
 * another process can interleave, leaving two rows and a lock no process can ever take ("Migration table
 * is already locked" forever). Creating the table as knex would and inserting the row under a fixed key
 * makes that row unique whoever gets there first.
 */
async function ensureMigrationLockRow(db: Knex): Promise<void> {
  if (isPostgres(db)) {
    await db.raw(
      'CREATE TABLE IF NOT EXISTS "knex_migrations_lock" ("index" serial primary key, "is_locked" integer)',
    );
    await db.raw(
      'INSERT INTO "knex_migrations_lock" ("index", "is_locked") VALUES (1, 0) ON CONFLICT DO NOTHING',
    );
  } else {
    await db.raw(
      'CREATE TABLE IF NOT EXISTS `knex_migrations_lock` (`index` integer not null primary key autoincrement, `is_locked` integer)',
    );
    await db.raw('INSERT OR IGNORE INTO `knex_migrations_lock` (`index`, `is_locked`) VALUES (1, 0)');
  }
}

export interface MigrateOptions {
  /** How long to wait for another process's migration run before giving up (default 60 s). */
  lockTimeoutMs?: number;
}

/**
 * Brings the schema up to date; safe to call on every start and from several processes at once
 * (every replica of a scaled worker does). Nothing pending means no lock is taken; while another
 * process migrates, this one waits for it instead of failing.
 */
export async function migrateLatest(db: Knex, options: MigrateOptions = {}): Promise<void> {
  const timeoutMs = options.lockTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await ensureMigrationLockRow(db);
      const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
      if (pending.length === 0) return;
      await db.migrate.latest({ migrationSource });
      return;
    } catch (error) {
      if (!isMigrationContention(error)) throw error;
      if (Date.now() >= deadline) {
        throw new Error(
          `database migrations: another process held the migration lock for more than ${Math.round(timeoutMs / 1000)} s ` +
            `(${(error as Error).message}). If no migration is running, release the lock: ` +
            'UPDATE knex_migrations_lock SET is_locked = 0',
        );
      }
      // Jittered so that replicas started together do not retry in lockstep.
      const delayMs = Math.min(25 * 2 ** attempt, 1_000) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
