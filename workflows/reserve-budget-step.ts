import { patched } from '@temporalio/workflow';
import type { ReserveBudgetInput } from '../activities/reserve-budget';
import { FAILURE_TYPES } from '../domain/failure-types';
import type { PolicyDecision } from '../domain/policy';
import type { ReservationStep } from '../domain/step-contracts';
import { localSteps } from './activity-options';
import type { ApprovalGate } from './approval-gate';
import { fail, type RequestRun } from './request-run';

/** Histories from before budget overrides never waited for one; the marker keeps them replaying. */
export const BUDGET_OVERRIDE_PATCH = 'budget-override-approval';

type Authorized = Extract<PolicyDecision, { allowed: true }>;

/**
 * Step 6: reserves the attempt budget. A refusal by window hard limits that allow an override (and only
 * those, never the tenant's budget row) waits for one approver's decision, with the policy's approver
 * roles and timeout; approved, the reservation is made once more past those limits and the override is
 * audited with the approver's id in the step's event. Otherwise the request ends `FAILURE_TYPES.budgetExceeded`,
 * or `FAILURE_TYPES.rateLimitExceeded` where the tenant's minute is full (before or after the wait).
 */
export async function reserveBudgetStep(
  run: RequestRun,
  approvals: ApprovalGate,
  authorization: Authorized,
  input: ReserveBudgetInput,
): Promise<ReservationStep> {
  const reservation = await run.step('reserve-budget', () =>
    localSteps.reserveBudget({
      ...input,
      overrideApprovers: {
        roles: authorization.dataClassRules.approverRoles,
        requesterId: authorization.principalId,
      },
    }),
  );
  if (reservation.admitted) return reservation;
  const reason = reservation.reason ?? 'no headroom';
  if (reservation.rateLimitedForMs !== undefined) {
    // Refused at once rather than held on a timer: the caller sees the backpressure (decision 0021).
    fail(
      FAILURE_TYPES.rateLimitExceeded,
      'reserve-budget',
      `rate limited: ${reason}; retry in ${Math.ceil(reservation.rateLimitedForMs / 1000)} s`,
    );
  }
  const approverIds = reservation.approverIds ?? [];
  if (!reservation.overridable || approverIds.length === 0 || !patched(BUDGET_OVERRIDE_PATCH)) {
    fail(FAILURE_TYPES.budgetExceeded, 'reserve-budget', `budget exceeded: ${reason}`);
  }
  approvals.reopen();
  run.setOutcome('awaiting-approval');
  const { decided, outcome } = await approvals.waitForDecision({
    required: true,
    reason: `a budget hard limit needs an approver's override: ${reason}`,
    timeoutMs: authorization.dataClassRules.approvalTimeoutMs,
    approverRoles: authorization.dataClassRules.approverRoles,
    approverIds,
  });
  run.facts.approval = outcome;
  run.setOutcome('running');
  if (!decided || outcome.decision !== 'approved' || outcome.approverId === undefined) {
    fail(
      FAILURE_TYPES.budgetExceeded,
      'reserve-budget',
      `budget exceeded: ${reason}; the override was ${decided ? `denied by '${outcome.approverId}'` : 'not decided in time'}`,
    );
  }
  // Logged as attempt 1: the loop's own top-ups are attempts 2 and later.
  const overridden = await run.step(
    'reserve-budget',
    () => localSteps.reserveBudget({ ...input, overrideApprovedBy: outcome.approverId }),
    1,
  );
  if (!overridden.admitted && overridden.rateLimitedForMs !== undefined) {
    // The wait for an approver can outlast the minute; a full next minute is backpressure, not budget.
    fail(
      FAILURE_TYPES.rateLimitExceeded,
      'reserve-budget',
      `rate limited after the override: ${overridden.reason ?? 'no headroom'}; retry in ${Math.ceil(overridden.rateLimitedForMs / 1000)} s`,
    );
  }
  if (!overridden.admitted) {
    fail(
      FAILURE_TYPES.budgetExceeded,
      'reserve-budget',
      `budget exceeded despite the override: ${overridden.reason ?? 'no headroom'}`,
    );
  }
  return overridden;
}
