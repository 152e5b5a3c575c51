/**
 * `gatehouse keys create | list | revoke | rotate` on a real store (SQLite, or PostgreSQL): secrets are
 * shown once, scopes and expiry are enforced where the CLI authenticates, rotation keeps the old secret
 * for its grace period, and every change is in the audit chain with its author: the principal of the
 * governance key that made it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSettings, type GatehouseSettings } from '../../config/environment';
import type { AuditChainKey } from '../../governance/audit-chain';
import { loadAuditKeys, newAuditKeyFile } from '../../governance/audit-key-store';
import { attestGovernanceChanges, governanceWorkflowId } from '../../governance/governance-attestation';
import { createApiKey } from '../../store/api-key-repository';
import { listAuditEvents } from '../../store/audit-repository';
import { migrateLatest } from '../../store/migrate';
import { seedDemo } from '../../store/seed-demo';
import { createIsolatedDatabase, type IsolatedDatabase } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

describe('gatehouse keys', () => {
  let database: IsolatedDatabase;
  let settings: GatehouseSettings;
  let directory: string;
  let chainKey: AuditChainKey;
  /** demo-analyst's governance key (the tenant's bootstrap key) and demo-contractor's. */
  let analystGovernance: { secret: string; keyId: string };
  let contractorGovernance: { secret: string; keyId: string };

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    await migrateLatest(database.db);
    await seedDemo(database.db, {
      apiKey: `keys-approver-${randomBytes(8).toString('hex')}`,
      contractorApiKey: `keys-contractor-${randomBytes(8).toString('hex')}`,
    });
    const auditKeyFile = JSON.stringify(newAuditKeyFile());
    chainKey = loadAuditKeys(
      { keysFromEnvironment: auditKeyFile, keyFile: '/nonexistent' },
      { createIfMissing: false },
    ).keys.chainKey;
    await attestGovernanceChanges({ db: database.db, chainKey }, 'demo', 'seed');
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
    settings = {
      ...readSettings({
        GATEHOUSE_AUDIT_KEYS: auditKeyFile,
        GATEHOUSE_AUDIT_CHECKPOINT_FILE: path.join(directory, 'audit-checkpoints.jsonl'),
        GATEHOUSE_DATA_DIR: directory,
      }),
      ...database.location,
    };
    const bootstrap = await keys('create', '--principal', 'demo-analyst', '--bootstrap');
    expect(bootstrap.stderr).toBe('');
    analystGovernance = { secret: secretOf(bootstrap.stdout)!, keyId: keyIdOf(bootstrap.stdout)! };
    const second = await keys(
      'create',
      '--principal',
      'demo-contractor',
      '--scopes',
      'governance:read,governance:write',
      '--api-key',
      analystGovernance.secret,
    );
    expect(second.stderr).toBe('');
    contractorGovernance = { secret: secretOf(second.stdout)!, keyId: keyIdOf(second.stdout)! };
  });
  afterAll(async () => {
    await database.drop();
    rmSync(directory, { recursive: true, force: true });
  });

  const secretOf = (stdout: string) => /secret \(shown only now\): (ghk_[A-Za-z0-9_-]{43})/.exec(stdout)?.[1];
  const keyIdOf = (stdout: string) => /key ([0-9a-f]{32})/.exec(stdout)?.[1];
  const verify = (apiKey: string) =>
    runCli(settings, 'audit', 'verify', '--tenant', 'demo', '--no-history', '--api-key', apiKey);
  /** `gatehouse keys <command> -t demo …` */
  const keys = (command: string, ...args: string[]) =>
    runCli(settings, 'keys', command, '-t', 'demo', ...args);
  /** A key for demo-analyst with these scopes, made with demo-analyst's governance key. */
  const createAnalystKey = (scopes: string, ...args: string[]) =>
    keys(
      'create',
      '--principal',
      'demo-analyst',
      '--scopes',
      scopes,
      ...args,
      '--api-key',
      analystGovernance.secret,
    );
  /** `by <principal> with key <key id>`, as the CLI names the author of a change. */
  const by = (principal: string, key: { keyId: string }) => `by ${principal} with key ${key.keyId}`;

  it('creates a scoped key whose secret is shown once; list never prints it', async () => {
    const created = await createAnalystKey('audit', '--expires', '30d');
    expect(created.stderr).toBe('');
    const secret = secretOf(created.stdout);
    const keyId = keyIdOf(created.stdout);
    expect(secret).toBeDefined();
    expect(created.stdout).toMatch(
      /\(scopes audit, expires \d{4}-\d\d-\d\dT.*\), created by demo-analyst with key /,
    );
    expect(created.stdout).toContain(`created ${by('demo-analyst', analystGovernance)}\n`);

    const listed = await keys('list', '--api-key', analystGovernance.secret);
    expect(listed.stdout).toContain(`${keyId}  demo-analyst  active  scopes audit`);
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toContain('ghk_');

    // In scope: audit verify; out of scope: an operator command.
    expect((await verify(secret!)).stdout).toMatch(/^audit chain of 'demo' verifies/);
    const operate = await runCli(settings, 'requests', 'list', '--tenant', 'demo', '--api-key', secret!);
    expect(operate.stderr).toContain(`key ${keyId} lacks scope 'operate' (it has: audit)`);

    const unknownScope = await createAnalystKey('audit,admin');
    expect(unknownScope.stderr).toContain(
      'scopes must be one or more of requests, operate, audit, governance:read, governance:write (unknown: admin)',
    );
  });

  it('rotates with a grace period or at once, revokes, and refuses expired keys by name', async () => {
    const created = await createAnalystKey('audit,operate');
    const first = secretOf(created.stdout)!;
    const firstId = keyIdOf(created.stdout)!;
    const rotated = await keys('rotate', '--key', firstId, '--api-key', analystGovernance.secret);
    expect(rotated.stdout).toMatch(
      new RegExp(
        `^key ${firstId} rotated ${by('demo-analyst', analystGovernance)}: new key [0-9a-f]{32} \\(scopes audit,operate\\); the old key is valid until `,
      ),
    );
    const second = secretOf(rotated.stdout)!;
    const secondId = /new key ([0-9a-f]{32})/.exec(rotated.stdout)![1]!;
    // Both secrets work during the grace period.
    expect((await verify(first)).stdout).toMatch(/verifies/);
    expect((await verify(second)).stdout).toMatch(/verifies/);

    const immediate = await keys(
      'rotate',
      '--key',
      secondId,
      '--grace',
      '0',
      '--api-key',
      analystGovernance.secret,
    );
    expect(immediate.stdout).toMatch(/the old key is revoked at /);
    const revokedMessage = await verify(second);
    expect(revokedMessage.exitCode).toBe(5);
    expect(revokedMessage.stderr).toMatch(new RegExp(`key ${secondId} was revoked at \\d{4}-`));
    const third = secretOf(immediate.stdout)!;
    const thirdId = /new key ([0-9a-f]{32})/.exec(immediate.stdout)![1]!;
    const revoked = await keys('revoke', '--key', thirdId, '--api-key', contractorGovernance.secret);
    expect(revoked.stdout).toMatch(
      new RegExp(`^key ${thirdId} of 'demo' revoked at .* ${by('demo-contractor', contractorGovernance)}\n$`),
    );
    expect((await verify(third)).stderr).toContain(`key ${thirdId} was revoked at`);

    // A key whose lifetime is over (made here already expired, as one would be after 30 days).
    const expiredSecret = `ghk_expired_${randomBytes(16).toString('hex')}`;
    const expired = await createApiKey(database.db, {
      tenantId: 'demo',
      principalId: 'demo-analyst',
      rawKey: expiredSecret,
      scopes: ['audit'],
      expiresAt: new Date(Date.now() - 60_000),
    });
    await attestGovernanceChanges({ db: database.db, chainKey }, 'demo', 'test setup');
    const refused = await verify(expiredSecret);
    expect(refused.stderr).toContain(`key ${expired.keyId} expired at ${expired.expiresAt}`);
    const listed = await keys('list', '--api-key', contractorGovernance.secret);
    expect(listed.stdout).toContain(`${expired.keyId}  demo-analyst  expired`);
    expect(listed.stdout).toContain(`${firstId}  demo-analyst  active  scopes audit,operate`);
    expect(listed.stdout).toContain(`replaced by ${secondId}`);
  });

  it('every change is a governance.changed event with its author; a key widened by SQL is reported', async () => {
    const events = await listAuditEvents(database.db, {
      tenantId: 'demo',
      workflowId: governanceWorkflowId('demo'),
    });
    const authors = events.map((event) => {
      const payload = event.payload as { author: string; authorKeyId?: string; bootstrap?: boolean };
      return `${payload.author}${payload.authorKeyId === undefined ? '' : ` ${payload.authorKeyId}`}${payload.bootstrap ? ' (bootstrap)' : ''}`;
    });
    const analyst = `demo-analyst ${analystGovernance.keyId}`;
    expect(authors).toEqual([
      'seed',
      `${analyst} (bootstrap)`,
      analyst,
      analyst,
      analyst,
      analyst,
      analyst,
      `demo-contractor ${contractorGovernance.keyId}`,
      'test setup',
    ]);
    const admin = await createAnalystKey('audit');
    const secret = secretOf(admin.stdout)!;
    const keyId = keyIdOf(admin.stdout)!;
    expect((await verify(secret)).stdout).toMatch(/verifies/);
    await database
      .db('api_keys')
      .where({ key_id: keyId })
      .update({ scopes: JSON.stringify(['audit', 'operate']) });
    const broken = await verify(secret);
    expect(broken.stdout).toMatch(
      new RegExp(`BROKEN at #\\d+ .*api-key:${keyId} was changed outside Gatehouse`),
    );
  });

  it('binds a key to features with --feature, shows the binding, keeps it through a rotation', async () => {
    const created = await createAnalystKey('requests', '--feature', 'faq', '--feature', 'search');
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/\(scopes requests, features faq,search, no expiry\), created by /);
    const keyId = keyIdOf(created.stdout)!;
    const stored = (await database.db('api_keys').where({ key_id: keyId }).first('features')) as {
      features: string;
    };
    expect(JSON.parse(stored.features)).toEqual(['faq', 'search']);

    const listed = await keys('list', '--api-key', analystGovernance.secret);
    expect(listed.stdout).toContain(
      `${keyId}  demo-analyst  active  scopes requests  features faq,search  created`,
    );
    const json = await keys('list', '--json', '--api-key', analystGovernance.secret);
    const rows = JSON.parse(json.stdout) as Array<{ keyId: string; features?: string[] }>;
    expect(rows.find((row) => row.keyId === keyId)?.features).toEqual(['faq', 'search']);

    const rotated = await keys('rotate', '--key', keyId, '--api-key', analystGovernance.secret);
    expect(rotated.stdout).toMatch(/new key [0-9a-f]{32} \(scopes requests, features faq,search\)/);

    const withoutRequests = await createAnalystKey('audit', '--feature', 'faq');
    expect(withoutRequests.stderr).toContain("give the key the 'requests' scope or no --feature");
    const invalid = await createAnalystKey('requests', '--feature', 'FAQ!');
    expect(invalid.stderr).toContain(
      'features are 1-63 lower-case letters, digits, dots, dashes or underscores (invalid: FAQ!)',
    );
    const bootstrap = await keys('create', '--principal', 'demo-analyst', '--bootstrap', '--feature', 'faq');
    expect(bootstrap.stderr).toContain('drop --feature');
  });
});
