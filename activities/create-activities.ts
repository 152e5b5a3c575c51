import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { ProviderErrorClass } from '../domain/classify-provider-error';
import { worstCaseCostMicroUsd, ZERO_USAGE } from '../domain/cost';
import type { DataClass } from '../domain/data-class';
import { FAILURE_TYPES } from '../domain/failure-types';
import { decideAuthorization, type PolicyDecision } from '../domain/policy';
import type { LlmRequest, PromptReference } from '../domain/request-contract';
import { planRetrieval, type RetrievalPlan } from '../domain/retrieval-plan';
import type { Route, RouteTable } from '../domain/route-table';
import { selectRoutePlan, type RoutePlan, type RouteSelectionInput } from '../domain/route-selection';
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
import { countsAgainstRoute } from '../domain/circuit-breaker';
import { claimRouteProbe, getRouteHealth, recordRouteOutcome } from '../store/route-health-repository';
import { findPrincipalByIdAndKeyHash, listPrincipalsByRole } from '../store/principal-repository';
import { buildAuditEvents } from './build-audit-events';
import { StreamRelay, type StreamPublisher } from './stream-relay';
import { timed } from './timed';

/** A failure the provider did not classify: retry it, and let another route try if it persists. */
const UNKNOWN_PROVIDER_FAILURE: ProviderErrorClass = {
  failureType: 'Inference.Unknown',
  retryable: true,
  fallback: true,
  code: 'unexpected',
};

export interface ActivityDependencies {
  /** Epoch milliseconds; injected so breaker tests control time. */
  clock: () => number;
  db: Knex;
  routeTable: RouteTable;
  providers: Partial<Record<InferenceRequest['route']['provider'], ModelProvider>>;
  tokenCounter: TokenCounter;
  /** Where streamed deltas go; without one, streaming requests are answered whole. */
  streamPublisher?: StreamPublisher;
}

/**
 * The step adapters Temporal calls. Each loads what it needs, calls a pure decision or a capability,
 * and turns known failures into typed, correctly retryable `ApplicationFailure`s.
 */
