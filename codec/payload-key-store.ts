import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DataKeyProvider } from './data-key-provider';
import {
  PayloadKeyringError,
  assertPayloadKeyId,
  createPayloadKeyring,
  newPayloadKeyId,
  newPayloadKeyMaterial,
  type PayloadKey,
  type PayloadKeyring,
} from './payload-keyring';

const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');

const keyEntrySchema = z
  .object({
    id: z.string(),
    createdAt: z.string(),
    /** The key itself (embedded default: the file is the secret, mode 600). */
    material: base64.optional(),
    /** The key wrapped by a key-management service; only its Decrypt can open it. */
    wrappedMaterial: base64.optional(),
    wrappingKeyId: z.string().optional(),
  })
  .refine((entry) => (entry.material === undefined) !== (entry.wrappedMaterial === undefined), {
    message: 'each key needs exactly one of material or wrappedMaterial',
  });

/** The key file's format (README, "Payload encryption"). */
export const payloadKeyFileSchema = z.object({
  version: z.literal(1),
  activeKeyId: z.string(),
  keys: z.array(keyEntrySchema).min(1),
});
export type PayloadKeyFile = z.infer<typeof payloadKeyFileSchema>;
export type PayloadKeyFileEntry = PayloadKeyFile['keys'][number];

/** Where payload keys come from; parsed from the environment at the entry points. */
export interface PayloadKeySettings {
  /** `GATEHOUSE_CODEC_KEYS`: `id:base64[,id:base64…]`, the first one active. Wins over the file. */
  keysFromEnvironment?: string;
  /** `GATEHOUSE_CODEC_KEY_FILE`, default `<data dir>/codec-keys.json`. */
  keyFile: string;
  /** Set when `GATEHOUSE_CODEC_KMS_KEY_ID` names a KMS key: new keys are stored wrapped by it. */
  dataKeyProvider?: DataKeyProvider;
}

export interface LoadedPayloadKeys {
  keyring: PayloadKeyring;
  source: 'environment' | 'key file' | 'new key file';
}

/** Parses `id:base64[,id:base64…]`; the first key is the active one. */
export function parsePayloadKeysVariable(value: string): PayloadKeyring {
  const keys: PayloadKey[] = [];
  for (const [index, part] of value.split(',').entries()) {
    const entry = part.trim();
    const separator = entry.indexOf(':');
    if (separator <= 0) {
      throw new PayloadKeyringError(`GATEHOUSE_CODEC_KEYS entry ${index + 1} is not 'id:base64-key'`);
    }
    const id = entry.slice(0, separator);
    const encoded = entry.slice(separator + 1);
    if (!base64.safeParse(encoded).success) {
      throw new PayloadKeyringError(`GATEHOUSE_CODEC_KEYS key '${id}' is not base64`);
    }
    keys.push({ id, material: Buffer.from(encoded, 'base64') });
  }
  const active = keys[0];
  if (!active) throw new PayloadKeyringError('GATEHOUSE_CODEC_KEYS holds no key');
  return createPayloadKeyring(keys, active.id);
}

