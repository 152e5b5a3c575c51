import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CallerProof } from '../domain/request-contract';
import type { ApprovalDecision, ApprovalDecisionInput } from '../domain/request-messages';
import { canonicalJson } from './canonical-json';
import { sha256Hex } from './sha256';

/**
 * Proofs of who sent a request or a decision (docs/decisions/0003). The key is the caller's API key hash:
 * the caller computes it from the raw key, the store keeps it, and it never enters Temporal. What history
 * holds — a key id, the claims and the proof — lets nobody sign anything else.
 */

/** How long a freshly signed proof admits a new workflow start. */
export const DEFAULT_PROOF_TTL_MS = 5 * 60_000;
/** Batch requests start later than they are signed, so their proofs live as long as a batch may run. */
export const BATCH_PROOF_TTL_MS = 24 * 3600_000;
/** Clocks of clients and the Temporal server disagree a little. */
export const PROOF_CLOCK_SKEW_MS = 60_000;

/** SHA-256 hex of a raw API key: the form the store keeps and the key of every proof. */
export function hashApiKey(rawKey: string): string {
  return sha256Hex(rawKey);
}

/** A one-way handle of an API key hash that finds the principal; knowing it proves nothing. */
export function keyIdForKeyHash(apiKeyHash: string): string {
  return createHash('sha256').update(`gatehouse-key-id:${apiKeyHash}`, 'utf8').digest('hex').slice(0, 32);
}

/** What a proof binds; `purpose` keeps a proof of one kind from being accepted as another. */
export type ProofClaims = Record<string, string | number | boolean | null>;

function mac(apiKeyHash: string, purpose: string, claims: ProofClaims): Buffer {
  return createHmac('sha256', apiKeyHash)
    .update(canonicalJson({ purpose, ...claims }), 'utf8')
    .digest();
}

/** Signs `claims` for `purpose` with the key hash; base64url, 43 characters. */
export function signProof(apiKeyHash: string, purpose: string, claims: ProofClaims): string {
  return mac(apiKeyHash, purpose, claims).toString('base64url');
}

/** Constant-time check of a proof against the stored key hash. */
export function verifyProof(
  apiKeyHash: string,
  purpose: string,
  claims: ProofClaims,
  proof: string,
): boolean {
  const expected = mac(apiKeyHash, purpose, claims);
  const given = Buffer.from(proof, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const REQUEST_PROOF_PURPOSE = 'gatehouse.request.v1';

/** The claims of a request proof: everything that makes one request start different from another. */
export function requestProofClaims(input: {
  workflowId: string;
  tenantId: string;
  fingerprint: string;
  caller: Omit<CallerProof, 'proof'>;
}): ProofClaims {
  return {
    workflowId: input.workflowId,
    tenantId: input.tenantId,
    fingerprint: input.fingerprint,
    keyId: input.caller.keyId,
    issuedAt: input.caller.issuedAt,
    expiresAt: input.caller.expiresAt,
  };
}

/** Signs a request for the holder of `apiKey`, valid for starts within `ttlMs` from `now`. */
export function signRequestProof(input: {
  apiKey: string;
  workflowId: string;
  tenantId: string;
  fingerprint: string;
  now: number;
  ttlMs: number;
}): CallerProof {
  const apiKeyHash = hashApiKey(input.apiKey);
  const caller = {
    keyId: keyIdForKeyHash(apiKeyHash),
    issuedAt: input.now,
    expiresAt: input.now + input.ttlMs,
  };
  const proof = signProof(apiKeyHash, REQUEST_PROOF_PURPOSE, requestProofClaims({ ...input, caller }));
  return { ...caller, proof };
}

export type ProofVerdict = { valid: true } | { valid: false; reason: string };

/**
 * Verifies a request proof against the stored key hash and the time the request's execution chain
 * started (preserved across resets, so an operator's reset of an authorised request stays authorised).
 */
export function verifyRequestProof(input: {
  apiKeyHash: string;
  workflowId: string;
  tenantId: string;
  fingerprint: string;
  caller: CallerProof;
  chainStartedAt: number;
}): ProofVerdict {
  const { caller } = input;
  if (!verifyProof(input.apiKeyHash, REQUEST_PROOF_PURPOSE, requestProofClaims(input), caller.proof)) {
    return { valid: false, reason: 'the request proof does not match this request and API key' };
  }
  if (input.chainStartedAt < caller.issuedAt - PROOF_CLOCK_SKEW_MS) {
    return { valid: false, reason: 'the request proof was issued after the request started' };
  }
  if (input.chainStartedAt > caller.expiresAt + PROOF_CLOCK_SKEW_MS) {
    return { valid: false, reason: 'the request proof had expired when the request started' };
  }
  return { valid: true };
}

export const APPROVAL_PROOF_PURPOSE = 'gatehouse.approval.v1';

function approvalProofClaims(input: {
  workflowId: string;
  tenantId: string;
  decision: ApprovalDecision;
  decisionInput: Omit<ApprovalDecisionInput, 'proof'>;
}): ProofClaims {
  const { decisionInput } = input;
  return {
    workflowId: input.workflowId,
    tenantId: input.tenantId,
    decision: input.decision,
    approverId: decisionInput.approverId,
    keyId: decisionInput.keyId,
    issuedAt: decisionInput.issuedAt,
    expiresAt: decisionInput.expiresAt,
    comment: decisionInput.comment ?? null,
  };
}

/** Signs an approver's decision on one request. */
export function signApprovalProof(input: {
  apiKey: string;
  workflowId: string;
  tenantId: string;
  decision: ApprovalDecision;
  approverId: string;
  comment?: string;
  now: number;
  ttlMs?: number;
}): ApprovalDecisionInput {
  const apiKeyHash = hashApiKey(input.apiKey);
  const decisionInput = {
    approverId: input.approverId,
    keyId: keyIdForKeyHash(apiKeyHash),
    issuedAt: input.now,
    expiresAt: input.now + (input.ttlMs ?? DEFAULT_PROOF_TTL_MS),
    ...(input.comment === undefined ? {} : { comment: input.comment }),
  };
  const proof = signProof(
    apiKeyHash,
    APPROVAL_PROOF_PURPOSE,
    approvalProofClaims({ ...input, decisionInput }),
  );
  return { ...decisionInput, proof };
}

/** Verifies a decision against the approver's stored key hash at `now` (the workflow's clock). */
export function verifyApprovalProof(input: {
  apiKeyHash: string;
  workflowId: string;
  tenantId: string;
  decision: ApprovalDecision;
  decisionInput: ApprovalDecisionInput;
  now: number;
}): ProofVerdict {
  const { decisionInput } = input;
  if (keyIdForKeyHash(input.apiKeyHash) !== decisionInput.keyId) {
    return { valid: false, reason: `the API key does not belong to principal '${decisionInput.approverId}'` };
  }
  if (
    !verifyProof(input.apiKeyHash, APPROVAL_PROOF_PURPOSE, approvalProofClaims(input), decisionInput.proof)
  ) {
    return { valid: false, reason: 'the decision proof does not match this request, decision and API key' };
  }
  if (
    input.now < decisionInput.issuedAt - PROOF_CLOCK_SKEW_MS ||
    input.now > decisionInput.expiresAt + PROOF_CLOCK_SKEW_MS
  ) {
    return { valid: false, reason: 'the decision proof is not valid at this time' };
  }
  return { valid: true };
}
