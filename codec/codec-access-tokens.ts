import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { tenantIdSchema } from '../domain/request-contract';
import { sha256Hex } from '../governance/sha256';

/** Every tenant: the only scope that may decode payloads whose tenant is unknown. */
export const ALL_TENANTS = '*';

const tokenEntrySchema = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'names are 1-64 letters, digits, dots, dashes, underscores'),
  /** SHA-256 (hex) of the token: the token itself is shown once, at creation, and never stored. */
  sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be a SHA-256 hex digest'),
  tenants: z.union([z.literal(ALL_TENANTS), z.array(tenantIdSchema).min(1)]),
  createdAt: z.string().optional(),
});

/** The token file's format, also accepted as the value of GATEHOUSE_CODEC_TOKENS (README). */
export const codecTokenFileSchema = z.object({
  version: z.literal(1),
  tokens: z.array(tokenEntrySchema),
});
export type CodecTokenFile = z.infer<typeof codecTokenFileSchema>;
export type CodecTokenEntry = CodecTokenFile['tokens'][number];

/** Who presented a valid token, and which tenants' payloads they may decode. */
export interface CodecAccess {
  name: string;
  tenants: typeof ALL_TENANTS | ReadonlySet<string>;
}

export interface CodecTokenSettings {
  /** `GATEHOUSE_CODEC_TOKENS`: the token file's JSON; wins over the file. */
  tokensFromEnvironment?: string;
  /** `GATEHOUSE_CODEC_TOKEN_FILE`, default `<data dir>/codec-tokens.json`. */
  tokenFile: string;
}

export class CodecTokenError extends Error {
  override readonly name = 'CodecTokenError';
}

/** 256 random bits, URL-safe, recognisable in a secret scanner by its prefix. */
export function newCodecToken(): string {
  return `ghc_${randomBytes(32).toString('base64url')}`;
}

export function hashCodecToken(token: string): string {
  return sha256Hex(token);
}

export function mayDecodeTenant(access: CodecAccess, tenantId: string | undefined): boolean {
  if (access.tenants === ALL_TENANTS) return true;
  return tenantId !== undefined && access.tenants.has(tenantId);
}

export function describeScope(access: CodecAccess): string {
  return access.tenants === ALL_TENANTS ? 'all tenants' : [...access.tenants].join(', ');
}

function parseTokenDocument(raw: string, where: string): CodecTokenFile {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new CodecTokenError(`${where} is not JSON: ${(error as Error).message}`);
  }
  const parsed = codecTokenFileSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new CodecTokenError(`${where} is invalid: ${problems.join('; ')}`);
  }
  const names = new Set<string>();
  for (const entry of parsed.data.tokens) {
    if (names.has(entry.name)) throw new CodecTokenError(`${where} names token '${entry.name}' twice`);
    names.add(entry.name);
  }
  return parsed.data;
}

/** The token file; a missing file is an empty one. */
export function readCodecTokenFile(file: string): CodecTokenFile {
  if (!existsSync(file)) return { version: 1, tokens: [] };
  return parseTokenDocument(readFileSync(file, 'utf8'), `the codec token file ${file}`);
}

function writeCodecTokenFile(file: string, contents: CodecTokenFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const staged = `${file}.${process.pid}.tmp`;
  writeFileSync(staged, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
  renameSync(staged, file);
}

/** Adds (or, with `replace`, re-issues) a named token and returns the token, which is stored only hashed. */
export function addCodecToken(
  file: string,
  options: { name: string; tenants: typeof ALL_TENANTS | string[]; replace?: boolean; now?: Date },
): { token: string; entry: CodecTokenEntry } {
  const contents = readCodecTokenFile(file);
  const exists = contents.tokens.some((entry) => entry.name === options.name);
  if (exists && !options.replace) {
    throw new CodecTokenError(
      `a codec token named '${options.name}' exists; revoke it first or choose another name`,
    );
  }
  const token = newCodecToken();
  const entry = tokenEntrySchema.parse({
    name: options.name,
    sha256: hashCodecToken(token),
    tenants: options.tenants,
    createdAt: (options.now ?? new Date()).toISOString(),
  });
  writeCodecTokenFile(file, {
    version: 1,
    tokens: [...contents.tokens.filter((existing) => existing.name !== options.name), entry],
  });
  return { token, entry };
}

export function revokeCodecToken(file: string, name: string): void {
  const contents = readCodecTokenFile(file);
  if (!contents.tokens.some((entry) => entry.name === name)) {
    throw new CodecTokenError(`no codec token named '${name}' in ${file}`);
  }
  writeCodecTokenFile(file, { version: 1, tokens: contents.tokens.filter((entry) => entry.name !== name) });
}

function accessByHash(tokens: readonly CodecTokenEntry[]): Map<string, CodecAccess> {
  return new Map(
    tokens.map((entry) => [
      entry.sha256,
      { name: entry.name, tenants: entry.tenants === ALL_TENANTS ? ALL_TENANTS : new Set(entry.tenants) },
    ]),
  );
}

/** Checks presented tokens. Reads the token file again when it changes, so a revocation needs no restart. */
export interface CodecTokenVerifier {
  verify(token: string): CodecAccess | undefined;
}

export function createCodecTokenVerifier(settings: CodecTokenSettings): CodecTokenVerifier {
  if (settings.tokensFromEnvironment !== undefined) {
    const fixed = accessByHash(
      parseTokenDocument(settings.tokensFromEnvironment, 'GATEHOUSE_CODEC_TOKENS').tokens,
    );
    return { verify: (token) => fixed.get(hashCodecToken(token)) };
  }
  let loadedVersion: string | undefined;
  let byHash = new Map<string, CodecAccess>();
  const refresh = () => {
    const version = existsSync(settings.tokenFile)
      ? (({ mtimeMs, size, ino }) => `${mtimeMs}:${size}:${ino}`)(statSync(settings.tokenFile))
      : 'missing';
    if (version === loadedVersion) return;
    byHash = accessByHash(readCodecTokenFile(settings.tokenFile).tokens);
    loadedVersion = version;
  };
  refresh();
  return {
    verify(token) {
      refresh();
      return byHash.get(hashCodecToken(token));
    },
  };
}
