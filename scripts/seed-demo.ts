import { createKnex } from '../store/knex-client';
import { migrateLatest } from '../store/migrate';
import { seedDemo } from '../store/seed-demo';
import { loadOrCreateDemoCredentials, demoCredentialsFile } from '../devtools/demo-credentials';
import { ensureDemoGovernanceKey } from '../devtools/demo-governance-key';
import { readSettings } from '../config/environment';
import { ensureEmbeddedOperatorToken, loadPayloadKeyring } from '../codec/payload-encryption';
import { loadAuditKeys } from '../governance/audit-key-store';
import { attestGovernanceChanges } from '../governance/governance-attestation';

/**
 * Prepares the shared state `npm start` prepares, for deployments whose workers run apart from it
 * (docker-compose.yml): migrates the app database, seeds the demo tenant, creates the payload key file
 * (unless GATEHOUSE_CODEC_KEYS provides keys), the audit key file (unless GATEHOUSE_AUDIT_KEYS does) and an
 * all-tenants codec operator token. Everything is
 * kept in GATEHOUSE_DATA_DIR, so running it again keeps the same keys and tokens.
 */
async function main(): Promise<void> {
  const settings = readSettings();
  const db = createKnex({ databaseUrl: settings.databaseUrl, sqliteFile: settings.sqliteFile });
  try {
    await migrateLatest(db);
    const credentials = loadOrCreateDemoCredentials(settings.dataDir);
    const seeded = await seedDemo(db, {
      apiKey: credentials.apiKey,
      contractorApiKey: credentials.contractorApiKey,
    });
    const auditKeys = loadAuditKeys(settings.audit, { createIfMissing: true });
    const changes = await attestGovernanceChanges(
      { db, chainKey: auditKeys.keys.chainKey },
      seeded.tenantId,
      'npm run db:seed-demo',
    );
    console.log(`audit: ${changes.length} policy, prompt or principal change(s) recorded`);
    const governance = await ensureDemoGovernanceKey(
      { db, chainKey: auditKeys.keys.chainKey },
      settings.dataDir,
      credentials,
    );
    console.log(`governance key: ${governance.state} (kept in ${demoCredentialsFile(settings.dataDir)})`);
    console.log(
      `demo tenant 'demo' seeded in ${settings.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : settings.sqliteFile}`,
    );
    console.log(`API key ${credentials.apiKey} (kept in ${demoCredentialsFile(settings.dataDir)})`);
  } finally {
    await db.destroy();
  }
  const keys = await loadPayloadKeyring(settings, { createIfMissing: true });
  console.log(
    `payload encryption: ${keys.keyring.keyIds.length} key(s) from ${keys.source === 'environment' ? 'GATEHOUSE_CODEC_KEYS' : settings.codec.keyFile}` +
      `${keys.source === 'new key file' ? ' (created)' : ''}, active ${keys.keyring.activeKeyId}`,
  );
  const audit = loadAuditKeys(settings.audit, { createIfMissing: true });
  console.log(
    `audit keys: ${audit.source === 'environment' ? 'GATEHOUSE_AUDIT_KEYS' : settings.audit.keyFile}` +
      `${audit.source === 'new key file' ? ' (created)' : ''}, chain key ${audit.keys.chainKey.id}, checkpoint key ${audit.keys.signing.keyId}`,
  );
  const operator = ensureEmbeddedOperatorToken(settings);
  if (operator) console.log(`codec server operator token '${operator.name}': ${operator.token}`);
}

main().catch((error: unknown) => {
  console.error(`db:seed-demo failed: ${(error as Error).message}`);
  process.exit(1);
});
