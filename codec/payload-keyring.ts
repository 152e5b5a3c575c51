import { randomBytes } from 'node:crypto';

/** AES-256 needs exactly 32 bytes of key material. */
export const PAYLOAD_KEY_BYTES = 32;

/** Key ids travel in plain payload metadata, so they are short, opaque and safe in any log line. */
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface PayloadKey {
  id: string;
  material: Buffer;
}

/**
 * The payload keys one process holds: payloads are encrypted with the active key and decrypted with
 * whichever key their metadata names, so a rotation never strands what older keys encrypted.
 */
export interface PayloadKeyring {
  readonly activeKeyId: string;
  /** Every known key id, the active one first. */
  readonly keyIds: readonly string[];
  /** The key's material, or undefined when this keyring does not hold that id. */
  key(id: string): Buffer | undefined;
}

export class PayloadKeyringError extends Error {
  override readonly name = 'PayloadKeyringError';
}

export function assertPayloadKeyId(id: string): void {
  if (!KEY_ID_PATTERN.test(id)) {
    throw new PayloadKeyringError(
      `payload key id '${id}' is invalid: use 1-64 letters, digits, dots, dashes or underscores`,
    );
  }
}

/** Builds a keyring after checking every key; the active id must be one of the keys. */
export function createPayloadKeyring(keys: readonly PayloadKey[], activeKeyId: string): PayloadKeyring {
  const byId = new Map<string, Buffer>();
  for (const { id, material } of keys) {
    assertPayloadKeyId(id);
    if (material.length !== PAYLOAD_KEY_BYTES) {
      throw new PayloadKeyringError(
        `payload key '${id}' has ${material.length} bytes; AES-256-GCM needs ${PAYLOAD_KEY_BYTES}`,
      );
    }
    if (byId.has(id)) throw new PayloadKeyringError(`payload key id '${id}' appears twice`);
    byId.set(id, Buffer.from(material));
  }
  if (!byId.has(activeKeyId)) {
    throw new PayloadKeyringError(
      `the active payload key '${activeKeyId}' is not among the keys (${[...byId.keys()].join(', ') || 'none'})`,
    );
  }
  const keyIds = [activeKeyId, ...[...byId.keys()].filter((id) => id !== activeKeyId)];
  return {
    activeKeyId,
    keyIds,
    key: (id) => byId.get(id),
  };
}

/** A fresh random key id that sorts by creation date: `pk-20261202-1a2b3c`. */
export function newPayloadKeyId(now: Date = new Date()): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `pk-${day}-${randomBytes(3).toString('hex')}`;
}

/** 32 random bytes from the operating system's CSPRNG. */
export function newPayloadKeyMaterial(): Buffer {
  return randomBytes(PAYLOAD_KEY_BYTES);
}
