import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { GatehouseActivities } from '../activities/create-activities';
import { addUsage, microToUsd, usageCostMicroUsd, ZERO_USAGE, type TokenUsage } from '../domain/cost';
import { FAILURE_TYPES, isFailureType, type FailureType } from '../domain/failure-types';
import type { LoggingMode, PolicyDecision } from '../domain/policy';
import { llmRequestSchema, type LlmRequest } from '../domain/request-contract';
import type { RetrievalPlan } from '../domain/retrieval-plan';
import type { Route, RoutePlan } from '../domain/route-table';
import { SEARCH_ATTRIBUTE_KEYS, type RequestOutcome } from '../domain/search-attribute-keys';
import type {
  AssembledPrompt,
  InferenceAttempt,
  InferenceFailureDetails,
  InferenceResponse,
  LlmResult,
  RequestFailure,
  RequestProgress,
  RetrievedChunk,
  StepLog,
  Timed,
} from '../domain/step-contracts';
import type { StepName } from '../domain/step-names';

export const progressQuery = defineQuery<RequestProgress>('progress');

/** Cheap steps with no long I/O run as local activities: no task-queue round trip per step. */
const localSteps = proxyLocalActivities<GatehouseActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '50ms', backoffCoefficient: 2, maximumInterval: '1s' },
});

const retrievalSteps = proxyActivities<GatehouseActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/** Recording must not be lost: it keeps retrying through a database outage of a few minutes. */
const recordSteps = proxyActivities<GatehouseActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 40, initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/** A failure the workflow decided on, or one an activity reported; always ends as ApplicationFailure. */
class RequestFailed extends Error {
  constructor(readonly failure: RequestFailure) {
    super(failure.message);
    this.name = 'RequestFailed';
  }
}

function failureOf(step: StepName, error: unknown): RequestFailure {
  if (error instanceof RequestFailed) return error.failure;
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && isFailureType(cause.type)) {
    return { type: cause.type, step, message: cause.message };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { type: FAILURE_TYPES.internal, step, message: `step '${step}' failed: ${message}` };
}

/**
 * One LLM request, end to end (DESIGN.md §1). The only place that decides what happens next; every step
 * is an activity so it is durable, retried by Temporal and visible in history.
 */
