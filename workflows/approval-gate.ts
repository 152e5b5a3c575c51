import { ApplicationFailure, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ApprovalRequirement } from '../domain/policy';
import {
  approvalDecisionInputSchema,
  type ApprovalDecision,
  type ApprovalDecisionInput,
  type ApprovalOutcome,
} from '../domain/request-messages';
import { localSteps } from './activity-options';
import { approveUpdate, denyUpdate } from './request-messages';

export type RequiredApproval = Extract<ApprovalRequirement, { required: true }>;

/**
 * The approve/deny updates of one request. The validator rejects ineligible approvers (no approver role,
 * or the requester) before anything is written to history; the handler then authenticates the decision's
 * proof against the approver's key in the store. The first recorded decision wins.
 */
export class ApprovalGate {
  private requirement: RequiredApproval | undefined;
  private waiting = false;
  outcome: ApprovalOutcome | undefined;

  constructor(private readonly tenantId: string) {
    setHandler(approveUpdate, this.decide('approved'), { validator: (input) => this.validate(input) });
    setHandler(denyUpdate, this.decide('denied'), { validator: (input) => this.validate(input) });
  }

  /** Waits for a decision or the durable timeout; a timeout counts as a denial. */
  async waitForDecision(
    requirement: RequiredApproval,
  ): Promise<{ decided: boolean; outcome: ApprovalOutcome }> {
    this.requirement = requirement;
    this.waiting = true;
    const decided = await condition(() => this.outcome !== undefined, requirement.timeoutMs);
    this.waiting = false;
    this.outcome ??= { decision: 'timed-out' };
    return { decided, outcome: this.outcome };
  }

  /**
   * Opens the gate for a separate decision (a budget override after a data-class approval): the earlier
   * outcome stays where the run recorded it, and this decision starts from none.
   */
  reopen(): void {
    this.requirement = undefined;
    this.outcome = undefined;
  }

  private validate(input: ApprovalDecisionInput): void {
    const checked = approvalDecisionInputSchema.safeParse(input);
    if (!checked.success)
      throw new Error(`invalid approval: ${checked.error.issues[0]?.message ?? 'malformed'}`);
    const requirement = this.requirement;
    if (!requirement || !this.waiting || this.outcome)
      throw new Error('this request is not waiting for approval');
    if (!requirement.approverIds.includes(checked.data.approverId)) {
      throw new Error(
        `'${checked.data.approverId}' may not approve this request (needs role ${requirement.approverRoles.join(' or ')}, and not the requester)`,
      );
    }
  }

  private decide(decision: ApprovalDecision) {
    return async (input: ApprovalDecisionInput): Promise<ApprovalOutcome> => {
      const requirement = this.requirement;
      if (!requirement) throw ApplicationFailure.nonRetryable('this request is not waiting for approval');
      const { value: verification } = await localSteps.verifyApprover({
        tenantId: this.tenantId,
        workflowId: workflowInfo().workflowId,
        decision,
        decisionInput: input,
        roles: requirement.approverRoles,
        now: Date.now(),
      });
      if (!verification.verified) {
        throw ApplicationFailure.nonRetryable(`approval refused: ${verification.reason ?? 'not verified'}`);
      }
      // Two approvers may race; the first decision recorded wins and the second learns the outcome.
      this.outcome ??= { decision, approverId: input.approverId, comment: input.comment };
      return this.outcome;
    };
  }
}
