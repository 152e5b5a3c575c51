import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildCli } from '../../client/cli';
import {
  createCodecTokenVerifier,
  readCodecTokenFile,
  revokeCodecToken,
} from '../../codec/codec-access-tokens';
import { readPayloadKeyFile } from '../../codec/payload-key-store';
import { batchWorkflowId } from '../../domain/batch-contract';
import { requestWorkflowId } from '../../domain/request-contract';
import { readSettings } from '../../config/environment';
import { ensureEmbeddedOperatorToken, loadPayloadKeyring } from '../../codec/payload-encryption';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { getTestTemporalAddress, getTestTemporalNamespace } from '../support/temporal-test-env';
import {
  payloadEncoding,
  payloadsInJson,
  rawHistoryJson,
  readableText,
  seedCanaryDocument,
  temporaryDirectory,
} from './history-payloads';

const DOCUMENT_CANARY = `DCANARY${randomBytes(6).toString('hex')}`;
const QUESTION_CANARY = `QCANARY${randomBytes(6).toString('hex')}`;

/** Runs one `gatehouse …` command in this process and returns what it printed on stdout. */
async function gatehouse(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const printed: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    await buildCli(readSettings(env)).parseAsync(['node', 'gatehouse', ...args]);
  } finally {
    spy.mockRestore();
  }
  return printed.join('');
}

function expectEncryptedForDemo(historyJson: string): void {
  const visible = readableText(historyJson);
  expect(visible).not.toContain(QUESTION_CANARY);
  expect(visible).not.toContain(DOCUMENT_CANARY);
  const written = payloadsInJson(JSON.parse(historyJson)).filter(
    (payload) => !/indexedFields|markerRecorded/.test(payload.path),
  );
  expect(written.length).toBeGreaterThan(0);
  for (const payload of written) {
    expect(payloadEncoding(payload)).toBe('binary/encrypted');
    expect(Buffer.from(payload.metadata['gatehouse-tenant'] ?? '', 'base64').toString()).toBe('demo');
  }
}

describe('the gatehouse CLI and batches encrypt what they send and decrypt what they read', () => {
  let harness: GatehouseHarness;
  let temp: ReturnType<typeof temporaryDirectory>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    harness = await startHarness();
    await seedCanaryDocument(harness.db, DOCUMENT_CANARY);
    temp = temporaryDirectory();
    const keyId = harness.keyring.activeKeyId;
    env = {
      TEMPORAL_ADDRESS: getTestTemporalAddress(),
      TEMPORAL_NAMESPACE: getTestTemporalNamespace(),
      GATEHOUSE_TASK_QUEUE: harness.taskQueue,
      GATEHOUSE_DATA_DIR: temp.dir,
      // The harness's own key, handed to the CLI the way a deployment would: through the environment.
      GATEHOUSE_CODEC_KEYS: `${keyId}:${harness.keyring.key(keyId)!.toString('base64')}`,
    };
  });
  afterAll(async () => {
    await harness?.close();
    temp?.remove();
  });

  it('`gatehouse ask` sends an encrypted request and prints the decrypted answer', async () => {
    const requestId = `cli-${randomBytes(4).toString('hex')}`;
    const printed = await gatehouse(
      env,
      'ask',
      '--api-key',
      harness.apiKey,
      '--request-id',
      requestId,
      '--json',
      `What is the refund policy and who approves refunds? ${QUESTION_CANARY}`,
    );
    expect((JSON.parse(printed) as { output: string }).output).toContain(DOCUMENT_CANARY);
    expectEncryptedForDemo(await rawHistoryJson(harness.client, requestWorkflowId('demo', requestId)));
  });

  it('`gatehouse batch submit` encrypts the batch and every request it runs', async () => {
    const batchId = `batch-${randomBytes(4).toString('hex')}`;
    const file = path.join(temp.dir, 'batch.jsonl');
    const requestIds = [`${batchId}-a`, `${batchId}-b`];
    writeFileSync(
      file,
      requestIds
        .map((requestId) =>
          JSON.stringify({ requestId, taskType: 'qa', question: `Who approves refunds? ${QUESTION_CANARY}` }),
        )
        .join('\n'),
    );
    const printed = await gatehouse(
      env,
      'batch',
      'submit',
      file,
      '--api-key',
      harness.apiKey,
      '--batch-id',
      batchId,
    );
    expect(printed).toMatch(/2 succeeded · 0 failed/);
    expectEncryptedForDemo(await rawHistoryJson(harness.client, batchWorkflowId('demo', batchId)));
    for (const requestId of requestIds) {
      expectEncryptedForDemo(await rawHistoryJson(harness.client, requestWorkflowId('demo', requestId)));
    }
  });

  it('refuses to talk to Temporal without payload keys, and says where keys come from', async () => {
    const keyless = {
      ...env,
      GATEHOUSE_CODEC_KEYS: undefined,
      GATEHOUSE_DATA_DIR: path.join(temp.dir, 'empty'),
    };
    await expect(
      gatehouse(keyless, 'ask', '--api-key', harness.apiKey, 'What is the refund policy?'),
    ).rejects.toThrow(
      /no payload encryption keys: .*codec-keys\.json does not exist and GATEHOUSE_CODEC_KEYS is not set/,
    );
  });

  it('issues, lists and revokes codec tokens, storing only their hashes', async () => {
    const local = { GATEHOUSE_DATA_DIR: path.join(temp.dir, 'tokens') };
    const issued = await gatehouse(local, 'codec-token', 'add', 'support-demo', '--tenants', 'demo');
    const token = issued.split('\n')[0]!;
    expect(token).toMatch(/^ghc_[A-Za-z0-9_-]{43}$/);
    const tokenFile = readSettings(local).codec.tokenFile;
    expect(JSON.stringify(readCodecTokenFile(tokenFile))).not.toContain(token);
    const listed = await gatehouse(local, 'codec-token', 'list');
    expect(listed).toMatch(/support-demo\s+demo/);
    expect(listed).not.toContain(token);
    await expect(gatehouse(local, 'codec-token', 'add', 'support-demo', '--tenants', 'demo')).rejects.toThrow(
      /exists/,
    );
    await gatehouse(local, 'codec-token', 'revoke', 'support-demo');
    expect(readCodecTokenFile(tokenFile).tokens).toEqual([]);
  });

  it('rotates payload keys in the key file: add, then activate', async () => {
    const local = { GATEHOUSE_DATA_DIR: path.join(temp.dir, 'keys') };
    const settings = readSettings(local);
    const { keyring } = await loadPayloadKeyring(settings, { createIfMissing: true });
    const added = await gatehouse(local, 'codec-key', 'add');
    const newId = /added payload key (\S+);/.exec(added)?.[1];
    expect(newId).toBeDefined();
    expect(readPayloadKeyFile(settings.codec.keyFile).activeKeyId).toBe(keyring.activeKeyId);
    expect(await gatehouse(local, 'codec-key', 'list')).toMatch(
      new RegExp(`\\* ${keyring.activeKeyId}[\\s\\S]*  ${newId}`),
    );
    await gatehouse(local, 'codec-key', 'activate', newId!);
    const rotated = await loadPayloadKeyring(settings);
    expect(rotated.keyring.activeKeyId).toBe(newId);
    expect(rotated.keyring.keyIds).toContain(keyring.activeKeyId);
    const listed = await gatehouse(local, 'codec-key', 'list');
    expect(listed).not.toContain(keyring.key(keyring.activeKeyId)!.toString('base64'));
  });
});

