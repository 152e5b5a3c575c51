import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { createAwsKmsDataKeyProvider } from '../../codec/aws-kms-data-key-provider';
import type { DataKeyProvider } from '../../codec/data-key-provider';
import {
  ENCRYPTED_ENCODING,
  PayloadDecryptionError,
  PayloadEncryptionCodec,
  isEncryptedPayload,
  payloadKeyId,
  payloadTenant,
} from '../../codec/payload-encryption-codec';
import {
  activatePayloadKey,
  addPayloadKey,
  keyringFromKeyFile,
  loadPayloadKeys,
  parsePayloadKeysVariable,
  readPayloadKeyFile,
} from '../../codec/payload-key-store';
import {
  PayloadKeyringError,
  createPayloadKeyring,
  newPayloadKeyMaterial,
} from '../../codec/payload-keyring';
import { tenantOfWorkflowId } from '../../domain/workflow-tenant';
import { batchWorkflowId } from '../../domain/batch-contract';
import { requestWorkflowId } from '../../domain/request-contract';
import { startKmsEmulator } from '../../emulators/kms-emulator';

const SECRET = 'refund policy for order 4711: alice@example.com';
const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const text = (payload: Payload) => Buffer.from(payload.data ?? new Uint8Array()).toString('utf8');
const workflowContext = (workflowId: string) => ({
  type: 'workflow' as const,
  namespace: 'default',
  workflowId,
});

function keyring(...ids: string[]) {
  return createPayloadKeyring(
    ids.map((id) => ({ id, material: newPayloadKeyMaterial() })),
    ids[0]!,
  );
}

describe('tenantOfWorkflowId', () => {
  it.each([
    [requestWorkflowId('demo', 'r-1'), 'demo'],
    [batchWorkflowId('acme-eu', 'b-7'), 'acme-eu'],
    [requestWorkflowId('demo', 'a/b'), 'demo'],
    ['gatehouse/demo', undefined],
    ['gatehouse/Demo/r-1', undefined],
    ['calibration-3', undefined],
    ['other/demo/r-1', undefined],
    [undefined, undefined],
  ])('%s → %s', (workflowId, tenant) => {
    expect(tenantOfWorkflowId(workflowId)).toBe(tenant);
  });
});

describe('PayloadEncryptionCodec', () => {
  it('encrypts with the active key, labels the tenant from the workflow context, and decrypts back', async () => {
    const codec = new PayloadEncryptionCodec(keyring('k2', 'k1'));
    const original = toPayload({ question: SECRET });
    const [encrypted] = await codec.encode([original], workflowContext(requestWorkflowId('demo', 'r-1')));
    expect(isEncryptedPayload(encrypted!)).toBe(true);
    expect(text({ data: encrypted!.metadata!['encoding'] })).toBe(ENCRYPTED_ENCODING);
    expect(payloadKeyId(encrypted!)).toBe('k2');
    expect(payloadTenant(encrypted!)).toBe('demo');
    expect(Buffer.from(encrypted!.data!).includes(Buffer.from('alice@example.com'))).toBe(false);
    // The original metadata (json/plain) is inside the ciphertext, not beside it.
    expect(Object.keys(encrypted!.metadata!).sort()).toEqual(
      ['encoding', 'encryption-cipher', 'encryption-key-id', 'gatehouse-tenant'].sort(),
    );
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ question: SECRET });
  });

  it('labels activity payloads by the workflow that scheduled them, and leaves others unlabelled', async () => {
    const codec = new PayloadEncryptionCodec(keyring('k1'));
    const [activity] = await codec.encode([toPayload(1)], {
      type: 'activity',
      namespace: 'default',
      workflowId: batchWorkflowId('acme', 'b-1'),
      activityId: '3',
      isLocal: true,
    });
    const [foreign] = await codec.encode([toPayload(1)], workflowContext('calibration-1'));
    const [contextless] = await codec.encode([toPayload(1)]);
    expect(payloadTenant(activity!)).toBe('acme');
    expect(payloadTenant(foreign!)).toBeUndefined();
    expect(payloadTenant(contextless!)).toBeUndefined();
  });

  it('uses a fresh nonce per payload: equal plaintexts give different ciphertexts', async () => {
    const codec = new PayloadEncryptionCodec(keyring('k1'));
    const [a, b] = await codec.encode([toPayload(SECRET), toPayload(SECRET)]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('passes payloads it did not encrypt through unchanged (histories from before encryption)', async () => {
    const codec = new PayloadEncryptionCodec(keyring('k1'));
    const plain = toPayload({ question: SECRET });
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('still decodes payloads of an older key after a new active key is added (rotation)', async () => {
    const k1 = newPayloadKeyMaterial();
    const before = new PayloadEncryptionCodec(createPayloadKeyring([{ id: 'k1', material: k1 }], 'k1'));
    const [old] = await before.encode([toPayload(SECRET)], workflowContext(requestWorkflowId('demo', 'r')));

    const rotated = createPayloadKeyring(
      [
        { id: 'k1', material: k1 },
        { id: 'k2', material: newPayloadKeyMaterial() },
      ],
      'k2',
    );
    const after = new PayloadEncryptionCodec(rotated);
    const [fresh] = await after.encode([toPayload(SECRET)]);
    expect(payloadKeyId(fresh!)).toBe('k2');
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((payload) => defaultPayloadConverter.fromPayload(payload))).toEqual([SECRET, SECRET]);
  });

  it('fails a payload of an unknown key with an error naming that key id', async () => {
    const [encrypted] = await new PayloadEncryptionCodec(keyring('retired-key')).encode([toPayload(SECRET)]);
    const other = new PayloadEncryptionCodec(keyring('k2', 'k3'));
    await expect(other.decode([encrypted!])).rejects.toThrow(PayloadDecryptionError);
    await expect(other.decode([encrypted!])).rejects.toThrow(/key 'retired-key'.*\(k2, k3\)/);
  });

  it('detects a tenant label moved to another tenant and a flipped ciphertext byte', async () => {
    const codec = new PayloadEncryptionCodec(keyring('k1'));
    const [encrypted] = await codec.encode(
      [toPayload(SECRET)],
      workflowContext(requestWorkflowId('acme', 'r')),
    );
    const relabelled: Payload = {
      ...encrypted!,
      metadata: { ...encrypted!.metadata, 'gatehouse-tenant': Buffer.from('demo') },
    };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
    const data = Buffer.from(encrypted!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...encrypted!, data }])).rejects.toThrow(/failed authentication/);
  });
});

