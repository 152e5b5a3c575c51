import { mkdirSync } from 'node:fs';
import { createKnex } from '../store/knex-client';
import { migrateLatest } from '../store/migrate';
import { readSettings } from '../config/environment';

/** Applies the app database's migrations (SQLite under .data/ by default, PostgreSQL with DATABASE_URL). */
async function main(): Promise<void> {
  const settings = readSettings();
  if (!settings.databaseUrl) mkdirSync(settings.dataDir, { recursive: true });
  const db = createKnex({ databaseUrl: settings.databaseUrl, sqliteFile: settings.sqliteFile });
  try {
    await migrateLatest(db);
    console.log(`migrated ${settings.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : settings.sqliteFile}`);
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`db:migrate failed: ${(error as Error).message}`);
  process.exit(1);
});
