import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyEvidenceBundle } from '../../governance/evidence-bundle';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { runCli } from '../support/run-cli';

describe('evidence bundles and exports', () => {
  let harness: GatehouseHarness;
  let directory: string;
  let publicKeyFile: string;
  let workflowId: string;
  const canary = 'CANARY-7f3a-evidence';
  beforeAll(async () => {
    harness = await startHarness();
    directory = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-evidence-'));
    publicKeyFile = path.join(directory, 'audit-public-key.pem');
    writeFileSync(publicKeyFile, harness.audit.keys.signing.publicKeyPem);
    const submitted = await harness.gatehouse.submit(
      harness.input({ requestId: 'evidence-1', question: `What is the refund policy? ${canary}` }),
    );
    await harness.gatehouse.result(submitted.workflowId, harness.caller);
    workflowId = submitted.workflowId;
    await harness.gatehouse.execute(harness.input({ requestId: 'evidence-2' }));
  });
  afterAll(async () => {
    await harness?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('writes a bundle that verifies offline with the public key, and fails on any changed byte', async () => {
    const bundleFile = path.join(directory, 'evidence-1.bundle');
    const made = await runCli(
      harness.cliSettings(),
      'audit',
      'evidence',
      'evidence-1',
      '--tenant',
      'demo',
      '--out',
      bundleFile,
    );
    expect(made.stderr).toBe('');
    expect(made.stdout).toMatch(
      /evidence for gatehouse\/demo\/evidence-1 written to .*: \d+ event\(s\), chain proof of \d+ link\(s\) to the checkpoint at #\d+, history of 1 run\(s\)/,
    );

    const verified = await runCli(
      harness.cliSettings(),
      'audit',
      'verify',
      '--bundle',
      bundleFile,
      '--public-key',
      publicKeyFile,
    );
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toMatch(
      /verifies: \d+ event\(s\) of gatehouse\/demo\/evidence-1, chained to the checkpoint of 'demo'/,
    );

    const bytes = readFileSync(bundleFile);
    const publicKey = harness.audit.keys.signing.publicKey;
    const result = verifyEvidenceBundle(bytes, publicKey);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    // The decoded history is there for the authorised caller: the question with its canary.
    expect(JSON.stringify(result.body.history)).toContain(canary);
    expect(result.body.events.every((event) => event.workflowId === workflowId)).toBe(true);

    // One byte changed in each part of the file, then a sweep across all of it.
    const text = bytes.toString('latin1');
    const positions = new Map<string, number>([
      ['magic line', 3],
      ['header line', text.indexOf('"signature"') + 15],
      ['header key id', text.indexOf('"signingKeyId"') + 18],
      ['manifest', text.indexOf('"manifest"') + 20],
      ['events', text.indexOf('"events"') + 30],
      ['an event payload', text.indexOf('"payload"') + 12],
      ['chain', text.indexOf('"chain"') + 30],
      ['checkpoint', text.indexOf('"checkpoint"') + 40],
      ['history', text.indexOf(canary)],
      ['last byte', bytes.length - 1],
      ['line break', bytes.indexOf(0x0a)],
    ]);
    const stride = Math.max(1, Math.floor(bytes.length / 1500));
    for (let offset = 0; offset < bytes.length; offset += stride) positions.set(`byte ${offset}`, offset);
    const survivors: string[] = [];
    for (const [name, offset] of positions) {
      expect({ name, offset: offset >= 0 }).toEqual({ name, offset: true });
      const changed = Buffer.from(bytes);
      changed[offset] = (changed[offset] as number) ^ 0x01;
      if (verifyEvidenceBundle(changed, publicKey).ok) survivors.push(name);
    }
    expect(survivors).toEqual([]);
    expect(verifyEvidenceBundle(Buffer.concat([bytes, Buffer.from(' ')]), publicKey).ok).toBe(false);

    // Through the CLI too, and with another key.
    const tamperedFile = path.join(directory, 'tampered.bundle');
    const tampered = Buffer.from(bytes);
    const at = text.indexOf(canary);
    tampered[at] = (tampered[at] as number) ^ 0x01;
    writeFileSync(tamperedFile, tampered);
    const refused = await runCli(
      harness.cliSettings(),
      'audit',
      'verify',
      '--bundle',
      tamperedFile,
      '--public-key',
      publicKeyFile,
    );
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(
      /does NOT verify: the signature of key '.*' does not match the bundle's contents/,
    );
  });

  it('exports the tenant’s events since a date as JSON lines and as CSV', async () => {
    const jsonl = await runCli(
      harness.cliSettings(),
      'audit',
      'export',
      '--tenant',
      'demo',
      '--since',
      '2000-01-01',
    );
    expect(jsonl.exitCode).toBe(0);
    const lines = jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: number; workflowId: string });
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.map((line) => line.seq)).toEqual(lines.map((_, index) => index + 1));
    expect(new Set(lines.map((line) => line.workflowId))).toEqual(
      new Set([workflowId, 'gatehouse/demo/evidence-2']),
    );

    const future = await runCli(
      harness.cliSettings(),
      'audit',
      'export',
      '--tenant',
      'demo',
      '--since',
      '2999-01-01',
    );
    expect(future.stdout).toBe('');

    const csvFile = path.join(directory, 'export.csv');
    const csv = await runCli(
      harness.cliSettings(),
      'audit',
      'export',
      '--tenant',
      'demo',
      '--since',
      '2000-01-01',
      '--format',
      'csv',
      '--out',
      csvFile,
    );
    expect(csv.stdout).toMatch(new RegExp(`${lines.length} event\\(s\\) of 'demo' written to`));
    const rows = readFileSync(csvFile, 'utf8').trim().split('\r\n');
    expect(rows[0]).toBe(
      '"tenantId","seq","workflowId","runId","step","attempt","eventType","createdAt","payload","prevHash","hash","hashVersion","hashKeyId"',
    );
    expect(rows).toHaveLength(lines.length + 1);

    const wrongKey = await runCli(
      harness.cliSettings(),
      'audit',
      'export',
      '--tenant',
      'demo',
      '--since',
      '2000-01-01',
      '--api-key',
      'nope',
    );
    expect(wrongKey.exitCode).toBe(5);
  });
});