export async function llmRequestWorkflow(rawRequest: LlmRequest): Promise<LlmResult> {
  const parsed = llmRequestSchema.safeParse(rawRequest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(
      `invalid request: ${issue ? `${issue.path.join('.') || 'request'}: ${issue.message}` : 'unknown problem'}`,
      FAILURE_TYPES.requestInvalid,
    );
  }
  const request = parsed.data;
  const info = workflowInfo();
  // Stable across Reset and continue-as-new, unlike the run id: side effects are keyed by it.
  const executionId = info.firstExecutionRunId;

  const steps: StepLog[] = [];
  let currentStep: StepName | 'done' = 'authorize';
  let outcome: RequestProgress['outcome'] = 'running';
  let failure: RequestFailure | undefined;
  setHandler(progressQuery, () => ({ currentStep, outcome, steps: [...steps], failure }));

  const setOutcome = (value: RequestOutcome) =>
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.outcome, value }]);
  setOutcome('running');

  async function runStep<T>(
    step: StepName,
    run: () => Promise<Timed<T>>,
    summarize: (value: T) => Record<string, unknown>,
  ): Promise<T> {
    currentStep = step;
    const started = Date.now();
    try {
      const { value, elapsedMs } = await run();
      steps.push({ step, status: 'succeeded', elapsedMs, detail: summarize(value) });
      return value;
    } catch (error) {
      const stepFailure = failureOf(step, error);
      steps.push({ step, status: 'failed', elapsedMs: Date.now() - started, detail: { failureType: stepFailure.type } });
      throw new RequestFailed(stepFailure);
    }
  }

  const fail = (type: FailureType, step: StepName, message: string): never => {
    throw new RequestFailed({ type, step, message });
  };

  let decision: Extract<PolicyDecision, { allowed: true }> | undefined;
  let principalId: string | undefined;
  let policyVersion: number | undefined;
  let logging: LoggingMode = 'hash';
  let prompt: AssembledPrompt | undefined;
  let reservationKey: string | undefined;
  const attempts: InferenceAttempt[] = [];
  let output: string | undefined;

  try {
    const authorization = await runStep(
      'authorize',
      () => localSteps.authorize(request),
      (value) => ({ allowed: value.allowed, policyVersion: value.policyVersion ?? null, reason: value.allowed ? null : value.reason }),
    );
    principalId = authorization.principalId;
    policyVersion = authorization.policyVersion;
    if (!authorization.allowed) return fail(FAILURE_TYPES.policyDenied, 'authorize', authorization.reason);
    decision = authorization;
    logging = decision.logging;

    const plan: RetrievalPlan = await runStep(
      'plan-retrieval',
      () => localSteps.planRetrieval({ taskType: request.taskType, question: request.question }, authorization),
      (value) => ({ enabled: value.enabled, topK: value.topK, contextTokenBudget: value.contextTokenBudget, reason: value.reason }),
    );

    let chunks: RetrievedChunk[] = [];
    if (plan.enabled) {
      chunks = await runStep(
        'retrieve',
        () =>
          retrievalSteps.retrieve({
            tenantId: request.tenantId,
            query: plan.query,
            groups: authorization.groups,
            clearance: authorization.clearance,
            topK: plan.topK,
          }),
        (value) => ({
          chunks: value.map((chunk) => ({ chunkId: chunk.chunkId, documentId: chunk.documentId, documentVersion: chunk.documentVersion, score: chunk.score })),
        }),
      );
    } else {
      steps.push({ step: 'retrieve', status: 'skipped', elapsedMs: 0, detail: { reason: plan.reason } });
    }

    prompt = await runStep(
      'assemble-prompt',
      () =>
        localSteps.assemblePrompt({
          tenantId: request.tenantId,
          prompt: authorization.prompt,
          question: request.question,
          chunks,
          contextTokenBudget: plan.contextTokenBudget,
          maxOutputTokens: authorization.maxOutputTokens,
        }),
      (value) => ({
        promptVersion: value.promptRef,
        inputTokens: value.inputTokens,
        contextTokens: value.contextTokens,
        includedChunkIds: value.includedChunkIds,
        droppedChunkIds: value.droppedChunkIds,
      }),
    );
    const assembled = prompt;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.promptVersion, value: assembled.promptRef }]);

    const routePlan: RoutePlan = await runStep(
      'select-route',
      () =>
        localSteps.selectRoute({
          taskType: request.taskType,
          dataClass: request.dataClass,
          allowedRoutes: authorization.allowedRoutes,
          promptTokens: assembled.inputTokens,
          maxOutputTokens: authorization.maxOutputTokens,
        }),
      (value) => ({
        tableVersion: value.tableVersion,
        candidates: value.candidates.map((route) => route.id),
        excluded: value.excluded,
      }),
    );
    if (routePlan.candidates.length === 0) {
      const reasons = routePlan.excluded.map((exclusion) => `${exclusion.routeId}: ${exclusion.reason}`).join('; ');
      fail(FAILURE_TYPES.routeUnavailable, 'select-route', `no route can serve this request (${reasons || 'no routes for this task'})`);
    }

    // Known before the step runs, so even a reservation whose reply was lost is settled by `record`.
    reservationKey = `${info.workflowId}/${executionId}/reserve-budget`;
    const idempotencyKey = reservationKey;
    const reservation = await runStep(
      'reserve-budget',
      () =>
        localSteps.reserveBudget({
          tenantId: request.tenantId,
          idempotencyKey,
          routeIds: routePlan.candidates.map((route) => route.id),
          promptTokens: assembled.inputTokens,
          maxOutputTokens: authorization.maxOutputTokens,
        }),
      (value) => ({ admitted: value.admitted, reservedUsd: microToUsd(value.amountMicroUsd), reason: value.reason ?? null }),
    );
    if (!reservation.admitted) {
      fail(FAILURE_TYPES.budgetExceeded, 'reserve-budget', `budget exceeded: ${reservation.reason ?? 'no headroom'}`);
    }

    currentStep = 'infer';
    const inferStarted = Date.now();
    const inference = await inferOverRoutes({
      request,
      executionId,
      routes: routePlan.candidates,
      prompt: assembled,
      chunks,
      maxOutputTokens: authorization.maxOutputTokens,
      attempts,
    });
    const usage = attempts.reduce<TokenUsage>((total, attempt) => addUsage(total, attempt.usage), ZERO_USAGE);
    const costMicroUsd = attempts.reduce((total, attempt) => total + attempt.costMicroUsd, 0);
    steps.push({
      step: 'infer',
      status: inference ? 'succeeded' : 'failed',
      elapsedMs: Date.now() - inferStarted,
      detail: { attempts: attempts.length, routeId: inference?.route.id ?? null, costUsd: microToUsd(costMicroUsd) },
    });
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.costUsd, value: microToUsd(costMicroUsd) }]);
    if (!inference) {
      const summary = attempts.map((attempt) => `#${attempt.attempt} ${attempt.routeId}: ${attempt.message ?? attempt.failureType}`).join('; ');
      return fail(FAILURE_TYPES.inferenceExhausted, 'infer', `every route failed (${summary})`);
    }
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.route, value: inference.route.id }]);
    output = inference.response.text;

    const chunkDocuments = new Map(chunks.map((chunk) => [chunk.documentId, chunk]));
    const validation = await runStep(
      'validate',
      () =>
        localSteps.validate({
          text: inference.response.text,
          citedDocumentIds: inference.response.citedDocumentIds,
          retrievedDocumentIds: [...chunkDocuments.keys()],
          outputSchema: request.outputSchema,
        }),
      (value) => ({ passed: value.passed, verdicts: value.verdicts }),
    );
    if (!validation.passed) {
      const failed = validation.verdicts.filter((verdict) => !verdict.passed).map((verdict) => `${verdict.check}: ${verdict.detail}`);
      fail(FAILURE_TYPES.validationFailed, 'validate', `output failed validation (${failed.join('; ')})`);
    }

    await record(undefined, costMicroUsd);
    outcome = 'succeeded';
    currentStep = 'done';
    setOutcome('succeeded');
    const timings: LlmResult['timings'] = {};
    for (const entry of steps) {
      if (entry.status !== 'skipped') timings[entry.step] = (timings[entry.step] ?? 0) + entry.elapsedMs;
    }
    return {
      workflowId: info.workflowId,
      tenantId: request.tenantId,
      requestId: request.requestId,
      output: inference.response.text,
      json: validation.json,
      citations: inference.response.citedDocumentIds.map((documentId) => {
        const chunk = chunkDocuments.get(documentId);
        return { documentId, documentVersion: chunk?.documentVersion ?? 0, title: chunk?.title ?? documentId };
      }),
      usage,
      costUsd: microToUsd(costMicroUsd),
      route: { id: inference.route.id, provider: inference.route.provider, model: inference.route.model, label: inference.route.label },
      attempts,
      routePlan: {
        tableVersion: routePlan.tableVersion,
        candidates: routePlan.candidates.map((route) => route.id),
        excluded: routePlan.excluded,
      },
      retrievalPlan: plan,
      promptVersion: assembled.promptRef,
      policyVersion: authorization.policyVersion,
      verdicts: validation.verdicts,
      timings,
    };
  } catch (error) {
    const cancelled = isCancellation(error);
    failure = cancelled
      ? { type: FAILURE_TYPES.cancelled, step: currentStep === 'done' ? 'record' : currentStep, message: 'the request was cancelled' }
      : failureOf(currentStep === 'done' ? 'record' : currentStep, error);
    outcome = 'failed';
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'failed' },
      { key: SEARCH_ATTRIBUTE_KEYS.failedStep, value: failure.step },
    ]);
    const costMicroUsd = attempts.reduce((total, attempt) => total + attempt.costMicroUsd, 0);
    const finalFailure = failure;
    try {
      // Recording a failure must finish even when the request itself was cancelled.
      await CancellationScope.nonCancellable(() => record(finalFailure, costMicroUsd));
    } catch (recordError) {
      log.error('recording the failed request failed', { error: String(recordError) });
    }
    currentStep = 'done';
    throw ApplicationFailure.create({
      message: finalFailure.message,
      type: finalFailure.type,
      nonRetryable: true,
      details: [{ step: finalFailure.step, attempts }],
    });
  }

  async function record(requestFailure: RequestFailure | undefined, costMicroUsd: number): Promise<StepLog> {
    currentStep = 'record';
    const result = await recordSteps.record({
      workflowId: info.workflowId,
      executionId,
      tenantId: request.tenantId,
      requestId: request.requestId,
      principalId,
      taskType: request.taskType,
      dataClass: request.dataClass,
      policyVersion,
      promptRef: prompt?.promptRef,
      logging,
      question: request.question,
      output,
      steps,
      attempts,
      reservationKey,
      costMicroUsd,
      failure: requestFailure,
    });
    const entry: StepLog = {
      step: 'record',
      status: 'succeeded',
      elapsedMs: result.elapsedMs,
      detail: { ...result.value },
    };
    steps.push(entry);
    return entry;
  }
}

