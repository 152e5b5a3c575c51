/**
 * `gatehouse prompts publish | promote | list | diff` against a real store (SQLite, or PostgreSQL), with
 * the tenant's governance key: the author of record is its principal.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSettings, type GatehouseSettings } from '../../config/environment';
import { newAuditKeyFile } from '../../governance/audit-key-store';
import { migrateLatest } from '../../store/migrate';
import { seedDemo } from '../../store/seed-demo';
import { bootstrapGovernanceKey, type IssuedKey } from '../../governance/api-keys';
import { loadAuditKeys } from '../../governance/audit-key-store';
import { governanceWorkflowId } from '../../governance/governance-attestation';
import { listAuditEvents } from '../../store/audit-repository';
import { createIsolatedDatabase, type IsolatedDatabase } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

describe('gatehouse prompts', () => {
  let database: IsolatedDatabase;
  let settings: GatehouseSettings;
  let directory: string;
  let governanceKey: IssuedKey;

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    await migrateLatest(database.db);
    const apiKey = `prompts-approver-${randomBytes(8).toString('hex')}`;
    await seedDemo(database.db, {
      apiKey,
      contractorApiKey: `prompts-contractor-${randomBytes(8).toString('hex')}`,
    });
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-prompts-cli-'));
    const auditKeyFile = JSON.stringify(newAuditKeyFile());
    const { keys } = loadAuditKeys(
      { keysFromEnvironment: auditKeyFile, keyFile: '/nonexistent' },
      { createIfMissing: false },
    );
    governanceKey = await bootstrapGovernanceKey(
      { db: database.db, chainKey: keys.chainKey },
      { tenantId: 'demo', principalId: 'demo-analyst' },
    );
    settings = {
      ...readSettings({
        GATEHOUSE_API_KEY: apiKey,
        GATEHOUSE_AUDIT_KEYS: auditKeyFile,
        GATEHOUSE_AUDIT_CHECKPOINT_FILE: path.join(directory, 'audit-checkpoints.jsonl'),
      }),
      ...database.location,
    };
  });
  afterAll(async () => {
    await database.drop();
    rmSync(directory, { recursive: true, force: true });
  });

  /** `gatehouse prompts <command> … -t demo --name qa --api-key <the demo governance key>` */
  const qaPrompt = (command: string, ...args: string[]) =>
    runCli(
      settings,
      'prompts',
      command,
      ...args,
      '-t',
      'demo',
      '--name',
      'qa',
      '--api-key',
      governanceKey.secret,
    );

  it('publishes, promotes a canary, lists and diffs; audit verify passes afterwards', async () => {
    const file = path.join(directory, 'qa.prompt.yaml');
    writeFileSync(
      file,
      'system: Answer in one sentence.\nuser: |\n  {{context}}\n  Question: {{question}}\nvariables:\n  question: { maxLength: 4000 }\n  context: {}\n',
    );
    const published = await qaPrompt('publish', file, '--note', 'shorter answers');
    expect(published.stderr).toBe('');
    expect(published.stdout).toMatch(
      new RegExp(
        `^prompt qa@2 of 'demo' published by demo-analyst with key ${governanceKey.record.keyId} \\(sha256 [0-9a-f]{64}\\)`,
      ),
    );
    const events = await listAuditEvents(database.db, {
      tenantId: 'demo',
      workflowId: governanceWorkflowId('demo'),
    });
    // The note is recorded as a note; the author of record is the key's principal.
    expect(events.at(-1)?.payload).toMatchObject({
      author: 'demo-analyst',
      authorKeyId: governanceKey.record.keyId,
      note: 'shorter answers',
    });

    const promoted = await qaPrompt('promote', '--version', '2', '--label', 'canary', '--percent', '10');
    expect(promoted.stdout).toMatch(
      /^qa:canary of 'demo' now points at version 2 for 10 % of production requests/,
    );

    const listed = await qaPrompt('list');
    expect(listed.stdout).toMatch(/^qa@1 .* sha256 [0-9a-f]{64} {2}\[production\]\n/);
    expect(listed.stdout).toMatch(
      /\nqa@2 .* sha256 [0-9a-f]{64} {2}\[canary 10 %\] {2}variables: context, question\n$/,
    );

    const diff = await qaPrompt('diff', '--from', 'production', '--to', 'canary');
    expect(diff.stdout).toMatch(/^--- qa@1\n\+\+\+ qa@2\n/);
    expect(diff.stdout).toContain('+ system: Answer in one sentence.\n');
    const same = await qaPrompt('diff', '--from', '2', '--file', file);
    expect(same.stdout).toBe(`qa@2 and ${file} are the same\n`);

    const badPercent = await qaPrompt('promote', '--version', '2', '--label', 'canary');
    expect(badPercent.exitCode).toBe(1);
    expect(badPercent.stderr).toContain('the canary label needs --percent');

    const verified = await runCli(settings, 'audit', 'verify', '--tenant', 'demo', '--no-history');
    expect(verified.stdout).toMatch(/^audit chain of 'demo' verifies: /);
  });
});
