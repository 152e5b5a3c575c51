import { ApplicationFailure, log } from '@temporalio/activity';
import { keyRefusal } from '../domain/api-key-access';
import { FAILURE_TYPES } from '../domain/failure-types';
import { decideAuthorization, approvalFor, type PolicyDecision } from '../domain/policy';
import { requestWorkflowId, type LlmRequest } from '../domain/request-contract';
import { unattestedAuthorization } from '../governance/attested-governance';
import { verifyRequestProof } from '../governance/caller-proof';
import { governanceControlsOf } from '../governance/policy-controls';
import { requestFingerprint } from '../governance/request-fingerprint';
import { featuresOfWorkingKeys, readTenantKeys } from '../store/api-key-repository';
import { findSucceededChains } from '../store/audit-repository';
import { getLatestPolicyAsStored } from '../store/policy-repository';
import { credentialOfRows, findCallerRows, listPrincipalsByRole } from '../store/principal-repository';
import { getTenant } from '../store/tenant-repository';
import type { ActivityDependencies } from './activity-dependencies';

export interface AuthorizeInput {
  request: LlmRequest;
  /** When the request's execution chain started (kept by Reset): the caller's proof must cover it. */
  chainStartedAt: number;
  /** The chain's identity (the run id on its start event), to refuse replays of a finished request. */
  chainId: string;
}

/**
 * Step 1. Authenticates the caller by the proof in the request (never a reusable credential), then
 * decides with the pure policy function: tenant, principal, capability, the feature the request is
 * charged to (as its key allows, docs/decisions/0029), data class, approval. The policy
 * version, principal and key it read must be what the tenant's audit chain attests
 * (`FAILURE_TYPES.governanceUnattested` otherwise, docs/decisions/0028).
 */
export function createAuthorizeActivity({ db, audit }: Pick<ActivityDependencies, 'db' | 'audit'>) {
  return async function authorize(input: AuthorizeInput): Promise<PolicyDecision> {
    const { request } = input;
    const denied = (reason: string, principalId?: string): PolicyDecision => {
      log.info('request denied', { tenantId: request.tenantId, reason });
      return { allowed: false, tenantId: request.tenantId, reason, principalId };
    };
    const tenant = await getTenant(db, request.tenantId);
    // The rows the decision reads are the rows hashed against the audit chain below: read once.
    const callerRows = tenant ? await findCallerRows(db, request.tenantId, request.caller.keyId) : undefined;
    const found = callerRows && credentialOfRows(callerRows, request.caller.keyId);
    const workflowId = requestWorkflowId(request.tenantId, request.requestId);
    if (found) {
      const fingerprint = requestFingerprint(request);
      if (fingerprint !== request.fingerprint) {
        return denied("the request's fingerprint does not match its content", found.id);
      }
      const verdict = verifyRequestProof({
        apiKeyHash: found.apiKeyHash,
        workflowId,
        tenantId: request.tenantId,
        fingerprint,
        caller: request.caller,
        chainStartedAt: input.chainStartedAt,
      });
      if (!verdict.valid) return denied(verdict.reason, found.id);
      // Judged at the time the request was started: a key revoked or expired since still covers it.
      const refusal = keyRefusal(found.key, 'requests', input.chainStartedAt);
      if (refusal !== undefined) return denied(refusal, found.id);
      const earlier = (await findSucceededChains(db, request.tenantId, workflowId)).filter(
        (chainId) => chainId !== input.chainId,
      );
      if (earlier.length > 0) {
        return denied(`request ${workflowId} already succeeded; its result belongs to that run`, found.id);
      }
    }
    // Other keys' bindings matter only to an unbound key that names a feature (decideChargedFeature).
    const judgedByOtherKeys = found?.key.features === undefined && request.feature !== undefined;
    const [latestPolicy, tenantKeys] = found
      ? await Promise.all([
          getLatestPolicyAsStored(db, request.tenantId),
          judgedByOtherKeys ? readTenantKeys(db, request.tenantId) : undefined,
        ])
      : [undefined, undefined];
    const policy = latestPolicy?.policy;
    if (found && callerRows) {
      // The rows just read must be the ones the audit chain attests, or the request is served by an edit.
      const unattested = await unattestedAuthorization(db, audit.keys.chainKeyById, {
        tenantId: request.tenantId,
        principalId: found.id,
        keyId: found.keyId,
        principal: callerRows.principal,
        ...(callerRows.key === undefined ? {} : { key: callerRows.key }),
        ...(latestPolicy === undefined
          ? {}
          : {
              policy: {
                version: Number(latestPolicy.policy.version),
                documentText: latestPolicy.documentText,
              },
            }),
        // Other keys' bindings decide this request too: a binding removed in the store frees its feature.
        ...(tenantKeys === undefined ? {} : { tenantKeys: tenantKeys.map((key) => key.row) }),
      });
      if (unattested !== undefined) {
        log.warn('request refused: unattested configuration', { tenantId: request.tenantId, unattested });
        throw ApplicationFailure.nonRetryable(unattested, FAILURE_TYPES.governanceUnattested);
      }
    }
    const allowed = decideAuthorization(request, tenant, found, policy, {
      keyId: request.caller.keyId,
      ...(found?.key.features === undefined ? {} : { keyFeatures: found.key.features }),
      // Keys working when the request started, as the key itself is judged.
      reservedFeatures:
        tenantKeys === undefined
          ? []
          : featuresOfWorkingKeys(
              tenantKeys.map((key) => key.record),
              input.chainStartedAt,
            ),
    });
    if (!allowed.allowed) {
      log.info('request denied', { tenantId: request.tenantId, reason: allowed.reason });
      return allowed;
    }
    // Redaction and guardrails are validated in full here, so a broken section refuses the request.
    const controls = governanceControlsOf(policy?.document);
    if (!controls.ok) {
      return {
        ...denied(`policy version ${allowed.policyVersion} is invalid: ${controls.problem}`, found?.id),
        policyVersion: allowed.policyVersion,
      };
    }
    const decision = { ...allowed, redaction: controls.redaction, guardrails: controls.guardrails };
    if (decision.dataClassRules.approvalRequiredFor.length === 0) return decision;
    // Approval may become necessary after retrieval too, so approvers are known whenever a rule exists.
    const approvers = await listPrincipalsByRole(db, request.tenantId, decision.dataClassRules.approverRoles);
    const approverIds = approvers.map((approver) => approver.id).filter((id) => id !== decision.principalId);
    const withApprovers = { ...decision, approverIds };
    return { ...withApprovers, approval: approvalFor(withApprovers, decision.dataClass) };
  };
}
