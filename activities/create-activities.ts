import { ApplicationFailure, log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { worstCaseCostMicroUsd } from '../domain/cost';
import type { DataClass } from '../domain/data-class';
import { FAILURE_TYPES } from '../domain/failure-types';
import { decideAuthorization, type PolicyDecision } from '../domain/policy';
import type { LlmRequest, PromptReference } from '../domain/request-contract';
import { planRetrieval, type RetrievalPlan } from '../domain/retrieval-plan';
import { selectRoutePlan, type RoutePlan, type RouteSelectionInput, type RouteTable } from '../domain/route-table';
import type {
  AssembledPrompt,
  InferenceFailureDetails,
  InferenceRequest,
  InferenceResponse,
  RecordInput,
  RecordOutcome,
  ReservationOutcome,
  RetrievedChunk,
} from '../domain/step-contracts';
import { assemblePrompt, ContextBudgetError } from '../governance/assemble-prompt';
import { validateOutput, type OutputValidation } from '../governance/validate-output';
import { ProviderError, type ModelProvider } from '../providers/model-provider';
import type { TokenCounter } from '../providers/token-counter';
import { appendAuditEvents } from '../store/audit-repository';
import { reserveBudget, settleReservation } from '../store/budget-repository';
import { searchChunks } from '../store/document-repository';
import { getLatestPolicy } from '../store/policy-repository';
import { findPrincipalByKeyHash } from '../store/principal-repository';
import { resolvePrompt } from '../store/prompt-repository';
import { getTenant } from '../store/tenant-repository';
import { recordUsage } from '../store/usage-repository';
import { buildAuditEvents } from './build-audit-events';
import { timed } from './timed';

export interface ActivityDependencies {
  db: Knex;
  routeTable: RouteTable;
  providers: Partial<Record<InferenceRequest['route']['provider'], ModelProvider>>;
  tokenCounter: TokenCounter;
}

/**
 * The step adapters Temporal calls. Each loads what it needs, calls a pure decision or a capability,
 * and turns known failures into typed, correctly retryable `ApplicationFailure`s.
 */
export function createActivities(deps: ActivityDependencies) {
  const { db } = deps;

  async function authorize(request: LlmRequest): Promise<PolicyDecision> {
    const tenant = await getTenant(db, request.tenantId);
    const principal = tenant ? await findPrincipalByKeyHash(db, request.tenantId, request.apiKeyHash) : undefined;
    const policy = principal ? await getLatestPolicy(db, request.tenantId) : undefined;
    const decision = decideAuthorization(request, tenant, principal, policy);
    if (!decision.allowed) log.info('request denied', { tenantId: request.tenantId, reason: decision.reason });
    return decision;
  }

  async function planRetrievalStep(
    request: Pick<LlmRequest, 'taskType' | 'question'>,
    decision: Extract<PolicyDecision, { allowed: true }>,
  ): Promise<RetrievalPlan> {
    return planRetrieval(request, decision);
  }

  async function retrieve(input: {
    tenantId: string;
    query: string;
    groups: string[];
    clearance: DataClass;
    topK: number;
  }): Promise<RetrievedChunk[]> {
    return searchChunks(db, input);
  }

  async function assemble(input: {
    tenantId: string;
    prompt: PromptReference;
    question: string;
    chunks: RetrievedChunk[];
    contextTokenBudget: number;
    maxOutputTokens: number;
  }): Promise<AssembledPrompt> {
    const template = await resolvePrompt(db, { tenantId: input.tenantId, ...input.prompt });
    if (!template) {
      const which = input.prompt.version ? `version ${input.prompt.version}` : `label '${input.prompt.label ?? 'production'}'`;
      throw ApplicationFailure.nonRetryable(
        `prompt '${input.prompt.name}' ${which} does not exist for tenant '${input.tenantId}'`,
        FAILURE_TYPES.promptNotFound,
      );
    }
    const largestWindow = Math.max(...deps.routeTable.routes.map((route) => route.contextWindowTokens));
    try {
      return assemblePrompt({
        template,
        question: input.question,
        chunks: input.chunks,
        contextTokenBudget: input.contextTokenBudget,
        maxPromptTokens: largestWindow - input.maxOutputTokens,
        tokenCounter: deps.tokenCounter,
      });
    } catch (error) {
      if (error instanceof ContextBudgetError) {
        throw ApplicationFailure.nonRetryable(error.message, FAILURE_TYPES.contextBudgetExceeded);
      }
      throw error;
    }
  }

  async function selectRoute(input: RouteSelectionInput): Promise<RoutePlan> {
    return selectRoutePlan(deps.routeTable, input);
  }

  async function reserve(input: {
    tenantId: string;
    idempotencyKey: string;
    routeIds: string[];
    promptTokens: number;
    maxOutputTokens: number;
  }): Promise<ReservationOutcome> {
    const routes = deps.routeTable.routes.filter((route) => input.routeIds.includes(route.id));
    const amountMicroUsd = worstCaseCostMicroUsd(routes, input.promptTokens, input.maxOutputTokens);
    const outcome = await reserveBudget(db, {
      tenantId: input.tenantId,
      idempotencyKey: input.idempotencyKey,
      amountMicroUsd,
    });
    return outcome.admitted
      ? { admitted: true, idempotencyKey: input.idempotencyKey, amountMicroUsd }
      : { admitted: false, idempotencyKey: input.idempotencyKey, amountMicroUsd, reason: outcome.reason };
  }

  async function infer(request: InferenceRequest): Promise<InferenceResponse> {
    const provider = deps.providers[request.route.provider];
    if (!provider) {
      throw ApplicationFailure.create({
        message: `no '${request.route.provider}' provider is configured on this worker (route '${request.route.id}')`,
        type: FAILURE_TYPES.inferenceProviderError,
        nonRetryable: true,
        details: [{ usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }, latencyMs: 0 }],
      });
    }
    const started = performance.now();
    try {
      return await provider.generate(request);
    } catch (error) {
      const details: InferenceFailureDetails = {
        usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
        latencyMs: performance.now() - started,
      };
      if (error instanceof ProviderError) {
        const { classification } = error;
        throw ApplicationFailure.create({
          message: error.message,
          type: classification.failureType,
          nonRetryable: !classification.retryable,
          details: [{ ...details, usage: error.partialUsage ?? details.usage }, classification],
          nextRetryDelay: classification.nextRetryDelayMs,
        });
      }
      throw ApplicationFailure.create({
        message: (error as Error).message,
        type: FAILURE_TYPES.inferenceProviderError,
        details: [details, 'unexpected'],
      });
    }
  }

  async function validate(input: {
    text: string;
    citedDocumentIds: string[];
    retrievedDocumentIds: string[];
    outputSchema?: Record<string, unknown>;
  }): Promise<OutputValidation> {
    return validateOutput(input);
  }

  async function record(input: RecordInput): Promise<RecordOutcome> {
    const auditEventsAppended = await appendAuditEvents(db, buildAuditEvents(input));
    const ledgerRows = input.attempts.map((attempt) => ({
      tenantId: input.tenantId,
      workflowId: input.workflowId,
      executionId: input.executionId,
      attempt: attempt.attempt,
      routeId: attempt.routeId,
      provider: attempt.provider,
      model: attempt.model,
      inputTokens: attempt.usage.inputTokens,
      outputTokens: attempt.usage.outputTokens,
      cacheReadTokens: attempt.usage.cacheReadTokens,
      cacheWriteTokens: attempt.usage.cacheWriteTokens,
      costMicroUsd: attempt.costMicroUsd,
      outcome: attempt.outcome,
      failureType: attempt.failureType ?? null,
    }));
    const ledgerRowsRecorded = await recordUsage(db, ledgerRows);
    let reservation = 'none';
    if (input.reservationKey) {
      const settled = await settleReservation(db, input.reservationKey, input.costMicroUsd);
      reservation = settled.state;
    }
    return { auditEventsAppended, ledgerRowsRecorded, reservation };
  }

  return {
    authorize: timed(authorize),
    planRetrieval: timed(planRetrievalStep),
    retrieve: timed(retrieve),
    assemblePrompt: timed(assemble),
    selectRoute: timed(selectRoute),
    reserveBudget: timed(reserve),
    infer: timed(infer),
    validate: timed(validate),
    record: timed(record),
  };
}

export type GatehouseActivities = ReturnType<typeof createActivities>;
