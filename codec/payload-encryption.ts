import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { z } from 'zod';
import { createAwsKmsDataKeyProvider } from './aws-kms-data-key-provider';
import { ALL_TENANTS, addCodecToken, hashCodecToken, readCodecTokenFile } from './codec-access-tokens';
import type { DataKeyProvider } from './data-key-provider';
import { createGatehouseDataConverter } from './gatehouse-data-converter';
import { loadPayloadKeys, type LoadedPayloadKeys } from './payload-key-store';
import type { CodecSettings, GatehouseSettings } from '../config/environment';

/** The KMS key named by GATEHOUSE_CODEC_KMS_KEY_ID, if any, as a data key provider. */
export function dataKeyProviderFor(codec: CodecSettings): DataKeyProvider | undefined {
  return codec.kms ? createAwsKmsDataKeyProvider(codec.kms) : undefined;
}

/**
 * This process's payload keys, from GATEHOUSE_CODEC_KEYS or the key file. Only `npm start` (the
 * embedded default) passes `createIfMissing`: workers elsewhere must share keys, never make their own.
 */
export function loadPayloadKeyring(
  settings: GatehouseSettings,
  options: { createIfMissing: boolean } = { createIfMissing: false },
): Promise<LoadedPayloadKeys> {
  return loadPayloadKeys(
    {
      keysFromEnvironment: settings.codec.keysFromEnvironment,
      keyFile: settings.codec.keyFile,
      dataKeyProvider: dataKeyProviderFor(settings.codec),
    },
    options,
  );
}

/** The encrypting data converter for a client that only reads and writes (the CLI, scripts). */
export async function loadGatehouseDataConverter(settings: GatehouseSettings): Promise<DataConverter> {
  return createGatehouseDataConverter((await loadPayloadKeyring(settings)).keyring);
}

const operatorFileSchema = z.object({ name: z.string(), token: z.string() });
const EMBEDDED_OPERATOR = 'operator';

/**
 * The embedded default's all-tenants operator token, kept like the demo API key: in a local file of
 * mode 600 (so `npm start` can print it on every start) and, hashed, in the token file. Re-issued when
 * the token file no longer knows it (revoked, or the file was replaced).
 */
export function ensureEmbeddedOperatorToken(
  settings: GatehouseSettings,
): { name: string; token: string } | undefined {
  // Tokens from the environment are managed by whoever set them; nothing is written then.
  if (settings.codec.tokensFromEnvironment !== undefined) return undefined;
  const file = path.join(settings.dataDir, 'codec-operator.json');
  if (existsSync(file)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      raw = undefined; // unreadable: issue a new token below
    }
    const saved = operatorFileSchema.safeParse(raw);
    const known = readCodecTokenFile(settings.codec.tokenFile).tokens.some(
      (entry) => saved.success && entry.sha256 === hashCodecToken(saved.data.token),
    );
    if (saved.success && known) return saved.data;
  }
  const { token } = addCodecToken(settings.codec.tokenFile, {
    name: EMBEDDED_OPERATOR,
    tenants: ALL_TENANTS,
    replace: true,
  });
  mkdirSync(settings.dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify({ name: EMBEDDED_OPERATOR, token }, null, 2)}\n`, { mode: 0o600 });
  return { name: EMBEDDED_OPERATOR, token };
}
