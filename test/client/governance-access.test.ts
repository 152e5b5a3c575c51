/**
 * Every governance change of the CLI (`policy apply`, `prompts publish | promote`, `keys create | revoke |
 * rotate`) needs a key of the tenant that is neither revoked nor expired and has `governance:write`; each
 * refusal says which, exits 5 and changes nothing. An accepted change is authored by the key's principal,
 * never by free text. The reads need `governance:read`; `policy validate` of a local file needs no key.
 * The first governance key of a tenant comes from `keys create --bootstrap`, which works once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCli } from '../../client/cli';
import { readSettings, type GatehouseSettings } from '../../config/environment';
import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { loadAuditKeys, newAuditKeyFile } from '../../governance/audit-key-store';
import { hashApiKey } from '../../governance/caller-proof';
import { attestGovernanceChanges, governanceWorkflowId } from '../../governance/governance-attestation';
import { createApiKey } from '../../store/api-key-repository';
import { listAuditEvents } from '../../store/audit-repository';
import { migrateLatest } from '../../store/migrate';
import { upsertPrincipal } from '../../store/principal-repository';
import { seedDemo } from '../../store/seed-demo';
import { upsertTenant } from '../../store/tenant-repository';
import { createIsolatedDatabase, type IsolatedDatabase } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

const fixtures = path.resolve(__dirname, '../fixtures/policy-files');
const routes = path.resolve(__dirname, '../../config/routes.bedrock-emulator.json');
const analystOwnKey = 'governance-access-analyst-own-key';

interface Key {
  secret: string;
  keyId: string;
}

describe('governance commands need a governance key of the tenant', () => {
  let database: IsolatedDatabase;
  let settings: GatehouseSettings;
  let directory: string;
  let policyFile: string;
  let promptFile: string;
  /** demo-analyst's bootstrap key: governance:read and governance:write. */
  let governance: Key;
  const bad: Record<string, Key> = {};
  /** A requests key of demo-contractor that the accepted `keys rotate` and `keys revoke` act on. */
  let target: Key;

  const secretOf = (stdout: string) => /secret \(shown only now\): (ghk_[A-Za-z0-9_-]{43})/.exec(stdout)?.[1];
  const keyIdOf = (stdout: string) => /^key ([0-9a-f]{32})/.exec(stdout)?.[1];
  const governanceEvents = async () =>
    listAuditEvents(database.db, { tenantId: 'demo', workflowId: governanceWorkflowId('demo') });
  /** `gatehouse keys create` for tenant demo with the given key. */
  const createKeyWith = async (apiKey: string, principal: string, scopes: string): Promise<Key> => {
    const created = await runCli(
      settings,
      'keys',
      'create',
      '-t',
      'demo',
      '--principal',
      principal,
      '--scopes',
      scopes,
      '--api-key',
      apiKey,
    );
    expect(created.stderr).toBe('');
    return { secret: secretOf(created.stdout)!, keyId: keyIdOf(created.stdout)! };
  };

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    await migrateLatest(database.db);
    await seedDemo(database.db, { apiKey: analystOwnKey, contractorApiKey: 'governance-access-contractor' });
    await upsertTenant(database.db, { id: 'globex', name: 'Globex', status: 'active', tier: 'team' });
    await upsertPrincipal(database.db, {
      id: 'globex-admin',
      tenantId: 'globex',
      name: 'Globex admin',
      apiKeyHash: hashApiKey('globex-admin-own-key'),
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'internal',
      role: 'admin',
      status: 'active',
    });
    const auditKeyFile = JSON.stringify(newAuditKeyFile());
    const { keys } = loadAuditKeys(
      { keysFromEnvironment: auditKeyFile, keyFile: '/nonexistent' },
      { createIfMissing: false },
    );
    await attestGovernanceChanges({ db: database.db, chainKey: keys.chainKey }, 'demo', 'seed');
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-governance-access-'));
    // No GATEHOUSE_API_KEY, and a data directory without demo credentials: only --api-key counts here.
    settings = {
      ...readSettings({
        GATEHOUSE_AUDIT_KEYS: auditKeyFile,
        GATEHOUSE_AUDIT_CHECKPOINT_FILE: path.join(directory, 'audit-checkpoints.jsonl'),
        GATEHOUSE_DATA_DIR: directory,
        GATEHOUSE_ROUTES_FILE: routes,
      }),
      ...database.location,
    };
    policyFile = path.join(directory, 'demo.policy.yaml');
    writeFileSync(
      policyFile,
      readFileSync(path.join(fixtures, 'valid.policy.yaml'), 'utf8').replace('tenant: acme', 'tenant: demo'),
    );
    promptFile = path.join(directory, 'qa.prompt.yaml');
    writeFileSync(promptFile, 'system: Answer briefly.\nuser: |\n  {{context}}\n  Question: {{question}}\n');
  });
  afterAll(async () => {
    await database.drop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('bootstraps the first governance key once, audited as a bootstrap; a second bootstrap is refused', async () => {
    const first = await runCli(
      settings,
      'keys',
      'create',
      '-t',
      'demo',
      '--principal',
      'demo-analyst',
      '--bootstrap',
    );
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(
      /^key [0-9a-f]{32} for demo-analyst of 'demo' \(scopes governance:read,governance:write, no expiry\): the tenant's first governance key/,
    );
    governance = { secret: secretOf(first.stdout)!, keyId: keyIdOf(first.stdout)! };
    const event = (await governanceEvents()).at(-1);
    expect(event?.eventType).toBe(AUDIT_EVENT_TYPES.governanceChanged);
    expect(event?.payload).toEqual({
      author: 'demo-analyst',
      authorKeyId: governance.keyId,
      bootstrap: true,
      changes: [
        { item: `api-key:${governance.keyId}`, contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      ],
    });

    const again = await runCli(
      settings,
      'keys',
      'create',
      '-t',
      'demo',
      '--principal',
      'demo-contractor',
      '--bootstrap',
    );
    expect(again.exitCode).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(
      `tenant 'demo' already has governance key(s) (${governance.keyId}); --bootstrap only issues the first one. ` +
        'Create further keys with an existing key that has governance:write: gatehouse keys create --tenant demo',
    );
    expect(await database.db('api_keys').where({ tenant_id: 'demo' })).toHaveLength(1);

    // A bootstrap chooses its own scopes and lifetime and is made without a key.
    const widened = await runCli(
      settings,
      'keys',
      'create',
      '-t',
      'globex',
      '--principal',
      'globex-admin',
      '--bootstrap',
      '--scopes',
      'requests',
    );
    expect(widened.exitCode).toBe(1);
    expect(widened.stderr).toContain('--bootstrap issues a key with scopes governance:read,governance:write');
  });

  it('prepares the keys that must be refused', async () => {
    const globex = await runCli(
      settings,
      'keys',
      'create',
      '-t',
      'globex',
      '--principal',
      'globex-admin',
      '--bootstrap',
    );
    bad.otherTenant = { secret: secretOf(globex.stdout)!, keyId: keyIdOf(globex.stdout)! };
    bad.revoked = await createKeyWith(
      governance.secret,
      'demo-contractor',
      'governance:read,governance:write',
    );
    const revoked = await runCli(
      settings,
      'keys',
      'revoke',
      '-t',
      'demo',
      '--key',
      bad.revoked.keyId,
      '--api-key',
      governance.secret,
    );
    expect(revoked.exitCode).toBe(0);
    const expiredSecret = 'ghk_governance-access-expired-key';
    const expired = await createApiKey(database.db, {
      tenantId: 'demo',
      principalId: 'demo-contractor',
      rawKey: expiredSecret,
      scopes: ['governance:read', 'governance:write'],
      expiresAt: new Date(Date.now() - 60_000),
    });
    bad.expired = { secret: expiredSecret, keyId: expired.keyId };
    bad.readOnly = await createKeyWith(governance.secret, 'demo-contractor', 'governance:read');
    bad.ownKey = { secret: analystOwnKey, keyId: '' };
    target = await createKeyWith(governance.secret, 'demo-contractor', 'requests');
    expect(Object.keys(bad)).toHaveLength(5);
  });

  /** Every governance change, for tenant demo. */
  const changes: Array<[string, () => string[]]> = [
    ['policy apply', () => ['policy', 'apply', policyFile, '-t', 'demo']],
    ['prompts publish', () => ['prompts', 'publish', promptFile, '-t', 'demo', '--name', 'qa']],
    [
      'prompts promote',
      () => ['prompts', 'promote', '-t', 'demo', '--name', 'qa', '--version', '1', '--label', 'staging'],
    ],
    [
      'keys create',
      () => ['keys', 'create', '-t', 'demo', '--principal', 'demo-contractor', '--scopes', 'audit'],
    ],
    ['keys rotate', () => ['keys', 'rotate', '-t', 'demo', '--key', target.keyId]],
    ['keys revoke', () => ['keys', 'revoke', '-t', 'demo', '--key', target.keyId]],
  ];

  /** Each refusal: the key to present (none: undefined) and what the CLI must say. */
  const refusals: Array<[string, () => string | undefined, () => string | RegExp]> = [
    [
      'no key',
      () => undefined,
      () =>
        "this command needs an API key of tenant 'demo' with scope 'governance:write': pass --api-key or set GATEHOUSE_API_KEY",
    ],
    [
      'an unknown key',
      () => 'ghk_no-tenant-has-this-key',
      () => 'the API key is unknown: no tenant has a key with this secret',
    ],
    [
      'a revoked key',
      () => bad.revoked!.secret,
      () => new RegExp(`key ${bad.revoked!.keyId} was revoked at \\d{4}-`),
    ],
    ['an expired key', () => bad.expired!.secret, () => `key ${bad.expired!.keyId} expired at `],
    [
      "another tenant's key",
      () => bad.otherTenant!.secret,
      () => "the API key belongs to another tenant and is not valid for tenant 'demo'",
    ],
    [
      'a key without governance:write',
      () => bad.readOnly!.secret,
      () =>
        `key ${bad.readOnly!.keyId} of principal 'demo-contractor' lacks scope 'governance:write' (it has: governance:read)`,
    ],
    [
      "a principal's own key",
      () => bad.ownKey!.secret,
      () => /of principal 'demo-analyst' lacks scope 'governance:write' \(it has: requests, operate, audit\)/,
    ],
  ];

  describe.each(changes)('%s', (_name, command) => {
    it.each(refusals)('is refused with %s, exits 5 and changes nothing', async (_refusal, key, message) => {
      const before = await governanceEvents();
      const apiKey = key();
      const run = await runCli(
        settings,
        ...command(),
        ...(apiKey === undefined ? [] : ['--api-key', apiKey]),
      );
      expect(run.exitCode).toBe(5);
      expect(run.stdout).toBe('');
      const expected = message();
      if (typeof expected === 'string') expect(run.stderr).toContain(expected);
      else expect(run.stderr).toMatch(expected);
      expect(await governanceEvents()).toHaveLength(before.length);
    });

    it('is accepted with a governance:write key of the tenant, authored by its principal', async () => {
      const before = await governanceEvents();
      const run = await runCli(settings, ...command(), '--api-key', governance.secret, '--note', 'change 42');
      expect(run.stderr).toBe('');
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain(`by demo-analyst with key ${governance.keyId}`);
      const after = await governanceEvents();
      expect(after).toHaveLength(before.length + 1);
      expect(after.at(-1)?.payload).toMatchObject({
        author: 'demo-analyst',
        authorKeyId: governance.keyId,
        note: 'change 42',
      });
      expect(after.at(-1)?.payload).not.toHaveProperty('bootstrap');
    });
  });

  it('has no free-text author: no change command takes --author, each takes --api-key and --note', () => {
    const program = buildCli(settings);
    const optionsOf = (group: string, name: string) =>
      program.commands
        .find((command) => command.name() === group)
        ?.commands.find((command) => command.name() === name)
        ?.options.map((option) => option.long);
    for (const [group, name] of [
      ['policy', 'apply'],
      ['prompts', 'publish'],
      ['prompts', 'promote'],
      ['keys', 'create'],
      ['keys', 'rotate'],
      ['keys', 'revoke'],
    ] as const) {
      const options = optionsOf(group, name);
      expect(options).toEqual(expect.arrayContaining(['--api-key', '--note']));
      expect(options).not.toContain('--author');
    }
  });

  /** Every governance read, for tenant demo. */
  const reads: Array<[string, () => string[]]> = [
    ['keys list', () => ['keys', 'list', '-t', 'demo']],
    ['policy diff', () => ['policy', 'diff', policyFile, '-t', 'demo']],
    ['policy history', () => ['policy', 'history', '-t', 'demo']],
    ['prompts list', () => ['prompts', 'list', '-t', 'demo']],
    [
      'prompts diff',
      () => ['prompts', 'diff', '-t', 'demo', '--name', 'qa', '--from', '1', '--file', promptFile],
    ],
  ];

  it.each(reads)('%s needs governance:read of the tenant', async (_name, command) => {
    const missing = await runCli(settings, ...command());
    expect(missing.exitCode).toBe(5);
    expect(missing.stderr).toContain(
      "this command needs an API key of tenant 'demo' with scope 'governance:read'",
    );
    const other = await runCli(settings, ...command(), '--api-key', bad.otherTenant!.secret);
    expect(other.exitCode).toBe(5);
    expect(other.stderr).toContain(
      "the API key belongs to another tenant and is not valid for tenant 'demo'",
    );
    const own = await runCli(settings, ...command(), '--api-key', analystOwnKey);
    expect(own.exitCode).toBe(5);
    expect(own.stderr).toContain("lacks scope 'governance:read'");
    const readOnly = await runCli(settings, ...command(), '--api-key', bad.readOnly!.secret);
    expect(readOnly.stderr).toBe('');
    expect(readOnly.exitCode).toBe(0);
    expect(readOnly.stdout).not.toBe('');
  });

  it('policy validate reads only the file and needs no key', async () => {
    const run = await runCli(settings, 'policy', 'validate', policyFile);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/is a valid policy/);
  });

  it('the demo falls back to the governance key `npm start` saved', async () => {
    writeFileSync(
      path.join(directory, 'demo-credentials.json'),
      JSON.stringify({
        tenantId: 'demo',
        apiKey: analystOwnKey,
        contractorApiKey: 'governance-access-contractor',
        governanceApiKey: governance.secret,
      }),
    );
    const listed = await runCli(settings, 'keys', 'list', '-t', 'demo');
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toContain(
      `${governance.keyId}  demo-analyst  active  scopes governance:read,governance:write`,
    );
    // Only for tenant demo: another tenant still needs its own key.
    const globex = await runCli(settings, 'keys', 'list', '-t', 'globex');
    expect(globex.exitCode).toBe(5);
    expect(globex.stderr).toContain("needs an API key of tenant 'globex'");
  });
});
