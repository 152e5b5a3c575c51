import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { DataKeyContext, DataKeyProvider, GeneratedDataKey } from './data-key-provider';
import { PAYLOAD_KEY_BYTES } from './payload-keyring';

export interface AwsKmsDataKeyProviderOptions {
  /** KMS key id, ARN, alias name (`alias/…`) or alias ARN of a symmetric encryption key. */
  keyId: string;
  region: string;
  /** A KMS-compatible endpoint instead of the regional one (VPC endpoint, local emulator). */
  endpoint?: string;
  /** Default: the AWS SDK's credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per request; keys are unwrapped once at start, so a slow KMS delays start-up, never a request. */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  maxAttempts?: number;
}

/** Binds each wrapped key to its purpose and payload key id (KMS encryption context, logged in CloudTrail). */
function encryptionContext(context: DataKeyContext): Record<string, string> {
  return { purpose: 'gatehouse-payload-key', payloadKeyId: context.payloadKeyId };
}

/** Data keys from AWS KMS: GenerateDataKey (AES_256) to make one, Decrypt to unwrap a stored one. */
export function createAwsKmsDataKeyProvider(options: AwsKmsDataKeyProviderOptions): DataKeyProvider {
  const client = new KMSClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    },
  });
  const checkedKey = (bytes: Uint8Array | undefined, operation: string): Buffer => {
    if (!bytes || bytes.length !== PAYLOAD_KEY_BYTES) {
      throw new Error(
        `KMS ${operation} returned ${bytes?.length ?? 0} key bytes; expected ${PAYLOAD_KEY_BYTES}`,
      );
    }
    return Buffer.from(bytes);
  };
  return {
    wrappingKeyId: options.keyId,
    async generateDataKey(context): Promise<GeneratedDataKey> {
      const response = await client.send(
        new GenerateDataKeyCommand({
          KeyId: options.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: encryptionContext(context),
        }),
      );
      if (!response.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no CiphertextBlob');
      return {
        plaintext: checkedKey(response.Plaintext, 'GenerateDataKey'),
        wrapped: Buffer.from(response.CiphertextBlob),
      };
    },
    async decryptDataKey(wrapped, context) {
      const response = await client.send(
        new DecryptCommand({
          KeyId: options.keyId,
          CiphertextBlob: wrapped,
          EncryptionContext: encryptionContext(context),
        }),
      );
      return checkedKey(response.Plaintext, 'Decrypt');
    },
  };
}
