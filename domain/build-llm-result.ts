import { addUsage, microToUsd, ZERO_USAGE, type TokenUsage } from './cost';
import type { GuardrailVerdict } from './guardrail-verdict';
import type { PolicyDecision } from './policy';
import type { ApprovalOutcome } from './request-messages';
import type { LlmRequest } from './request-contract';
import type { RetrievalPlan } from './retrieval-plan';
import type { RoutePlan } from './route-selection';
import type { Route } from './route-table';
import type {
  AssembledPrompt,
  DataClassView,
  FallbackRecord,
  InferenceAttempt,
  InferenceResponse,
  LlmResult,
  OutputValidation,
  RetrievedChunk,
} from './step-contracts';
import type { StepName } from './step-names';

export function sumAttemptCosts(attempts: ReadonlyArray<Pick<InferenceAttempt, 'costMicroUsd'>>): number {
  return attempts.reduce((total, attempt) => total + attempt.costMicroUsd, 0);
}

/** The caller's answer, assembled from what the steps returned. Pure. */
export function buildLlmResult(input: {
  workflowId: string;
  runId: string;
  request: LlmRequest;
  authorization: Extract<PolicyDecision, { allowed: true }>;
  retrievalPlan: RetrievalPlan;
  chunks: RetrievedChunk[];
  prompt: AssembledPrompt;
  routePlan: RoutePlan;
  route: Route;
  response: InferenceResponse;
  attempts: InferenceAttempt[];
  fallbacks: FallbackRecord[];
  validation: OutputValidation;
  guardrailVerdicts: GuardrailVerdict[];
  approval?: ApprovalOutcome;
  dataClass: DataClassView;
  timings: Partial<Record<StepName, number>>;
}): LlmResult {
  const chunkOfDocument = new Map(input.chunks.map((chunk) => [chunk.documentId, chunk]));
  const usage = input.attempts.reduce<TokenUsage>(
    (total, attempt) => addUsage(total, attempt.usage),
    ZERO_USAGE,
  );
  const { route, response } = input;
  return {
    workflowId: input.workflowId,
    runId: input.runId,
    tenantId: input.request.tenantId,
    requestId: input.request.requestId,
    output: response.text,
    json: input.validation.json,
    citations: response.citedDocumentIds.map((documentId) => {
      const chunk = chunkOfDocument.get(documentId);
      return { documentId, documentVersion: chunk?.documentVersion ?? 0, title: chunk?.title ?? documentId };
    }),
    usage,
    costUsd: microToUsd(sumAttemptCosts(input.attempts)),
    route: { id: route.id, provider: route.provider, model: route.model, label: route.label },
    attempts: input.attempts,
    fallbacks: input.fallbacks,
    routePlan: {
      tableVersion: input.routePlan.tableVersion,
      choices: input.routePlan.choices,
      excluded: input.routePlan.excluded,
    },
    retrievalPlan: input.retrievalPlan,
    promptVersion: input.prompt.promptRef,
    policyVersion: input.authorization.policyVersion,
    approval: input.approval,
    dataClass: input.dataClass,
    verdicts: input.validation.verdicts,
    guardrailVerdicts: input.guardrailVerdicts,
    streamed: input.request.stream,
    timeToFirstTokenMs: response.timeToFirstTokenMs,
    timings: input.timings,
  };
}
