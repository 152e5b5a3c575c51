import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { AuditChainKey } from './audit-chain';

const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
const keyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ -');

/** The audit key file's format (README, "Reading a request's record"). */
export const auditKeyFileSchema = z.object({
  version: z.literal(1),
  /** The HMAC key new events are hashed with; older ones stay for verification. */
  activeChainKeyId: keyId,
  chainKeys: z.array(z.object({ id: keyId, createdAt: z.string(), material: base64 })).min(1),
  /** The Ed25519 key checkpoints are signed with (PEM, PKCS #8 and SPKI). */
  signingKey: z.object({ id: keyId, createdAt: z.string(), privateKey: z.string(), publicKey: z.string() }),
});
export type AuditKeyFile = z.infer<typeof auditKeyFileSchema>;

/** What one process holds to write and check the audit trail. */
export interface AuditKeys {
  /** The key new events are hashed with. */
  chainKey: AuditChainKey;
  /** Any chain key by id, for rows hashed before a rotation; undefined when unknown. */
  chainKeyById(id: string): AuditChainKey | undefined;
  signing: { keyId: string; privateKey: KeyObject; publicKey: KeyObject; publicKeyPem: string };
}

export interface AuditKeySettings {
  /** `GATEHOUSE_AUDIT_KEYS`: the key file's JSON; wins over the file. */
  keysFromEnvironment?: string;
  /** `GATEHOUSE_AUDIT_KEY_FILE`, default `<data dir>/audit-keys.json`. */
  keyFile: string;
}

export class AuditKeyError extends Error {
  override readonly name = 'AuditKeyError';
}

/** A new key file's contents: one random 32-byte HMAC key and one Ed25519 key pair. */
export function newAuditKeyFile(now: Date = new Date()): AuditKeyFile {
  const stamp = now.toISOString().slice(0, 10).replaceAll('-', '');
  const suffix = () => randomBytes(4).toString('hex');
  const chainKeyId = `audit-${stamp}-${suffix()}`;
  const pair = generateKeyPairSync('ed25519');
  return {
    version: 1,
    activeChainKeyId: chainKeyId,
    chainKeys: [
      { id: chainKeyId, createdAt: now.toISOString(), material: randomBytes(32).toString('base64') },
    ],
    signingKey: {
      id: `checkpoint-${stamp}-${suffix()}`,
      createdAt: now.toISOString(),
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
  };
}

/** A fresh set of keys held only in memory, for a process that keeps no trail beyond its own life. */
export function newAuditKeys(): AuditKeys {
  return auditKeysFrom(newAuditKeyFile(), 'new keys');
}

/** Checks the file's JSON and opens its keys. */
export function auditKeysFrom(raw: unknown, source: string): AuditKeys {
  const parsed = auditKeyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new AuditKeyError(`the audit keys in ${source} are invalid: ${problems.join('; ')}`);
  }
  const contents = parsed.data;
  const chainKeys = new Map(
    contents.chainKeys.map((entry) => [
      entry.id,
      { id: entry.id, material: Buffer.from(entry.material, 'base64') },
    ]),
  );
  const chainKey = chainKeys.get(contents.activeChainKeyId);
  if (!chainKey)
    throw new AuditKeyError(`${source}: the active chain key '${contents.activeChainKeyId}' is not listed`);
  if (chainKey.material.length < 32)
    throw new AuditKeyError(`${source}: chain key '${chainKey.id}' is shorter than 32 bytes`);
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  try {
    privateKey = createPrivateKey(contents.signingKey.privateKey);
    publicKey = createPublicKey(contents.signingKey.publicKey);
  } catch (error) {
    throw new AuditKeyError(`${source}: the signing key cannot be read: ${(error as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519' || publicKey.asymmetricKeyType !== 'ed25519') {
    throw new AuditKeyError(`${source}: the signing key must be Ed25519`);
  }
  const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!derived.equals(publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new AuditKeyError(`${source}: the signing key's public half does not match its private key`);
  }
  return {
    chainKey,
    chainKeyById: (id) => chainKeys.get(id),
    signing: {
      keyId: contents.signingKey.id,
      privateKey,
      publicKey,
      publicKeyPem: contents.signingKey.publicKey,
    },
  };
}

/** Where the embedded default leaves the checkpoint public key for offline verifiers. */
export function auditPublicKeyFileFor(keyFile: string): string {
  return path.join(path.dirname(keyFile), 'audit-public-key.pem');
}

/**
 * This process's audit keys: `GATEHOUSE_AUDIT_KEYS` if set, else the key file. Only the embedded
 * default (`npm start`) passes `createIfMissing`; every worker of a fleet must hold the same keys, so
 * elsewhere a missing file is an error that says how to provide one.
 */
export function loadAuditKeys(
  settings: AuditKeySettings,
  options: { createIfMissing: boolean },
): { keys: AuditKeys; source: 'environment' | 'key file' | 'new key file' } {
  if (settings.keysFromEnvironment !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(settings.keysFromEnvironment);
    } catch {
      throw new AuditKeyError("GATEHOUSE_AUDIT_KEYS is not JSON (it holds the audit key file's contents)");
    }
    return { keys: auditKeysFrom(raw, 'GATEHOUSE_AUDIT_KEYS'), source: 'environment' };
  }
  const file = settings.keyFile;
  if (!existsSync(file)) {
    if (!options.createIfMissing) {
      throw new AuditKeyError(
        `no audit keys: ${file} does not exist and GATEHOUSE_AUDIT_KEYS is not set. \`npm start\` creates ` +
          'the key file on its first run; other deployments set GATEHOUSE_AUDIT_KEYS or GATEHOUSE_AUDIT_KEY_FILE ' +
          '(README, "Reading a request\'s record")',
      );
    }
    const contents = newAuditKeyFile();
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      // 'wx': if another process created the file meanwhile, keep its keys rather than overwrite them.
      writeFileSync(file, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return { keys: readAuditKeyFile(file), source: 'key file' };
    }
    writeFileSync(auditPublicKeyFileFor(file), contents.signingKey.publicKey, { mode: 0o644 });
    return { keys: auditKeysFrom(contents, file), source: 'new key file' };
  }
  return { keys: readAuditKeyFile(file), source: 'key file' };
}

function readAuditKeyFile(file: string): AuditKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AuditKeyError(`cannot read the audit key file ${file}: ${(error as Error).message}`);
  }
  return auditKeysFrom(raw, file);
}

/** A public key from PEM text (what `gatehouse audit verify --bundle` is given). */
export function readAuditPublicKey(pem: string, source: string): KeyObject {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return key;
  } catch (error) {
    throw new AuditKeyError(`${source} is not an Ed25519 public key: ${(error as Error).message}`);
  }
}
