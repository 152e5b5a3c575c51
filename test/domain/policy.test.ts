import type { FeatureChargingFacts } from '../../domain/charged-feature';
import {
  approvalFor,
  decideAuthorization,
  reevaluateDataClass,
  type PolicyDecision,
  type PrincipalFacts,
  type TenantFacts,
} from '../../domain/policy';

const tenant: TenantFacts = { id: 'acme', status: 'active', tier: 'team' };
const principal: PrincipalFacts = {
  id: 'ana',
  status: 'active',
  capabilities: ['qa'],
  groups: ['everyone'],
  clearance: 'confidential',
};
const document = {
  allowedDataClasses: ['public', 'internal', 'confidential'],
  maxOutputTokens: 400,
  approval: { requiredForDataClasses: ['confidential'], timeoutSeconds: 60 },
};
const request = {
  tenantId: 'acme',
  taskType: 'qa',
  dataClass: 'internal' as const,
  prompt: undefined,
  maxOutputTokens: undefined,
};
const unboundKey: FeatureChargingFacts = { keyId: 'k1', reservedFeatures: [] };
const policy = (overrides: Record<string, unknown> = {}) => ({
  version: 7,
  document: { ...document, ...overrides },
});

function allowed(decision: PolicyDecision): Extract<PolicyDecision, { allowed: true }> {
  if (!decision.allowed) throw new Error(`denied: ${decision.reason}`);
  return decision;
}

describe('decideAuthorization', () => {
  it.each<[string, Parameters<typeof decideAuthorization>, RegExp]>([
    [
      'an unknown tenant',
      [request, undefined, principal, policy(), unboundKey],
      /tenant 'acme' does not exist/,
    ],
    [
      'a suspended tenant',
      [request, { ...tenant, status: 'suspended' }, principal, policy(), unboundKey],
      /is suspended, not active/,
    ],
    [
      'a key of nobody',
      [request, tenant, undefined, policy(), unboundKey],
      /the API key is not valid for tenant 'acme'/,
    ],
    [
      'a disabled principal',
      [request, tenant, { ...principal, status: 'disabled' }, policy(), unboundKey],
      /principal 'ana' is disabled/,
    ],
    ['a tenant without policy', [request, tenant, principal, undefined, unboundKey], /has no policy/],
    [
      'an invalid policy',
      [request, tenant, principal, { version: 3, document: { allowedDataClasses: [] } }, unboundKey],
      /policy version 3 is invalid/,
    ],
    [
      'a task the principal may not run',
      [{ ...request, taskType: 'summarize' }, tenant, principal, policy(), unboundKey],
      /may not run task 'summarize' \(allowed: qa\)/,
    ],
    [
      'a data class the policy does not allow',
      [
        { ...request, dataClass: 'restricted' },
        tenant,
        { ...principal, clearance: 'restricted' },
        policy(),
        unboundKey,
      ],
      /'restricted' is not allowed by policy version 7/,
    ],
    [
      'a data class above the clearance',
      [
        { ...request, dataClass: 'confidential' },
        tenant,
        { ...principal, clearance: 'internal' },
        policy(),
        unboundKey,
      ],
      /cleared for 'internal' data, not 'confidential'/,
    ],
    [
      'a policy floor above the clearance',
      [
        { ...request, dataClass: 'public' },
        tenant,
        { ...principal, clearance: 'internal' },
        policy({ dataClassFloor: 'confidential' }),
        unboundKey,
      ],
      /not 'confidential'/,
    ],
    [
      "a feature outside the key's binding",
      [
        { ...request, feature: 'other' },
        tenant,
        principal,
        policy(),
        { ...unboundKey, keyFeatures: ['faq'] },
      ],
      /key k1 may not charge feature 'other' \(it is bound to 'faq'\)/,
    ],
  ])('denies %s', (_name, args, reason) => {
    const decision = decideAuthorization(...args);
    expect(decision.allowed).toBe(false);
    expect(!decision.allowed && decision.reason).toMatch(reason);
  });

  it('allows, with the policy version, the prompt of the task and the smaller of the output caps', () => {
    const decision = allowed(
      decideAuthorization({ ...request, maxOutputTokens: 999 }, tenant, principal, policy(), unboundKey),
    );
    expect(decision).toMatchObject({
      principalId: 'ana',
      policyVersion: 7,
      dataClass: 'internal',
      maxOutputTokens: 400,
      prompt: { name: 'qa' },
      approval: { required: false },
    });
  });

  it('raises the class to the policy floor and asks for approval where that class needs it', () => {
    const decision = allowed(
      decideAuthorization(
        { ...request, dataClass: 'public' },
        tenant,
        principal,
        policy({ dataClassFloor: 'confidential' }),
        unboundKey,
      ),
    );
    expect(decision.dataClass).toBe('confidential');
    expect(decision.approval).toMatchObject({
      required: true,
      reason: "'confidential' requests need approval under policy version 7",
      timeoutMs: 60_000,
    });
  });
});

describe('the effective data class after retrieval', () => {
  const decision = {
    ...allowed(decideAuthorization(request, tenant, principal, policy(), unboundKey)),
    approverIds: ['boss'],
  };

  it('stays the declared class when every document is at or below it', () => {
    const result = reevaluateDataClass(decision, 'internal', [
      { documentId: 'a', classification: 'public' },
      { documentId: 'b', classification: 'internal' },
    ]);
    expect(result).toEqual({
      declared: 'internal',
      effective: 'internal',
      raisedBy: [],
      newApproval: { required: false },
    });
  });

  it('rises to the strictest document and asks for the approval that class needs', () => {
    const result = reevaluateDataClass(decision, 'internal', [
      { documentId: 'a', classification: 'public' },
      { documentId: 'secret', classification: 'confidential' },
    ]);
    expect(result.effective).toBe('confidential');
    expect(result.raisedBy).toEqual([{ documentId: 'secret', classification: 'confidential' }]);
    expect(result.newApproval).toMatchObject({ required: true, approverIds: ['boss'] });
    expect(result.deniedReason).toBeUndefined();
  });

  it('is denied when the policy does not allow what the documents are', () => {
    const result = reevaluateDataClass(decision, 'internal', [
      { documentId: 'vault', classification: 'restricted' },
    ]);
    expect(result.effective).toBe('restricted');
    expect(result.deniedReason).toMatch(
      /retrieved documents are 'restricted' \(vault\), which policy version 7 does not allow/,
    );
  });

  it('asks for no new approval when the class before retrieval already needed it', () => {
    const already = { ...decision, dataClass: 'confidential' as const };
    expect(
      reevaluateDataClass(already, 'confidential', [{ documentId: 'c', classification: 'confidential' }])
        .newApproval,
    ).toEqual({ required: false });
    expect(approvalFor(already, 'public')).toEqual({ required: false });
  });
});
