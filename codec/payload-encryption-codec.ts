import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { tenantOfWorkflowId } from '../domain/workflow-tenant';
import type { PayloadKeyring } from './payload-keyring';

/** The metadata an encrypted payload carries in plain text; everything else is inside the ciphertext. */
export const ENCRYPTED_PAYLOAD_METADATA = {
  /** The conventional encoding name, which the Temporal UI and CLI show for payloads they cannot read. */
  encoding: 'encoding',
  cipher: 'encryption-cipher',
  keyId: 'encryption-key-id',
  /** The tenant whose workflow owns the payload; the codec server decides access by it. */
  tenant: 'gatehouse-tenant',
} as const;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const PAYLOAD_CIPHER = 'AES-256-GCM';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Versioned so the authenticated layout can change without misreading older payloads. */
const AAD_PREFIX = 'gatehouse-payload/v1';

export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const metadataText = (payload: Payload, key: string): string | undefined => {
  const value = payload.metadata?.[key];
  return value ? Buffer.from(value).toString('utf8') : undefined;
};

/**
 * The key id and the tenant label are authenticated with the ciphertext: moving a payload to another
 * tenant's label, or to another key id, makes it fail to decrypt rather than decode for the wrong reader.
 */
function associatedData(keyId: string, tenantId: string | undefined): Buffer {
  return utf8(`${AAD_PREFIX}\0${keyId}\0${tenantId ?? ''}`);
}

/** The tenant a payload was labelled with when it was encrypted; undefined when unlabelled. */
export function payloadTenant(payload: Payload): string | undefined {
  return metadataText(payload, ENCRYPTED_PAYLOAD_METADATA.tenant);
}

export function isEncryptedPayload(payload: Payload): boolean {
  return metadataText(payload, ENCRYPTED_PAYLOAD_METADATA.encoding) === ENCRYPTED_ENCODING;
}

/** The key an encrypted payload names, for messages and key-inventory checks. */
export function payloadKeyId(payload: Payload): string | undefined {
  return metadataText(payload, ENCRYPTED_PAYLOAD_METADATA.keyId);
}

/**
 * Encrypts one whole payload (its metadata included) with AES-256-GCM under `keyId`, labelled with
 * `tenantId` when known.
 */
export function encryptPayload(
  payload: Payload,
  keyring: PayloadKeyring,
  tenantId: string | undefined,
  keyId: string = keyring.activeKeyId,
): Payload {
  const key = keyring.key(keyId);
  if (!key) throw new PayloadDecryptionError(`payload key '${keyId}' is not in this keyring`);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(associatedData(keyId, tenantId));
  const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const metadata: Record<string, Uint8Array> = {
    [ENCRYPTED_PAYLOAD_METADATA.encoding]: utf8(ENCRYPTED_ENCODING),
    [ENCRYPTED_PAYLOAD_METADATA.cipher]: utf8(PAYLOAD_CIPHER),
    [ENCRYPTED_PAYLOAD_METADATA.keyId]: utf8(keyId),
  };
  if (tenantId !== undefined) metadata[ENCRYPTED_PAYLOAD_METADATA.tenant] = utf8(tenantId);
  return { metadata, data: Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]) };
}

/** Restores the original payload; payloads this codec did not encrypt come back unchanged. */
export function decryptPayload(payload: Payload, keyring: PayloadKeyring): Payload {
  if (!isEncryptedPayload(payload)) return payload;
  const cipherName = metadataText(payload, ENCRYPTED_PAYLOAD_METADATA.cipher);
  if (cipherName !== PAYLOAD_CIPHER) {
    throw new PayloadDecryptionError(
      `payload uses cipher '${cipherName ?? '(none)'}'; only ${PAYLOAD_CIPHER} is supported`,
    );
  }
  const keyId = payloadKeyId(payload);
  if (keyId === undefined) throw new PayloadDecryptionError('encrypted payload names no key id');
  const key = keyring.key(keyId);
  if (!key) {
    throw new PayloadDecryptionError(
      `payload was encrypted with key '${keyId}', which is not among the known payload keys (${keyring.keyIds.join(', ')}); ` +
        'add that key to GATEHOUSE_CODEC_KEYS or the key file (see README, "Payload encryption")',
    );
  }
  const data = payload.data ? Buffer.from(payload.data) : Buffer.alloc(0);
  if (data.length < NONCE_BYTES + TAG_BYTES) {
    throw new PayloadDecryptionError(`payload encrypted with key '${keyId}' is truncated`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
  decipher.setAAD(associatedData(keyId, payloadTenant(payload)));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([
      decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new PayloadDecryptionError(
      `payload encrypted with key '${keyId}' failed authentication: its ciphertext or plain metadata was altered`,
    );
  }
  return temporal.api.common.v1.Payload.decode(plaintext);
}

/**
 * Temporal payload codec: AES-256-GCM with the keyring's active key, key id and tenant in plain
 * metadata. The tenant comes from the serialization context Temporal passes (the owning workflow's id),
 * so each history payload says whose it is without revealing what it says.
 */
export class PayloadEncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {}

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const tenantId = tenantOfWorkflowId(context?.workflowId);
    return payloads.map((payload) => encryptPayload(payload, this.keyring, tenantId));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => decryptPayload(payload, this.keyring));
  }
}