describe('embedded defaults for payload encryption', () => {
  let temp: ReturnType<typeof temporaryDirectory>;
  beforeEach(() => {
    temp = temporaryDirectory();
  });
  afterEach(() => temp.remove());

  it('keeps keys and tokens under the data dir and lets the embedded UI origins call the codec server', () => {
    const settings = readSettings({ GATEHOUSE_DATA_DIR: temp.dir, TEMPORAL_UI_PORT: '9233' });
    expect(settings.codec.keyFile).toBe(path.join(temp.dir, 'codec-keys.json'));
    expect(settings.codec.tokenFile).toBe(path.join(temp.dir, 'codec-tokens.json'));
    expect(settings.codec.publicUrl).toBe('http://localhost:8234');
    expect(settings.codec.allowedOrigins).toEqual(['http://localhost:9233', 'http://127.0.0.1:9233']);
    expect(settings.codec.kms).toBeUndefined();
    const deployed = readSettings({
      GATEHOUSE_CODEC_ALLOWED_ORIGINS: 'https://cloud.temporal.io/, https://ui.example.com',
      GATEHOUSE_CODEC_KMS_KEY_ID: 'alias/gatehouse',
      AWS_REGION: 'eu-west-1',
    });
    expect(deployed.codec.allowedOrigins).toEqual(['https://cloud.temporal.io', 'https://ui.example.com']);
    expect(deployed.codec.kms).toEqual({
      keyId: 'alias/gatehouse',
      region: 'eu-west-1',
      endpoint: undefined,
    });
    expect(() => readSettings({ GATEHOUSE_CODEC_ALLOWED_ORIGINS: 'not a url' })).toThrow(/not a URL/);
  });

  it('issues the operator token once, prints the same one on every start, and re-issues it when revoked', () => {
    const settings = readSettings({ GATEHOUSE_DATA_DIR: temp.dir });
    const first = ensureEmbeddedOperatorToken(settings)!;
    expect(ensureEmbeddedOperatorToken(settings)).toEqual(first);
    expect(createCodecTokenVerifier(settings.codec).verify(first.token)).toEqual({
      name: 'operator',
      tenants: '*',
    });
    revokeCodecToken(settings.codec.tokenFile, 'operator');
    const reissued = ensureEmbeddedOperatorToken(settings)!;
    expect(reissued.token).not.toBe(first.token);
    expect(createCodecTokenVerifier(settings.codec).verify(first.token)).toBeUndefined();
    expect(
      ensureEmbeddedOperatorToken({ ...settings, codec: { ...settings.codec, tokensFromEnvironment: '{}' } }),
    ).toBeUndefined();
  });
});
