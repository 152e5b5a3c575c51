import { requestWorkflowId } from '../../domain/request-contract';
import {
  hashApiKey,
  keyIdForKeyHash,
  PROOF_CLOCK_SKEW_MS,
  signApprovalProof,
  signRequestProof,
  verifyApprovalProof,
  verifyRequestProof,
} from '../../governance/caller-proof';

const KEY = 'gh_acme_0123456789abcdef0123456789';
const NOW = 1_800_000_000_000;
const workflowId = requestWorkflowId('acme', 'r-1');
const fingerprint = 'a'.repeat(64);
const signed = () =>
  signRequestProof({ apiKey: KEY, workflowId, tenantId: 'acme', fingerprint, now: NOW, ttlMs: 300_000 });
const verify = (overrides: Partial<Parameters<typeof verifyRequestProof>[0]> = {}) =>
  verifyRequestProof({
    apiKeyHash: hashApiKey(KEY),
    workflowId,
    tenantId: 'acme',
    fingerprint,
    caller: signed(),
    chainStartedAt: NOW + 1_000,
    ...overrides,
  });

describe('request proofs', () => {
  it('verify for the key, request and time they were signed for', () => {
    expect(verify()).toEqual({ valid: true });
    expect(signed().keyId).toBe(keyIdForKeyHash(hashApiKey(KEY)));
    expect(signed().keyId).not.toContain(hashApiKey(KEY).slice(0, 32));
  });

  it.each([
    ['another key', { apiKeyHash: hashApiKey('another-key-0123456789') }, /does not match/],
    ['another workflow', { workflowId: requestWorkflowId('acme', 'r-2') }, /does not match/],
    ['another tenant', { tenantId: 'globex' }, /does not match/],
    ['another request content', { fingerprint: 'b'.repeat(64) }, /does not match/],
    [
      'a changed validity window',
      { caller: { ...signed(), expiresAt: NOW + 10 * 3600_000 } },
      /does not match/,
    ],
    ['a start after expiry', { chainStartedAt: NOW + 300_000 + PROOF_CLOCK_SKEW_MS + 1 }, /had expired/],
    ['a start long before issue', { chainStartedAt: NOW - PROOF_CLOCK_SKEW_MS - 1 }, /issued after/],
  ])('fail for %s', (_name, overrides, reason) => {
    const verdict = verify(overrides);
    expect(verdict.valid).toBe(false);
    expect(!verdict.valid && verdict.reason).toMatch(reason);
  });
});

describe('approval proofs', () => {
  const decisionInput = signApprovalProof({
    apiKey: KEY,
    workflowId,
    tenantId: 'acme',
    decision: 'approved',
    approverId: 'boss',
    comment: 'ok',
    now: NOW,
  });
  const check = (overrides: Partial<Parameters<typeof verifyApprovalProof>[0]> = {}) =>
    verifyApprovalProof({
      apiKeyHash: hashApiKey(KEY),
      workflowId,
      tenantId: 'acme',
      decision: 'approved',
      decisionInput,
      now: NOW + 1,
      ...overrides,
    });

  it('verify for the decision they were signed for', () => {
    expect(check()).toEqual({ valid: true });
  });

  it.each([
    ['the other decision', { decision: 'denied' as const }],
    ['another request', { workflowId: requestWorkflowId('acme', 'other') }],
    ['a changed comment', { decisionInput: { ...decisionInput, comment: 'changed' } }],
    ['another approver id', { decisionInput: { ...decisionInput, approverId: 'mallory' } }],
    ['another key', { apiKeyHash: hashApiKey('someone-else-key-0123') }],
    ['a later time', { now: NOW + 3600_000 }],
  ])('fail for %s', (_name, overrides) => {
    expect(check(overrides).valid).toBe(false);
  });
});
