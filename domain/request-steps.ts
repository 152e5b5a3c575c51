import { isStoredPrompt } from './content-reference';
import { microToUsd } from './cost';
import { verdictSummary, type GuardResult } from './governance-controls';
import type { PolicyDecision } from './policy';
import type { RetrievalPlan } from './retrieval-plan';
import type { RoutePlan } from './route-selection';
import type {
  AssembledPrompt,
  OutputValidation,
  RecordOutcome,
  ReservationStep,
  RetrievedChunk,
  StepStatus,
} from './step-contracts';
import type { StepName } from './step-names';

/** What each step's activity returns to the workflow. */
export interface StepValues {
  authorize: PolicyDecision;
  'plan-retrieval': RetrievalPlan;
  retrieve: RetrievedChunk[];
  'guard-input': GuardResult;
  'assemble-prompt': AssembledPrompt;
  'select-route': RoutePlan;
  'reserve-budget': ReservationStep;
  'guard-output': GuardResult;
  validate: OutputValidation;
  record: RecordOutcome;
}

/** The steps that are one activity call each; `infer` is a loop of attempts and summarised by the loop. */
export type ActivityStep = keyof StepValues & StepName;

export interface StepSummary {
  status: StepStatus;
  /** Short and content-free: it goes into history, the progress query and the audit trail. */
  detail: Record<string, unknown>;
}

const succeeded = (detail: Record<string, unknown>): StepSummary => ({ status: 'succeeded', detail });
/** A step whose activity worked but whose answer is no: denied, over budget, failed validation. */
const refused = (reason: string, detail: Record<string, unknown> = {}): StepSummary => ({
  status: 'failed',
  detail: { ...detail, reason },
});

/** Step → summary projector: how each step's result is recorded, in one table. */
export const STEP_SUMMARIES: { [Step in ActivityStep]: (value: StepValues[Step]) => StepSummary } = {
  authorize: (decision) =>
    decision.allowed
      ? succeeded({
          policyVersion: decision.policyVersion,
          principalId: decision.principalId,
          dataClass: decision.dataClass,
          approvalRequired: decision.approval.required,
        })
      : refused(decision.reason, {
          policyVersion: decision.policyVersion ?? null,
          principalId: decision.principalId ?? null,
        }),
  'plan-retrieval': (plan) =>
    succeeded({
      enabled: plan.enabled,
      topK: plan.topK,
      contextTokenBudget: plan.contextTokenBudget,
      reason: plan.reason,
      decidedBy: plan.decidedBy ?? null,
      queryClass: plan.queryClass ?? null,
    }),
  retrieve: (chunks) =>
    succeeded({
      chunks: chunks.map((chunk) => ({
        chunkId: chunk.chunkId,
        documentId: chunk.documentId,
        documentVersion: chunk.documentVersion,
        classification: chunk.classification,
        score: chunk.score,
      })),
    }),
  'guard-input': (guard) => guardSummary(guard),
  'assemble-prompt': (prompt) =>
    succeeded({
      promptVersion: prompt.promptRef,
      inputTokens: prompt.inputTokens,
      contextTokens: prompt.contextTokens,
      includedChunkIds: prompt.includedChunkIds,
      droppedChunkIds: prompt.droppedChunkIds,
      // Which stored content the request used, for the audit trail: never the text (docs/decisions/0026).
      ...(isStoredPrompt(prompt)
        ? { storedPrompt: { contentId: prompt.content.contentId, sha256: prompt.content.sha256 } }
        : {}),
    }),
  'select-route': (plan) => {
    const detail = {
      tableVersion: plan.tableVersion,
      choices: plan.choices,
      excluded: plan.excluded,
      budget: plan.budget,
    };
    return plan.candidates.length > 0 ? succeeded(detail) : refused(noRouteReason(plan), detail);
  },
  'reserve-budget': (reservation) => {
    const detail = {
      reservedUsd: microToUsd(reservation.amountMicroUsd),
      promptTokens: reservation.promptTokens,
      reservation: reservation.key ?? null,
      // Soft-limit crossings and overrides go into the audited step event; limits only, never content.
      ...(reservation.warnings?.length ? { budgetWarnings: reservation.warnings } : {}),
    };
    return reservation.admitted
      ? succeeded(detail)
      : refused(`budget exceeded: ${reservation.reason ?? 'no headroom'}`, detail);
  },
  'guard-output': (guard) =>
    guardSummary(guard, guard.restored ? { restoredPlaceholders: guard.restored.count } : {}),
  validate: (validation) => {
    const detail = { verdicts: validation.verdicts };
    return validation.passed ? succeeded(detail) : refused(validationFailureReason(validation), detail);
  },
  record: (outcome) => succeeded({ ...outcome }),
};

/** A guard step's verdicts without their content; a block is a refusal. */
function guardSummary(guard: GuardResult, extra: Record<string, unknown> = {}): StepSummary {
  const detail = { verdicts: guard.verdicts.map(verdictSummary), ...extra };
  return guard.blocked ? refused(guard.blocked.message, detail) : succeeded(detail);
}

export function noRouteReason(plan: RoutePlan): string {
  const reasons = plan.excluded.map((exclusion) => `${exclusion.routeId}: ${exclusion.reason}`).join('; ');
  return `no route can serve this request (${reasons || 'no routes for this task'})`;
}

export function validationFailureReason(validation: OutputValidation): string {
  const failed = validation.verdicts
    .filter((verdict) => !verdict.passed)
    .map((verdict) => `${verdict.check}: ${verdict.detail}`);
  return `output failed validation (${failed.join('; ')})`;
}
