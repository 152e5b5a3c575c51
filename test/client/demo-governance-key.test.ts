/**
 * What `npm start` and `npm run db:seed-demo` do for governance: the demo tenant gets its governance key
 * through the audited bootstrap with no manual step, keeps it across restarts, gets a new one after its
 * database is reset, and makes none when someone else already governs the tenant. The CLI then changes
 * the demo policy with no key on the command line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSettings, type GatehouseSettings } from '../../config/environment';
import { demoCredentialsFile, loadOrCreateDemoCredentials } from '../../devtools/demo-credentials';
import { ensureDemoGovernanceKey } from '../../devtools/demo-governance-key';
import { bootstrapGovernanceKey } from '../../governance/api-keys';
import { loadAuditKeys, newAuditKeyFile } from '../../governance/audit-key-store';
import { attestGovernanceChanges, governanceWorkflowId } from '../../governance/governance-attestation';
import { listAuditEvents } from '../../store/audit-repository';
import { migrateLatest } from '../../store/migrate';
import { seedDemo } from '../../store/seed-demo';
import { createIsolatedDatabase, type IsolatedDatabase } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

describe('the demo governance key', () => {
  const auditKeyFile = JSON.stringify(newAuditKeyFile());
  const { chainKey } = loadAuditKeys(
    { keysFromEnvironment: auditKeyFile, keyFile: '/nonexistent' },
    { createIfMissing: false },
  ).keys;
  const databases: IsolatedDatabase[] = [];
  let directory: string;

  /** A fresh store seeded as `npm start` seeds it, with the demo credentials of `directory`. */
  async function startDemo(database?: IsolatedDatabase) {
    const db = database ?? (await createIsolatedDatabase());
    if (!database) databases.push(db);
    await migrateLatest(db.db);
    const credentials = loadOrCreateDemoCredentials(directory);
    const seeded = await seedDemo(db.db, {
      apiKey: credentials.apiKey,
      contractorApiKey: credentials.contractorApiKey,
    });
    await attestGovernanceChanges({ db: db.db, chainKey }, seeded.tenantId, 'npm start (demo seed)');
    const ensured = await ensureDemoGovernanceKey({ db: db.db, chainKey }, directory, credentials);
    return { database: db, ...ensured };
  }
  const savedKey = () =>
    (JSON.parse(readFileSync(demoCredentialsFile(directory), 'utf8')) as { governanceApiKey?: string })
      .governanceApiKey;

  beforeEach(() => {
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-demo-governance-'));
  });
  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  it('is bootstrapped on first start, kept on the next, and used by the CLI for tenant demo', async () => {
    const first = await startDemo();
    expect(first.state).toBe('bootstrapped');
    const secret = savedKey();
    expect(secret).toMatch(/^ghk_/);
    expect(first.credentials.governanceApiKey).toBe(secret);
    const events = await listAuditEvents(first.database.db, {
      tenantId: 'demo',
      workflowId: governanceWorkflowId('demo'),
    });
    expect(events.at(-1)?.payload).toMatchObject({
      author: 'demo-analyst',
      bootstrap: true,
      note: 'demo seed',
    });

    const second = await startDemo(first.database);
    expect(second.state).toBe('kept');
    expect(savedKey()).toBe(secret);

    const settings: GatehouseSettings = {
      ...readSettings({
        GATEHOUSE_AUDIT_KEYS: auditKeyFile,
        GATEHOUSE_AUDIT_CHECKPOINT_FILE: path.join(directory, 'audit-checkpoints.jsonl'),
        GATEHOUSE_DATA_DIR: directory,
      }),
      ...first.database.location,
    };
    const history = await runCli(settings, 'policy', 'history', '--tenant', 'demo');
    expect(history.stderr).toBe('');
    expect(history.stdout).toMatch(
      /^v1 \(active\) {2}\S+ {2}by npm start \(demo seed\) {2}sha256 [0-9a-f]{64}\n$/,
    );
  });

  it('is bootstrapped again for a reset database, and not at all where others govern the tenant', async () => {
    const first = await startDemo();
    const before = savedKey();
    const reset = await startDemo();
    expect(reset.state).toBe('bootstrapped');
    expect(savedKey()).not.toBe(before);

    const governed = await createIsolatedDatabase();
    databases.push(governed);
    await migrateLatest(governed.db);
    await seedDemo(governed.db, { apiKey: first.credentials.apiKey, contractorApiKey: 'other-contractor' });
    await bootstrapGovernanceKey(
      { db: governed.db, chainKey },
      { tenantId: 'demo', principalId: 'demo-contractor' },
    );
    const current = savedKey();
    const elsewhere = await startDemo(governed);
    expect(elsewhere.state).toBe('governed elsewhere');
    expect(savedKey()).toBe(current);
    expect(await governed.db('api_keys').where({ tenant_id: 'demo' })).toHaveLength(1);
  });
});