describe('the usage ledger is in the audit chain', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('detects a ledger row edited, deleted or added by SQL, naming the request', async () => {
    const result = await harness.gatehouse.execute(harness.input({ requestId: 'ledger-1' }));
    const verify = () => runCli(harness.cliSettings(), 'audit', 'verify', '--tenant', 'demo', '--no-history');
    const clean = await verify();
    expect(clean.stdout).toMatch(
      /verifies: .* 1 ledger row\(s\) and \d+ policy, prompt and key item\(s\) match their events/,
    );

    const row = await harness.db('usage_ledger').where({ workflow_id: result.workflowId }).first();
    await harness.db('usage_ledger').where({ id: row.id }).update({ cost_micro_usd: 1 });
    const edited = await verify();
    expect(edited.exitCode).toBe(1);
    expect(edited.stdout).toMatch(
      new RegExp(
        `BROKEN at #\\d+ \\(request ${result.workflowId}\\): the ledger row of attempt 1 \\(run .*\\) was edited after audit event #\\d+ recorded it`,
      ),
    );
    await harness.db('usage_ledger').where({ id: row.id }).update({ cost_micro_usd: row.cost_micro_usd });
    expect((await verify()).exitCode).toBe(0);

    await harness.db('usage_ledger').insert({ ...row, id: undefined, attempt: 7 });
    const added = await verify();
    expect(added.stdout).toMatch(
      /the ledger row of attempt 7 .* is not in the audit trail: it was added after the run was recorded/,
    );
    await harness.db('usage_ledger').where({ workflow_id: result.workflowId, attempt: 7 }).delete();

    await harness.db('usage_ledger').where({ id: row.id }).delete();
    expect((await verify()).stdout).toMatch(/the ledger row of attempt 1 .* was deleted after audit event/);
  });

  it('prunes by the tenant policy or --older-than-days, never what is younger', async () => {
    const withoutPolicy = await runCli(harness.cliSettings(), 'audit', 'prune', '--tenant', 'demo');
    expect(withoutPolicy.stderr).toMatch(/has no auditRetentionDays in its policy; give --older-than-days/);
    const young = await runCli(
      harness.cliSettings(),
      'audit',
      'prune',
      '--tenant',
      'demo',
      '--older-than-days',
      '1',
    );
    expect(young.stdout).toMatch(/pruned 0 event\(s\) of 'demo' older than 1 day\(s\)/);
  });
});
