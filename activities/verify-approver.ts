import type { ApprovalDecision, ApprovalDecisionInput } from '../domain/request-messages';
import { verifyApprovalProof } from '../governance/caller-proof';
import { findPrincipalCredential } from '../store/principal-repository';
import type { ActivityDependencies } from './activity-dependencies';

export interface VerifyApproverInput {
  tenantId: string;
  workflowId: string;
  decision: ApprovalDecision;
  decisionInput: ApprovalDecisionInput;
  roles: Array<'approver' | 'admin'>;
  /** The workflow's clock when the decision arrived. */
  now: number;
}

/**
 * Authenticates an approver's decision: the proof must be signed with that principal's key for this
 * request and decision, and the principal must be active and hold an approver role.
 */
export function createVerifyApproverActivity({ db }: Pick<ActivityDependencies, 'db'>) {
  return async function verifyApprover(
    input: VerifyApproverInput,
  ): Promise<{ verified: boolean; reason?: string }> {
    const { approverId } = input.decisionInput;
    const principal = await findPrincipalCredential(db, input.tenantId, approverId);
    // The same answer for an unknown principal and a wrong key: nothing to learn by probing.
    if (!principal)
      return { verified: false, reason: `the API key does not belong to principal '${approverId}'` };
    const verdict = verifyApprovalProof({
      apiKeyHash: principal.apiKeyHash,
      workflowId: input.workflowId,
      tenantId: input.tenantId,
      decision: input.decision,
      decisionInput: input.decisionInput,
      now: input.now,
    });
    if (!verdict.valid) return { verified: false, reason: verdict.reason };
    if (principal.status !== 'active')
      return { verified: false, reason: `principal '${principal.id}' is ${principal.status}` };
    if (!input.roles.includes(principal.role as 'approver' | 'admin')) {
      return {
        verified: false,
        reason: `principal '${principal.id}' has role '${principal.role}', not ${input.roles.join(' or ')}`,
      };
    }
    return { verified: true };
  };
}
