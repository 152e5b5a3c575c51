import { sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical-json';

/**
 * One tenant's chain head at one moment, signed with the checkpoint key (Ed25519). Checkpoints live
 * outside the app database, so rows removed from the end of the chain, or a chain recomputed by someone
 * holding the HMAC key, no longer match what was signed.
 */
export const signedAuditCheckpointSchema = z.object({
  version: z.literal(1),
  tenantId: z.string().min(1),
  seq: z.number().int().min(0),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string(),
  signingKeyId: z.string(),
  /** Base64 Ed25519 signature over the canonical JSON of every other field. */
  signature: z.string(),
});
export type SignedAuditCheckpoint = z.infer<typeof signedAuditCheckpointSchema>;
export type AuditCheckpoint = Omit<SignedAuditCheckpoint, 'signature'>;

function signedBytes(checkpoint: AuditCheckpoint): Buffer {
  return Buffer.from(
    canonicalJson({
      version: checkpoint.version,
      tenantId: checkpoint.tenantId,
      seq: checkpoint.seq,
      headHash: checkpoint.headHash,
      at: checkpoint.at,
      signingKeyId: checkpoint.signingKeyId,
    }),
    'utf8',
  );
}

export function signAuditCheckpoint(
  checkpoint: AuditCheckpoint,
  privateKey: KeyObject,
): SignedAuditCheckpoint {
  return { ...checkpoint, signature: sign(null, signedBytes(checkpoint), privateKey).toString('base64') };
}

/** Whether the signature is the public key's over exactly these fields. */
export function auditCheckpointSignatureValid(
  checkpoint: SignedAuditCheckpoint,
  publicKey: KeyObject,
): boolean {
  try {
    return verify(null, signedBytes(checkpoint), publicKey, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Where signed checkpoints are kept, outside the app database: append-only storage whose writers are
 * not the database's administrators (a file on another volume, an object store with object lock).
 */
export interface AuditCheckpointSink {
  /** For messages: where the checkpoints go. */
  readonly description: string;
  append(checkpoints: readonly SignedAuditCheckpoint[]): Promise<void>;
  /** Every stored checkpoint of the tenant, oldest first; lines that do not parse are counted. */
  read(tenantId: string): Promise<{ checkpoints: SignedAuditCheckpoint[]; unreadable: number }>;
}

/** One stored checkpoint from its JSON text; undefined when it does not parse (the sink was altered). */
export function parseStoredCheckpoint(text: string): SignedAuditCheckpoint | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = signedAuditCheckpointSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