/** Reads and checks a key file without opening wrapped keys. */
export function readPayloadKeyFile(file: string): PayloadKeyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PayloadKeyringError(`cannot read the payload key file ${file}: ${(error as Error).message}`);
  }
  const parsed = payloadKeyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new PayloadKeyringError(`the payload key file ${file} is invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Writes the whole file at once (mode 600), so a reader never sees half of it. */
export function writePayloadKeyFile(file: string, contents: PayloadKeyFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const staged = `${file}.${process.pid}.tmp`;
  writeFileSync(staged, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
  renameSync(staged, file);
}

/** Opens every key of the file: plain ones as they are, wrapped ones through the data key provider. */
export async function keyringFromKeyFile(
  contents: PayloadKeyFile,
  dataKeyProvider: DataKeyProvider | undefined,
  file: string,
): Promise<PayloadKeyring> {
  const keys = await Promise.all(
    contents.keys.map(async (entry): Promise<PayloadKey> => {
      if (entry.material !== undefined)
        return { id: entry.id, material: Buffer.from(entry.material, 'base64') };
      if (!dataKeyProvider) {
        throw new PayloadKeyringError(
          `payload key '${entry.id}' in ${file} is wrapped by KMS key '${entry.wrappingKeyId ?? 'unknown'}': set GATEHOUSE_CODEC_KMS_KEY_ID to unwrap it`,
        );
      }
      try {
        const material = await dataKeyProvider.decryptDataKey(
          Buffer.from(entry.wrappedMaterial ?? '', 'base64'),
          { payloadKeyId: entry.id },
        );
        return { id: entry.id, material };
      } catch (error) {
        throw new PayloadKeyringError(
          `cannot unwrap payload key '${entry.id}' with KMS key '${dataKeyProvider.wrappingKeyId}': ${(error as Error).message}`,
        );
      }
    }),
  );
  return createPayloadKeyring(keys, contents.activeKeyId);
}

/** A new key entry: wrapped by the provider when there is one, else the material itself. */
async function newKeyEntry(
  dataKeyProvider: DataKeyProvider | undefined,
  now: Date,
): Promise<PayloadKeyFileEntry> {
  const id = newPayloadKeyId(now);
  const createdAt = now.toISOString();
  if (!dataKeyProvider) return { id, createdAt, material: newPayloadKeyMaterial().toString('base64') };
  const generated = await dataKeyProvider.generateDataKey({ payloadKeyId: id });
  return {
    id,
    createdAt,
    wrappedMaterial: generated.wrapped.toString('base64'),
    wrappingKeyId: dataKeyProvider.wrappingKeyId,
  };
}

/**
 * Adds a key to the file. With `activate`, new payloads use it at once (one process, or every process
 * already knows it); without, it is only known, the first step of a rolling rotation (README).
 */
export async function addPayloadKey(
  file: string,
  options: { dataKeyProvider?: DataKeyProvider; activate: boolean; now?: Date },
): Promise<{ id: string; contents: PayloadKeyFile }> {
  const contents = readPayloadKeyFile(file);
  const entry = await newKeyEntry(options.dataKeyProvider, options.now ?? new Date());
  const next: PayloadKeyFile = {
    ...contents,
    activeKeyId: options.activate ? entry.id : contents.activeKeyId,
    keys: [...contents.keys, entry],
  };
  writePayloadKeyFile(file, next);
  return { id: entry.id, contents: next };
}

/** Makes a key the one new payloads are encrypted with. */
export function activatePayloadKey(file: string, keyId: string): PayloadKeyFile {
  assertPayloadKeyId(keyId);
  const contents = readPayloadKeyFile(file);
  if (!contents.keys.some((entry) => entry.id === keyId)) {
    throw new PayloadKeyringError(
      `no payload key '${keyId}' in ${file} (known: ${contents.keys.map((entry) => entry.id).join(', ')})`,
    );
  }
  const next = { ...contents, activeKeyId: keyId };
  writePayloadKeyFile(file, next);
  return next;
}

/**
 * The keyring for this process: `GATEHOUSE_CODEC_KEYS` if set, else the key file. With
 * `createIfMissing` (the embedded `npm start` only) a missing file is created with one new key; a
 * worker fleet must share keys, so elsewhere a missing file is an error that says how to provide one.
 */
export async function loadPayloadKeys(
  settings: PayloadKeySettings,
  options: { createIfMissing: boolean },
): Promise<LoadedPayloadKeys> {
  if (settings.keysFromEnvironment !== undefined) {
    return { keyring: parsePayloadKeysVariable(settings.keysFromEnvironment), source: 'environment' };
  }
  const file = settings.keyFile;
  if (!existsSync(file)) {
    if (!options.createIfMissing) {
      throw new PayloadKeyringError(
        `no payload encryption keys: ${file} does not exist and GATEHOUSE_CODEC_KEYS is not set. ` +
          '`npm start` creates the key file on its first run; other deployments set GATEHOUSE_CODEC_KEYS ' +
          'or GATEHOUSE_CODEC_KEY_FILE (README, "Payload encryption")',
      );
    }
    const entry = await newKeyEntry(settings.dataKeyProvider, new Date());
    const contents: PayloadKeyFile = { version: 1, activeKeyId: entry.id, keys: [entry] };
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      // 'wx': if another process created the file meanwhile, keep its keys rather than overwrite them.
      writeFileSync(file, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return {
        keyring: await keyringFromKeyFile(readPayloadKeyFile(file), settings.dataKeyProvider, file),
        source: 'key file',
      };
    }
    return {
      keyring: await keyringFromKeyFile(contents, settings.dataKeyProvider, file),
      source: 'new key file',
    };
  }
  return {
    keyring: await keyringFromKeyFile(readPayloadKeyFile(file), settings.dataKeyProvider, file),
    source: 'key file',
  };
}
