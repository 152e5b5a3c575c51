import { createKnex } from '../store/knex-client';
import { migrateLatest } from '../store/migrate';
import { seedDemo } from '../store/seed-demo';
import { loadOrCreateDemoCredentials, demoCredentialsFile } from '../worker/demo-credentials';
import { readSettings } from '../worker/environment';

/**
 * Migrates the app database and seeds the demo tenant, as `npm start` does, for deployments whose
 * workers run apart from it (docker-compose.yml). The keys are kept in GATEHOUSE_DATA_DIR, so running
 * it again keeps the same keys.
 */
async function main(): Promise<void> {
  const settings = readSettings();
  const db = createKnex({ databaseUrl: settings.databaseUrl, sqliteFile: settings.sqliteFile });
  try {
    await migrateLatest(db);
    const credentials = loadOrCreateDemoCredentials(settings.dataDir);
    await seedDemo(db, { apiKey: credentials.apiKey, contractorApiKey: credentials.contractorApiKey });
    console.log(
      `demo tenant 'demo' seeded in ${settings.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : settings.sqliteFile}`,
    );
    console.log(`API key ${credentials.apiKey} (kept in ${demoCredentialsFile(settings.dataDir)})`);
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`db:seed-demo failed: ${(error as Error).message}`);
  process.exit(1);
});
