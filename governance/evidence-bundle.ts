import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { AuditEvent } from '../domain/audit-event';
import { auditCheckpointSignatureValid, signedAuditCheckpointSchema } from './audit-checkpoint';
import { canonicalJson } from './canonical-json';

/** The first line of every evidence bundle. */
export const EVIDENCE_BUNDLE_MAGIC = 'GATEHOUSE-EVIDENCE/1';

/** One link of the chain between the request's first event and the checkpoint: hashes only, no content. */
export const chainLinkSchema = z.object({
  seq: z.number().int().positive(),
  prevHash: z.string(),
  hash: z.string(),
  hashVersion: z.number().int(),
  hashKeyId: z.string().nullable(),
});
export type ChainLink = z.infer<typeof chainLinkSchema>;

const auditEventSchema = z.object({
  tenantId: z.string(),
  seq: z.number().int().positive(),
  workflowId: z.string(),
  runId: z.string(),
  step: z.string(),
  attempt: z.number().int(),
  eventType: z.string(),
  payload: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
  hashVersion: z.number().int(),
  hashKeyId: z.string().nullable(),
  createdAt: z.string(),
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

const bodySchema = z.object({
  manifest: z.object({
    tenantId: z.string(),
    workflowId: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    /** The key the header's signature is made with; repeated here so the signature covers it. */
    signingKeyId: z.string(),
    /** SHA-256 of the canonical JSON of each section. */
    sections: z.object({ events: sha256, chain: sha256, checkpoint: sha256, history: sha256 }),
  }),
  events: z.array(auditEventSchema).min(1),
  chain: z.array(chainLinkSchema).min(1),
  checkpoint: signedAuditCheckpointSchema,
  /** The request's decoded Temporal history per run, or null when it was not included. */
  history: z.array(z.object({ runId: z.string(), history: z.unknown() })).nullable(),
});
export type EvidenceBundleBody = z.infer<typeof bodySchema>;

const headerSchema = z.object({ signingKeyId: z.string(), signature: z.string() });

const sectionHash = (value: unknown) =>
  createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');

/**
 * A request's evidence as one file: the magic line, a header line (the Ed25519 signature over the body's
 * exact bytes), and the body — manifest, the request's audit events, the chain links from its first
 * event to a signed checkpoint, the checkpoint, and its decoded history. Both lines and the body are
 * canonical JSON, so every byte is covered: by the signature (body) or by the canonical-form check
 * (header).
 */
export function encodeEvidenceBundle(
  content: Omit<EvidenceBundleBody, 'manifest'> & {
    manifest: Omit<EvidenceBundleBody['manifest'], 'sections' | 'signingKeyId'>;
  },
  signing: { keyId: string; privateKey: KeyObject },
): Buffer {
  const body: EvidenceBundleBody = {
    ...content,
    manifest: {
      ...content.manifest,
      signingKeyId: signing.keyId,
      sections: {
        events: sectionHash(content.events),
        chain: sectionHash(content.chain),
        checkpoint: sectionHash(content.checkpoint),
        history: sectionHash(content.history),
      },
    },
  };
  const bodyBytes = Buffer.from(canonicalJson(body), 'utf8');
  const header = canonicalJson({
    signingKeyId: signing.keyId,
    signature: sign(null, bodyBytes, signing.privateKey).toString('base64'),
  });
  return Buffer.concat([Buffer.from(`${EVIDENCE_BUNDLE_MAGIC}\n${header}\n`, 'utf8'), bodyBytes]);
}

export type EvidenceVerification = { ok: true; body: EvidenceBundleBody } | { ok: false; reason: string };

/**
 * Verifies a bundle with only the public key: the body's signature, the header's canonical form, each
 * section against the manifest, the checkpoint's own signature, and that the request's events sit in an
 * unbroken chain of links ending at the signed checkpoint. (Recomputing each link's HMAC needs the chain
 * key; the bundle was made only after `audit verify` passed with it.)
 */
export function verifyEvidenceBundle(bytes: Buffer, publicKey: KeyObject): EvidenceVerification {
  const fail = (reason: string): EvidenceVerification => ({ ok: false, reason });
  const firstBreak = bytes.indexOf(0x0a);
  const secondBreak = firstBreak < 0 ? -1 : bytes.indexOf(0x0a, firstBreak + 1);
  if (firstBreak < 0 || secondBreak < 0) return fail('not an evidence bundle: missing header lines');
  if (bytes.subarray(0, firstBreak).toString('utf8') !== EVIDENCE_BUNDLE_MAGIC) {
    return fail(`not an evidence bundle: the first line is not ${EVIDENCE_BUNDLE_MAGIC}`);
  }
  const headerText = bytes.subarray(firstBreak + 1, secondBreak).toString('utf8');
  let header: z.infer<typeof headerSchema>;
  try {
    const parsed = headerSchema.safeParse(JSON.parse(headerText));
    if (!parsed.success || canonicalJson(parsed.data) !== headerText)
      return fail('the header line was altered');
    header = parsed.data;
  } catch {
    return fail('the header line is not JSON');
  }
  const bodyBytes = bytes.subarray(secondBreak + 1);
  let signatureValid = false;
  try {
    signatureValid = verify(null, bodyBytes, publicKey, Buffer.from(header.signature, 'base64'));
  } catch {
    signatureValid = false;
  }
  if (!signatureValid)
    return fail(`the signature of key '${header.signingKeyId}' does not match the bundle's contents`);

  let body: EvidenceBundleBody;
  try {
    const parsed = bodySchema.safeParse(JSON.parse(bodyBytes.toString('utf8')));
    if (!parsed.success) return fail('the body does not have the evidence bundle format');
    body = parsed.data;
  } catch {
    return fail('the body is not JSON');
  }
  const { manifest } = body;
  if (manifest.signingKeyId !== header.signingKeyId)
    return fail('the header names another signing key than the manifest');
  for (const section of ['events', 'chain', 'checkpoint', 'history'] as const) {
    if (sectionHash(body[section]) !== manifest.sections[section]) {
      return fail(`the ${section} section does not match its hash in the manifest`);
    }
  }
  if (!auditCheckpointSignatureValid(body.checkpoint, publicKey))
    return fail('the checkpoint signature is not valid');
  if (body.checkpoint.tenantId !== manifest.tenantId) return fail('the checkpoint is of another tenant');
  const linkFailure = checkLinks(body.chain, body.checkpoint);
  if (linkFailure !== undefined) return fail(linkFailure);
  const links = new Map(body.chain.map((link) => [link.seq, link]));
  for (const event of body.events as AuditEvent[]) {
    if (event.tenantId !== manifest.tenantId || event.workflowId !== manifest.workflowId) {
      return fail(`event #${event.seq} is not of ${manifest.workflowId}`);
    }
    const link = links.get(event.seq);
    if (!link || link.hash !== event.hash || link.prevHash !== event.prevHash) {
      return fail(`event #${event.seq} is not the event the chain holds at #${event.seq}`);
    }
  }
  return { ok: true, body };
}

function checkLinks(
  chain: readonly ChainLink[],
  checkpoint: { seq: number; headHash: string },
): string | undefined {
  for (let index = 1; index < chain.length; index++) {
    const link = chain[index] as ChainLink;
    const before = chain[index - 1] as ChainLink;
    if (link.seq !== before.seq + 1) return `the chain skips from #${before.seq} to #${link.seq}`;
    if (link.prevHash !== before.hash) return `the chain breaks at #${link.seq}`;
  }
  const last = chain[chain.length - 1] as ChainLink;
  if (last.seq !== checkpoint.seq || last.hash !== checkpoint.headHash) {
    return `the chain ends at #${last.seq}, not at the signed checkpoint #${checkpoint.seq}`;
  }
  return undefined;
}