export function createActivities(deps: ActivityDependencies) {
  const { db } = deps;

  async function authorize(request: LlmRequest): Promise<PolicyDecision> {
    const tenant = await getTenant(db, request.tenantId);
    const principal = tenant
      ? await findPrincipalByKeyHash(db, request.tenantId, request.apiKeyHash)
      : undefined;
    const policy = principal ? await getLatestPolicy(db, request.tenantId) : undefined;
    const decision = decideAuthorization(request, tenant, principal, policy);
    if (!decision.allowed) {
      log.info('request denied', { tenantId: request.tenantId, reason: decision.reason });
      return decision;
    }
    if (decision.approval.required) {
      const approvers = await listPrincipalsByRole(db, request.tenantId, decision.approval.approverRoles);
      decision.approval.approverIds = approvers
        .map((approver) => approver.id)
        .filter((id) => id !== decision.principalId);
    }
    return decision;
  }

  /** Authenticates an approver: the key must belong to that principal, which must hold an approver role. */
  async function verifyApprover(input: {
    tenantId: string;
    principalId: string;
    apiKeyHash: string;
    roles: Array<'approver' | 'admin'>;
  }): Promise<{ verified: boolean; reason?: string }> {
    const principal = await findPrincipalByIdAndKeyHash(
      db,
      input.tenantId,
      input.principalId,
      input.apiKeyHash,
    );
    if (!principal)
      return { verified: false, reason: `the API key does not belong to principal '${input.principalId}'` };
    if (principal.status !== 'active')
      return { verified: false, reason: `principal '${principal.id}' is ${principal.status}` };
    if (!input.roles.includes(principal.role as 'approver' | 'admin')) {
      return {
        verified: false,
        reason: `principal '${principal.id}' has role '${principal.role}', not ${input.roles.join(' or ')}`,
      };
    }
    return { verified: true };
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
      const which = input.prompt.version
        ? `version ${input.prompt.version}`
        : `label '${input.prompt.label ?? 'production'}'`;
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
    const table = deps.routeTable;
    const now = deps.clock();
    const health = await getRouteHealth(
      db,
      table.routes.map((route) => route.id),
    );
    const plan = selectRoutePlan(table, input, health, now);
    // A half-open route is probed by one request only: whoever loses the claim skips the route.
    for (const choice of plan.choices.filter((entry) => entry.probe)) {
      if (await claimRouteProbe(db, choice.routeId, now, table.breaker)) continue;
      plan.candidates = plan.candidates.filter((route) => route.id !== choice.routeId);
      plan.choices = plan.choices.filter((entry) => entry.routeId !== choice.routeId);
      plan.excluded.push({
        routeId: choice.routeId,
        reason: 'circuit half-open, another request is probing it',
      });
    }
    return plan;
  }

  /** Prompt tokens as the costliest way of counting them says: local, or the provider's own count. */
  async function countPromptTokens(
    routes: Route[],
    prompt: InferenceRequest['prompt'],
    localCount: number,
  ): Promise<number> {
    let tokens = localCount;
    for (const route of routes.filter((candidate) => candidate.countTokensWith === 'provider')) {
      const provider = deps.providers[route.provider];
      if (!provider?.countTokens) continue;
      try {
        tokens = Math.max(tokens, await provider.countTokens({ route, prompt }));
      } catch (error) {
        // The local count still bounds the reservation; a count failure must not fail the request.
        log.warn('provider token count failed; using the local count', {
          routeId: route.id,
          error: String(error),
        });
      }
    }
    return tokens;
  }

  async function reserve(input: {
    tenantId: string;
    idempotencyKey: string;
    routeIds: string[];
    prompt: InferenceRequest['prompt'];
    promptTokens: number;
    maxOutputTokens: number;
  }): Promise<ReservationOutcome> {
    const routes = deps.routeTable.routes.filter((route) => input.routeIds.includes(route.id));
    const promptTokens = await countPromptTokens(routes, input.prompt, input.promptTokens);
    const amountMicroUsd = worstCaseCostMicroUsd(routes, promptTokens, input.maxOutputTokens);
    const outcome = await reserveBudget(db, {
      tenantId: input.tenantId,
      idempotencyKey: input.idempotencyKey,
      amountMicroUsd,
    });
    const base = { idempotencyKey: input.idempotencyKey, amountMicroUsd, promptTokens };
    return outcome.admitted
      ? { ...base, admitted: true }
      : { ...base, admitted: false, reason: outcome.reason };
  }

  async function infer(request: InferenceRequest): Promise<InferenceResponse> {
    const started = performance.now();
    const relay =
      request.stream && deps.streamPublisher
        ? new StreamRelay(deps.streamPublisher, request.workflowId, request.attempt)
        : undefined;
    const failureDetails = (usage = ZERO_USAGE): InferenceFailureDetails => ({
      usage,
      latencyMs: performance.now() - started,
      deliveredDeltas: relay?.delivered ?? 0,
      timeToFirstTokenMs: relay?.firstDeltaAt === undefined ? undefined : relay.firstDeltaAt - started,
    });
    const provider = deps.providers[request.route.provider];
    if (!provider) {
      throw ApplicationFailure.create({
        message: `no '${request.route.provider}' provider is configured on this worker (route '${request.route.id}')`,
        type: FAILURE_TYPES.inferenceProviderError,
        nonRetryable: true,
        details: [
          failureDetails(),
          { failureType: 'Inference.NotConfigured', retryable: false, fallback: true, code: 'no-provider' },
        ],
      });
    }
    const breaker = deps.routeTable.breaker;
    try {
      const response = await provider.generate(request, {
        onDelta: relay ? (text) => relay.push(text) : undefined,
        signal: Context.current().cancellationSignal,
      });
      await relay?.close();
      await recordRouteOutcome(db, request.route.id, { kind: 'success' }, deps.clock(), breaker);
      return {
        ...response,
        // The whole call as this worker saw it, not just the provider's own accounting.
        latencyMs: performance.now() - started,
        timeToFirstTokenMs:
          relay?.firstDeltaAt === undefined ? response.timeToFirstTokenMs : relay.firstDeltaAt - started,
      };
    } catch (error) {
      await relay?.close().catch(() => undefined);
      const classification = error instanceof ProviderError ? error.classification : UNKNOWN_PROVIDER_FAILURE;
      // Only failures that say something about the route's health count against its circuit.
      if (countsAgainstRoute(classification.failureType)) {
        await recordRouteOutcome(db, request.route.id, { kind: 'failure' }, deps.clock(), breaker);
      }
      throw ApplicationFailure.create({
        message: (error as Error).message,
        type: classification.failureType,
        nonRetryable: !classification.retryable,
        details: [
          failureDetails(error instanceof ProviderError ? error.partialUsage : undefined),
          classification,
        ],
        nextRetryDelay: classification.nextRetryDelayMs,
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
    verifyApprover: timed(verifyApprover),
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
