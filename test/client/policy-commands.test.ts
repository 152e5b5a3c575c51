/**
 * `gatehouse policy validate | apply | diff | history` against a real store, on SQLite and (with
 * DATABASE_URL) PostgreSQL: every applied version is an audited change with its author (the principal of
 * the governance key that applied it) and content hash, `audit verify` passes after changes made this way
 * and names a version edited by SQL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSettings, type GatehouseSettings } from '../../config/environment';
import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { loadAuditKeys, newAuditKeyFile } from '../../governance/audit-key-store';
import {
  attestGovernanceChanges,
  governanceWorkflowId,
  policyContentHash,
} from '../../governance/governance-attestation';
import { listAuditEvents } from '../../store/audit-repository';
import { getBudget } from '../../store/budget-repository';
import { isPostgres } from '../../store/knex-client';
import { migrateLatest } from '../../store/migrate';
import { rejectUpdatesOn } from '../../store/migrations/20261127000100-core-tables';
import { getLatestPolicy } from '../../store/policy-repository';
import { seedDemo } from '../../store/seed-demo';
import { upsertPrincipal } from '../../store/principal-repository';
import { upsertTenant } from '../../store/tenant-repository';
import { bootstrapGovernanceKey, createKey, type IssuedKey } from '../../governance/api-keys';
import { hashApiKey } from '../../governance/caller-proof';
import { createIsolatedDatabase, type IsolatedDatabase } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

const fixtures = path.resolve(__dirname, '../fixtures/policy-files');
const routes = path.resolve(__dirname, '../../config/routes.bedrock-emulator.json');

describe('gatehouse policy', () => {
  let database: IsolatedDatabase;
  let settings: GatehouseSettings;
  let directory: string;
  let policyFile: string;
  /** Governance keys: demo-analyst's (the bootstrap), demo-contractor's, and the admin of tenant globex. */
  let analystKey: IssuedKey;
  let contractorKey: IssuedKey;
  let globexKey: IssuedKey;

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    await migrateLatest(database.db);
    const apiKey = `policy-approver-${randomBytes(8).toString('hex')}`;
    await seedDemo(database.db, {
      apiKey,
      contractorApiKey: `policy-contractor-${randomBytes(8).toString('hex')}`,
    });
    const auditKeyFile = JSON.stringify(newAuditKeyFile());
    const { keys } = loadAuditKeys(
      { keysFromEnvironment: auditKeyFile, keyFile: '/nonexistent' },
      { createIfMissing: false },
    );
    // As `npm start` does: the seeded configuration enters the chain first, then its governance key.
    const writer = { db: database.db, chainKey: keys.chainKey };
    await attestGovernanceChanges(writer, 'demo', 'seed');
    analystKey = await bootstrapGovernanceKey(writer, { tenantId: 'demo', principalId: 'demo-analyst' });
    contractorKey = await createKey(writer, {
      tenantId: 'demo',
      principalId: 'demo-contractor',
      scopes: ['governance:read', 'governance:write'],
      actor: { principalId: 'demo-analyst', keyId: analystKey.record.keyId },
    });
    await upsertTenant(database.db, { id: 'globex', name: 'Globex', status: 'active', tier: 'team' });
    await upsertPrincipal(database.db, {
      id: 'globex-admin',
      tenantId: 'globex',
      name: 'Globex admin',
      apiKeyHash: hashApiKey(`globex-${randomBytes(8).toString('hex')}`),
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'internal',
      role: 'admin',
      status: 'active',
    });
    globexKey = await bootstrapGovernanceKey(writer, { tenantId: 'globex', principalId: 'globex-admin' });
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-policy-'));
    settings = {
      ...readSettings({
        GATEHOUSE_API_KEY: apiKey,
        GATEHOUSE_AUDIT_KEYS: auditKeyFile,
        GATEHOUSE_AUDIT_CHECKPOINT_FILE: path.join(directory, 'audit-checkpoints.jsonl'),
        GATEHOUSE_ROUTES_FILE: routes,
      }),
      ...database.location,
    };
    // The fixture is written for tenant acme; this suite's tenant is demo.
    policyFile = path.join(directory, 'demo.policy.yaml');
    writeFileSync(
      policyFile,
      readFileSync(path.join(fixtures, 'valid.policy.yaml'), 'utf8').replace('tenant: acme', 'tenant: demo'),
    );
  });
  afterAll(async () => {
    await database.drop();
    rmSync(directory, { recursive: true, force: true });
  });

  /** `gatehouse policy apply <file> --tenant <tenant> --api-key <the key's secret>` */
  const apply = (file: string, tenant: string, key: IssuedKey) =>
    runCli(settings, 'policy', 'apply', file, '--tenant', tenant, '--api-key', key.secret);
  /** `gatehouse policy diff | history … --tenant demo` with demo-analyst's governance key. */
  const read = (...args: string[]) =>
    runCli(settings, 'policy', ...args, '--tenant', 'demo', '--api-key', analystKey.secret);

  it('validate needs no database and lists every problem with its line', async () => {
    const valid = await runCli(
      { ...settings, databaseUrl: 'postgres://nobody@127.0.0.1:1/none' },
      'policy',
      'validate',
      policyFile,
    );
    expect(valid).toMatchObject({ exitCode: 0 });
    expect(valid.stdout).toMatch(/is a valid policy: 3 task type\(s\) \(qa, summarize, extract\)/);

    const broken = await runCli(
      settings,
      'policy',
      'validate',
      path.join(fixtures, 'unknown-route.policy.yaml'),
    );
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toContain(
      'unknown-route.policy.yaml:8: routes.summarize.confidential[0]: unknown route "bedrock-claude" (known: claude-haiku, nova-lite, extractive)',
    );
  });

  it('validate prices the routes with the deployment’s catalogue (GATEHOUSE_PRICING_CATALOGUE)', async () => {
    const catalogue = JSON.parse(readFileSync(settings.pricingCatalogueFile, 'utf8')) as {
      models: Record<string, unknown>;
    };
    catalogue.models['acme.house-model-v1:0'] = catalogue.models['amazon.nova-lite-v1:0'];
    const catalogueFile = path.join(directory, 'house-catalogue.json');
    writeFileSync(catalogueFile, JSON.stringify(catalogue));
    const table = JSON.parse(readFileSync(routes, 'utf8')) as { routes: Array<{ model: string }> };
    table.routes[1]!.model = 'acme.house-model-v1:0';
    const routesFile = path.join(directory, 'house-routes.json');
    writeFileSync(routesFile, JSON.stringify(table));
    const withHouseCatalogue = { ...settings, pricingCatalogueFile: catalogueFile };
    const valid = await runCli(withHouseCatalogue, 'policy', 'validate', policyFile, '--routes', routesFile);
    expect(valid).toMatchObject({ exitCode: 0 });
    const shipped = await runCli(settings, 'policy', 'validate', policyFile, '--routes', routesFile);
    expect(shipped.exitCode).toBe(1);
    expect(shipped.stderr).toMatch(/Pricing\.UnknownModel.*acme\.house-model-v1:0/);
  });

  it('diff shows what applying would change; apply publishes a version, its budget and an audit event', async () => {
    const diff = await read('diff', policyFile);
    expect(diff.exitCode).toBe(0);
    expect(diff.stdout).toMatch(/^--- active version 1\n\+\+\+ .*demo\.policy\.yaml\n/);
    expect(diff.stdout).toContain('- logging: full\n');
    expect(diff.stdout).toContain('+ logging: redacted\n');

    const applied = await apply(policyFile, 'demo', analystKey);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(
      new RegExp(
        `^policy version 2 of 'demo' applied by demo-analyst with key ${analystKey.record.keyId} \\(sha256 [0-9a-f]{64}\\); budget limit 250\\.00 USD; 1 change\\(s\\)`,
      ),
    );
    expect((await getLatestPolicy(database.db, 'demo'))?.version).toBe(2);
    expect((await getBudget(database.db, 'demo'))?.limitMicroUsd).toBe(250_000_000);
    const events = await listAuditEvents(database.db, {
      tenantId: 'demo',
      workflowId: governanceWorkflowId('demo'),
    });
    const last = events.at(-1);
    expect(last?.eventType).toBe(AUDIT_EVENT_TYPES.governanceChanged);
    const hash = /sha256 ([0-9a-f]{64})/.exec(applied.stdout)?.[1];
    expect(last?.payload).toEqual({
      author: 'demo-analyst',
      authorKeyId: analystKey.record.keyId,
      changes: [{ item: 'policy@2', contentHash: hash }],
    });

    const again = await apply(policyFile, 'demo', contractorKey);
    expect(again.stdout).toMatch(/^policy version 2 of 'demo' already says this .* no new version/);
    const same = await read('diff', policyFile);
    expect(same.stdout).toMatch(/says what active version 2 says/);
  });

  it('refuses a file whose task prompts the tenant does not have', async () => {
    const file = path.join(directory, 'missing-prompt.policy.yaml');
    writeFileSync(
      file,
      'dataClasses:\n  allowed: [internal]\ntaskTypes:\n  qa:\n    prompt: { name: qa-v9, label: production }\n',
    );
    const refused = await apply(file, 'demo', analystKey);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      "taskTypes.qa.prompt: prompt 'qa-v9' label 'production' does not exist for 'demo' (publish and promote it first",
    );
    expect((await getLatestPolicy(database.db, 'demo'))?.version).toBe(2);
  });

  it('refuses a file written for another tenant', async () => {
    const other = await apply(policyFile, 'globex', globexKey);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain("the file is the policy of tenant 'demo', not 'globex' (--tenant)");
    // demo's key is refused for globex before the file is looked at.
    const crossTenant = await apply(policyFile, 'globex', analystKey);
    expect(crossTenant.exitCode).toBe(5);
    expect(crossTenant.stderr).toContain(
      "the API key belongs to another tenant and is not valid for tenant 'globex'",
    );
  });

  it('history lists versions with author, time and hash; audit verify passes, then names a version edited by SQL', async () => {
    const history = await read('history');
    const lines = history.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(
        `^v2 \\(active\\) {2}\\d{4}-\\d\\d-\\d\\dT\\S+ {2}by demo-analyst with key ${analystKey.record.keyId} {2}sha256 [0-9a-f]{64}$`,
      ),
    );
    expect(lines[1]).toMatch(/^v1 {2}\S+ {2}by seed {2}sha256 [0-9a-f]{64}$/);

    const verified = await runCli(settings, 'audit', 'verify', '--tenant', 'demo', '--no-history');
    expect(verified.stdout).toMatch(/^audit chain of 'demo' verifies: /);

    // Someone with DDL rights lifts the append-only guard and rewrites the published version in place.
    const row = await database.db('policies').where({ tenant_id: 'demo', version: 2 }).first();
    const edited = String(row.document).replace('"logging":"redacted"', '"logging":"full"');
    expect(edited).not.toBe(String(row.document));
    const postgres = isPostgres(database.db);
    await database.db.raw(`DROP TRIGGER policies_reject_update${postgres ? ' ON policies' : ''}`);
    await database.db('policies').where({ tenant_id: 'demo', version: 2 }).update({ document: edited });
    for (const statement of rejectUpdatesOn(database.db, 'policies')) await database.db.raw(statement);

    const broken = await runCli(settings, 'audit', 'verify', '--tenant', 'demo', '--no-history');
    // #4 is the apply: after the seed, the bootstrap and the contractor's governance key.
    expect(broken.stdout).toMatch(
      /is BROKEN at #4 \(request governance\/demo\): policy@2 was changed outside Gatehouse: no governance.changed event records it/,
    );
    const after = await read('history');
    expect(after.stdout).toContain(
      `by demo-analyst with key ${analystKey.record.keyId}, CHANGED since the audit recorded it`,
    );
    expect(after.stdout).toContain(`sha256 ${policyContentHash(edited)}`);
  });
});