interface InferenceSuccess {
  route: Route;
  response: InferenceResponse;
}

/**
 * The attempt loop: each route is tried up to its retry policy's attempts with explicit backoff (or the
 * provider's Retry-After), then the next route takes over. Every attempt, failed ones too, is recorded
 * with its tokens and cost; a non-retryable failure moves straight on to the next route.
 */
async function inferOverRoutes(options: {
  request: LlmRequest;
  executionId: string;
  routes: Route[];
  prompt: AssembledPrompt;
  chunks: RetrievedChunk[];
  maxOutputTokens: number;
  attempts: InferenceAttempt[];
}): Promise<InferenceSuccess | undefined> {
  const { request, routes, attempts } = options;
  const info = workflowInfo();
  for (const route of routes) {
    const routeActivities = proxyActivities<GatehouseActivities>({
      taskQueue: route.taskQueue,
      startToCloseTimeout: route.timeoutMs,
      // Without a worker on the route's queue the attempt must still end, so the next route can run.
      scheduleToCloseTimeout: route.timeoutMs + 30_000,
      // The loop below owns retries so that each attempt is seen, costed and audited.
      retry: { maximumAttempts: 1, initialInterval: route.retry.initialIntervalMs },
    });
    for (let routeAttempt = 1; routeAttempt <= route.retry.maximumAttempts; routeAttempt++) {
      const attempt = attempts.length + 1;
      const started = Date.now();
      try {
        const { value: response } = await routeActivities.infer({
          workflowId: info.workflowId,
          executionId: options.executionId,
          tenantId: request.tenantId,
          attempt,
          route,
          prompt: { system: options.prompt.system, user: options.prompt.user },
          question: request.question,
          chunks: options.chunks,
          maxOutputTokens: Math.min(options.maxOutputTokens, route.maxOutputTokens),
          responseFormat: request.outputSchema ? 'json' : 'text',
        });
        attempts.push({
          attempt,
          routeId: route.id,
          provider: route.provider,
          model: route.model,
          outcome: 'succeeded',
          usage: response.usage,
          costMicroUsd: usageCostMicroUsd(route, response.usage),
          latencyMs: response.latencyMs,
        });
        return { route, response };
      } catch (error) {
        if (isCancellation(error)) throw error;
        const cause = error instanceof ActivityFailure ? error.cause : undefined;
        const application = cause instanceof ApplicationFailure ? cause : undefined;
        const details = application?.details?.[0] as Partial<InferenceFailureDetails> | undefined;
        const usage = details?.usage ?? ZERO_USAGE;
        attempts.push({
          attempt,
          routeId: route.id,
          provider: route.provider,
          model: route.model,
          outcome: 'failed',
          failureType: application?.type ?? cause?.name ?? 'Unknown',
          message: cause?.message ?? String(error),
          usage,
          costMicroUsd: usageCostMicroUsd(route, usage),
          latencyMs: details?.latencyMs ?? Date.now() - started,
        });
        if (application?.nonRetryable) break;
        if (routeAttempt < route.retry.maximumAttempts) {
          const backoff = Math.min(
            route.retry.initialIntervalMs * route.retry.backoffCoefficient ** (routeAttempt - 1),
            route.retry.maximumIntervalMs,
          );
          const retryAfter = application?.nextRetryDelay;
          await sleep(retryAfter ?? backoff);
        }
      }
    }
  }
  return undefined;
}