describe('payload keys from configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses GATEHOUSE_CODEC_KEYS, the first key active, and names what is wrong', () => {
    const a = newPayloadKeyMaterial().toString('base64');
    const b = newPayloadKeyMaterial().toString('base64');
    const parsed = parsePayloadKeysVariable(`k2:${a}, k1:${b}`);
    expect(parsed.activeKeyId).toBe('k2');
    expect(parsed.keyIds).toEqual(['k2', 'k1']);
    expect(() => parsePayloadKeysVariable(`k2${a}`)).toThrow(/entry 1 is not 'id:base64-key'/);
    expect(() => parsePayloadKeysVariable(`k2:${Buffer.alloc(16).toString('base64')}`)).toThrow(
      /'k2' has 16 bytes; AES-256-GCM needs 32/,
    );
    expect(() => parsePayloadKeysVariable(`k2:${a},k2:${b}`)).toThrow(/appears twice/);
  });

  it('creates the key file once (mode 600) for the embedded default and reuses it', async () => {
    const keyFile = path.join(dir, 'codec-keys.json');
    await expect(loadPayloadKeys({ keyFile }, { createIfMissing: false })).rejects.toThrow(
      /GATEHOUSE_CODEC_KEYS/,
    );
    const first = await loadPayloadKeys({ keyFile }, { createIfMissing: true });
    expect(first.source).toBe('new key file');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const second = await loadPayloadKeys({ keyFile }, { createIfMissing: true });
    expect(second.source).toBe('key file');
    expect(second.keyring.activeKeyId).toBe(first.keyring.activeKeyId);
    expect(second.keyring.key(first.keyring.activeKeyId)).toEqual(
      first.keyring.key(first.keyring.activeKeyId),
    );
  });

  it('rotates in two steps: a known key first, then active; old payloads still decode', async () => {
    const keyFile = path.join(dir, 'codec-keys.json');
    const { keyring: original } = await loadPayloadKeys({ keyFile }, { createIfMissing: true });
    const [old] = await new PayloadEncryptionCodec(original).encode([toPayload(SECRET)]);

    const { id } = await addPayloadKey(keyFile, { activate: false });
    const known = await loadPayloadKeys({ keyFile }, { createIfMissing: false });
    expect(known.keyring.activeKeyId).toBe(original.activeKeyId);
    expect(known.keyring.keyIds).toContain(id);

    activatePayloadKey(keyFile, id);
    const { keyring: rotated } = await loadPayloadKeys({ keyFile }, { createIfMissing: false });
    expect(rotated.activeKeyId).toBe(id);
    const codec = new PayloadEncryptionCodec(rotated);
    const [fresh] = await codec.encode([toPayload(SECRET)]);
    expect(payloadKeyId(fresh!)).toBe(id);
    expect((await codec.decode([old!])).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([SECRET]);
    expect(() => activatePayloadKey(keyFile, 'nope')).toThrow(/no payload key 'nope'/);
  });

  it('stores only wrapped keys when a data key provider is configured (envelope encryption)', async () => {
    const keyFile = path.join(dir, 'codec-keys.json');
    // A provider that wraps by XOR with a fixed pad and counts calls: enough to test the envelope logic.
    const pad = newPayloadKeyMaterial();
    const calls: string[] = [];
    const provider: DataKeyProvider = {
      wrappingKeyId: 'test-wrapping-key',
      async generateDataKey({ payloadKeyId }) {
        calls.push(`generate ${payloadKeyId}`);
        const plaintext = newPayloadKeyMaterial();
        return { plaintext, wrapped: Buffer.from(plaintext.map((byte, i) => byte ^ pad[i]!)) };
      },
      async decryptDataKey(wrapped, { payloadKeyId }) {
        calls.push(`decrypt ${payloadKeyId}`);
        return Buffer.from(wrapped.map((byte, i) => byte ^ pad[i]!));
      },
    };
    const { keyring: created } = await loadPayloadKeys(
      { keyFile, dataKeyProvider: provider },
      { createIfMissing: true },
    );
    const stored = readPayloadKeyFile(keyFile);
    expect(stored.keys[0]).toEqual(
      expect.objectContaining({ wrappingKeyId: 'test-wrapping-key', wrappedMaterial: expect.any(String) }),
    );
    expect(stored.keys[0]!.material).toBeUndefined();
    expect(readFileSync(keyFile, 'utf8')).not.toContain(created.key(created.activeKeyId)!.toString('base64'));
    expect(calls).toEqual([`generate ${created.activeKeyId}`, `decrypt ${created.activeKeyId}`]);

    await expect(loadPayloadKeys({ keyFile }, { createIfMissing: false })).rejects.toThrow(
      /wrapped by KMS key 'test-wrapping-key': set GATEHOUSE_CODEC_KMS_KEY_ID/,
    );
    const reloaded = await loadPayloadKeys(
      { keyFile, dataKeyProvider: provider },
      { createIfMissing: false },
    );
    expect(reloaded.keyring.key(created.activeKeyId)).toEqual(created.key(created.activeKeyId));
  });

  it('wraps and unwraps keys through AWS KMS with the real SDK (local KMS wire-protocol emulator)', async () => {
    const kms = await startKmsEmulator();
    try {
      const keyFile = path.join(dir, 'codec-keys.json');
      const provider = createAwsKmsDataKeyProvider({
        keyId: kms.keyArn,
        region: 'us-east-1',
        endpoint: kms.endpoint,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
      });
      const { keyring: created } = await loadPayloadKeys(
        { keyFile, dataKeyProvider: provider },
        { createIfMissing: true },
      );
      const [encrypted] = await new PayloadEncryptionCodec(created).encode([toPayload(SECRET)]);
      const { keyring: reloaded } = await loadPayloadKeys(
        { keyFile, dataKeyProvider: provider },
        { createIfMissing: false },
      );
      const [decoded] = await new PayloadEncryptionCodec(reloaded).decode([encrypted!]);
      expect(defaultPayloadConverter.fromPayload(decoded!)).toBe(SECRET);
      expect(kms.calls.map((call) => call.operation)).toEqual(['GenerateDataKey', 'Decrypt', 'Decrypt']);

      // A wrapped key copied under another id fails: the encryption context binds it to its own id.
      const contents = readPayloadKeyFile(keyFile);
      const copied = { ...contents, activeKeyId: 'copied', keys: [{ ...contents.keys[0]!, id: 'copied' }] };
      await expect(keyringFromKeyFile(copied, provider, keyFile)).rejects.toThrow(
        /cannot unwrap payload key 'copied' with KMS key '.+': the ciphertext or its encryption context is invalid/,
      );
    } finally {
      await kms.close();
    }
  });

  it('rejects keyring mistakes by name', () => {
    expect(() => createPayloadKeyring([{ id: 'k1', material: newPayloadKeyMaterial() }], 'k9')).toThrow(
      PayloadKeyringError,
    );
    expect(() =>
      createPayloadKeyring([{ id: 'bad id', material: newPayloadKeyMaterial() }], 'bad id'),
    ).toThrow(/'bad id' is invalid/);
  });
});
