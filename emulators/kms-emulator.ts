import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { startEmulatorServer, type EmulatorRequest, type EmulatorResponse } from './emulator-server';

/**
 * A tiny AWS KMS that speaks the real wire protocol (awsJson1_1: `POST /`, `X-Amz-Target:
 * TrentService.<Operation>`) for GenerateDataKey and Decrypt, so the real `@aws-sdk/client-kms` is
 * exercised offline. Its ciphertext blobs are AES-256-GCM under an in-memory master key per KMS key
 * id, with the encryption context authenticated — as real KMS binds it.
 */
export interface KmsEmulator {
  endpoint: string;
  /** The ARN GenerateDataKey and Decrypt report. */
  keyArn: string;
  calls: { operation: string }[];
  close(): Promise<void>;
}

const REGION_ACCOUNT = 'arn:aws:kms:us-east-1:000000000000:key';

function canonicalContext(context: Record<string, string> | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

export async function startKmsEmulator(options: { keyId?: string } = {}): Promise<KmsEmulator> {
  const keyId = options.keyId ?? '1234abcd-12ab-34cd-56ef-1234567890ab';
  const keyArn = `${REGION_ACCOUNT}/${keyId}`;
  const masterKey = randomBytes(32);
  const calls: { operation: string }[] = [];

  const knownKey = (requested: unknown) =>
    typeof requested === 'string' &&
    (requested === keyId || requested === keyArn || requested === 'alias/gatehouse');

  const reply = (response: EmulatorResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    response.end(JSON.stringify(body));
  };
  const fault = (response: EmulatorResponse, type: string, message: string) =>
    reply(response, 400, { __type: type, message });

  const handler = async (request: EmulatorRequest, response: EmulatorResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
      KeyId?: string;
      KeySpec?: string;
      CiphertextBlob?: string;
      EncryptionContext?: Record<string, string>;
    };
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '');
    calls.push({ operation });
    if (operation === 'GenerateDataKey') {
      if (!knownKey(body.KeyId))
        return fault(response, 'NotFoundException', `Key '${body.KeyId}' does not exist`);
      if (body.KeySpec !== 'AES_256')
        return fault(response, 'ValidationException', 'KeySpec must be AES_256 here');
      const plaintext = randomBytes(32);
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', masterKey, nonce);
      cipher.setAAD(canonicalContext(body.EncryptionContext));
      const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return reply(response, 200, {
        KeyId: keyArn,
        Plaintext: plaintext.toString('base64'),
        CiphertextBlob: Buffer.concat([nonce, sealed]).toString('base64'),
      });
    }
    if (operation === 'Decrypt') {
      if (body.KeyId !== undefined && !knownKey(body.KeyId)) {
        return fault(response, 'IncorrectKeyException', 'the ciphertext was not encrypted under that key');
      }
      const blob = Buffer.from(body.CiphertextBlob ?? '', 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', masterKey, blob.subarray(0, 12));
        decipher.setAAD(canonicalContext(body.EncryptionContext));
        decipher.setAuthTag(blob.subarray(blob.length - 16));
        const plaintext = Buffer.concat([
          decipher.update(blob.subarray(12, blob.length - 16)),
          decipher.final(),
        ]);
        return reply(response, 200, {
          KeyId: keyArn,
          Plaintext: plaintext.toString('base64'),
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        });
      } catch {
        return fault(
          response,
          'InvalidCiphertextException',
          'the ciphertext or its encryption context is invalid',
        );
      }
    }
    return fault(response, 'UnknownOperationException', `operation '${operation}' is not emulated`);
  };

  const server = await startEmulatorServer(handler, 0);
  return { endpoint: `http://127.0.0.1:${server.port}`, keyArn, calls, close: () => server.close() };
}
