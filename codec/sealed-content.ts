import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import {
  decryptPayload,
  encryptPayload,
  isEncryptedPayload,
  PayloadDecryptionError,
  payloadTenant,
} from './payload-encryption-codec';
import type { PayloadKeyring } from './payload-keyring';

/** Inside the ciphertext: the content id it was sealed for, so a row's ciphertext cannot move to another. */
const CONTENT_ID_METADATA = 'gatehouse-content-id';

/** A sealed content that cannot be opened as the one asked for: wrong tenant, altered, or moved. */
export class SealedContentError extends Error {
  override readonly name = 'SealedContentError';
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/**
 * Seals a text for the content store with the payload codec's own encryption (AES-256-GCM, the
 * keyring's active key, the tenant label authenticated with the ciphertext), so stored content is
 * protected exactly as the history payloads it replaces, and rotates with the same keys.
 */
export function sealContent(
  keyring: PayloadKeyring,
  content: { tenantId: string; contentId: string; text: string },
): Buffer {
  const plain: Payload = {
    metadata: { encoding: utf8('binary/plain'), [CONTENT_ID_METADATA]: utf8(content.contentId) },
    data: utf8(content.text),
  };
  const sealed = encryptPayload(plain, keyring, content.tenantId);
  return Buffer.from(temporal.api.common.v1.Payload.encode(sealed).finish());
}

/** Opens what `sealContent` sealed, for this tenant and content id only; anything else throws. */
export function openContent(
  keyring: PayloadKeyring,
  sealed: Buffer,
  expected: { tenantId: string; contentId: string },
): string {
  let payload: Payload;
  try {
    payload = temporal.api.common.v1.Payload.decode(sealed);
  } catch {
    throw new SealedContentError(`content '${expected.contentId}' is not a sealed payload`);
  }
  if (!isEncryptedPayload(payload)) {
    throw new SealedContentError(`content '${expected.contentId}' is stored unencrypted`);
  }
  const tenant = payloadTenant(payload);
  if (tenant !== expected.tenantId) {
    throw new SealedContentError(
      `content '${expected.contentId}' is sealed for tenant '${tenant ?? '(none)'}', not '${expected.tenantId}'`,
    );
  }
  let plain: Payload;
  try {
    plain = decryptPayload(payload, keyring);
  } catch (error) {
    if (error instanceof PayloadDecryptionError)
      throw new SealedContentError(`content '${expected.contentId}': ${error.message}`);
    throw error;
  }
  const sealedFor = plain.metadata?.[CONTENT_ID_METADATA];
  if (sealedFor === undefined || Buffer.from(sealedFor).toString('utf8') !== expected.contentId) {
    throw new SealedContentError(`content '${expected.contentId}' holds the ciphertext of another content`);
  }
  return Buffer.from(plain.data ?? new Uint8Array()).toString('utf8');
}
