import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { GatehouseActivities } from '../activities/create-activities';
import { addUsage, microToUsd, usdToMicro, ZERO_USAGE, type TokenUsage } from '../domain/cost';
import { FAILURE_TYPES, isFailureType, type FailureType } from '../domain/failure-types';
import type { LoggingMode } from '../domain/policy';
import { llmRequestSchema, type LlmRequest } from '../domain/request-contract';
import type { ApprovalOutcome } from '../domain/request-messages';
import type { RetrievalPlan } from '../domain/retrieval-plan';
import type { RoutePlan } from '../domain/route-selection';
import { SEARCH_ATTRIBUTE_KEYS, type RequestOutcome } from '../domain/search-attribute-keys';
import type {
  AssembledPrompt,
  FallbackRecord,
  InferenceAttempt,
  LlmResult,
  RequestFailure,
  RequestProgress,
  RetrievedChunk,
  StepLog,
  Timed,
} from '../domain/step-contracts';
import type { StepName } from '../domain/step-names';
import { ApprovalGate } from './approval-gate';
import { inferOverRoutes } from './infer-over-routes';
import { parseWorkflowInput } from './parse-workflow-input';
import { approveUpdate, denyUpdate, progressQuery, streamDeltaSignal, streamQuery } from './request-messages';

export { approveUpdate, denyUpdate, progressQuery, streamDeltaSignal, streamQuery };

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

const sumCost = (attempts: InferenceAttempt[]) =>
  attempts.reduce((total, attempt) => total + attempt.costMicroUsd, 0);

/**
 * One LLM request, end to end (DESIGN.md §1). The only place that decides what happens next; every step
 * is an activity so it is durable, retried by Temporal and visible in history.
 */
export async function llmRequestWorkflow(rawRequest: LlmRequest): Promise<LlmResult> {
  const request = parseWorkflowInput(llmRequestSchema, rawRequest, 'request');
  const info = workflowInfo();
  // Stable across Reset and continue-as-new, unlike the run id: side effects are keyed by it.
  const executionId = info.firstExecutionRunId;

  const steps: StepLog[] = [];
  let currentStep: StepName | 'done' = 'authorize';
  let outcome: RequestProgress['outcome'] = 'running';
  let failure: RequestFailure | undefined;
  setHandler(progressQuery, () => ({ currentStep, outcome, steps: [...steps], failure }));

  // Streaming: delta batches arrive as signals from the inference activity; callers poll the query.
  let streamAttempt: number | undefined;
  let streamText = '';
  let nextStreamSeq = 0;
  setHandler(streamDeltaSignal, (delta) => {
    // The first attempt to deliver text owns the stream; batches arrive in order, duplicates are dropped.
    if (streamAttempt !== undefined && delta.attempt !== streamAttempt) return;
    if (delta.seq !== nextStreamSeq) return;
    streamAttempt = delta.attempt;
    streamText += delta.text;
    nextStreamSeq += 1;
  });
  setHandler(streamQuery, () => ({
    attempt: streamAttempt,
    text: streamText,
    done: outcome === 'succeeded' || outcome === 'failed',
    outcome: outcome === 'awaiting-approval' ? 'running' : outcome,
  }));

  const setOutcome = (value: RequestOutcome) =>
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.outcome, value }]);
  setOutcome('running');

  const approvalGate = new ApprovalGate(request.tenantId);
  let approval: ApprovalOutcome | undefined;

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
      steps.push({
        step,
        status: 'failed',
        elapsedMs: Date.now() - started,
        detail: { failureType: stepFailure.type },
      });
      throw new RequestFailed(stepFailure);
    }
  }

  const fail = (type: FailureType, step: StepName, message: string): never => {
    throw new RequestFailed({ type, step, message });
  };

  let principalId: string | undefined;
  let policyVersion: number | undefined;
  let logging: LoggingMode = 'hash';
  let prompt: AssembledPrompt | undefined;
  let reservationKey: string | undefined;
  let attempts: InferenceAttempt[] = [];
  let fallbacks: FallbackRecord[] = [];
  let output: string | undefined;

  try {
    const authorization = await runStep(
      'authorize',
      () => localSteps.authorize(request),
      (value) => ({
        allowed: value.allowed,
        policyVersion: value.policyVersion ?? null,
        reason: value.allowed ? null : value.reason,
        approvalRequired: value.allowed ? value.approval.required : null,
      }),
    );
    principalId = authorization.principalId;
    policyVersion = authorization.policyVersion;
    if (!authorization.allowed) return fail(FAILURE_TYPES.policyDenied, 'authorize', authorization.reason);
    logging = authorization.logging;

    if (authorization.approval.required) {
      const requirement = authorization.approval;
      if (requirement.approverIds.length === 0) {
        fail(
          FAILURE_TYPES.approvalDenied,
          'authorize',
          `${requirement.reason}, but the tenant has no approver other than the requester`,
        );
      }
      outcome = 'awaiting-approval';
      setOutcome('awaiting-approval');
      const { decided, outcome: decision } = await approvalGate.await(requirement);
      approval = decision;
      outcome = 'running';
      setOutcome('running');
      if (!decided) {
        fail(
          FAILURE_TYPES.approvalTimedOut,
          'authorize',
          `no approver decided within ${Math.round(requirement.timeoutMs / 1000)} s; denied`,
        );
      }
      if (decision.decision !== 'approved') {
        fail(
          FAILURE_TYPES.approvalDenied,
          'authorize',
          `denied by '${decision.approverId}'${decision.comment ? `: ${decision.comment}` : ''}`,
        );
      }
    }

    const plan: RetrievalPlan = await runStep(
      'plan-retrieval',
      () =>
        localSteps.planRetrieval({ taskType: request.taskType, question: request.question }, authorization),
      (value) => ({
        enabled: value.enabled,
        topK: value.topK,
        contextTokenBudget: value.contextTokenBudget,
        reason: value.reason,
      }),
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
          chunks: value.map((chunk) => ({
            chunkId: chunk.chunkId,
            documentId: chunk.documentId,
            documentVersion: chunk.documentVersion,
            score: chunk.score,
          })),
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

    const ceilings = [
      authorization.costCeilingMicroUsd,
      request.maxCostUsd === undefined ? undefined : usdToMicro(request.maxCostUsd),
    ];
    const definedCeilings = ceilings.filter((ceiling): ceiling is number => ceiling !== undefined);
    const routePlan: RoutePlan = await runStep(
      'select-route',
      () =>
        localSteps.selectRoute({
          taskType: request.taskType,
          dataClass: request.dataClass,
          tenantTier: authorization.tenantTier,
          allowedRoutes: authorization.allowedRoutes,
          allowDegraded: authorization.allowDegradedRoutes,
          latencyClass: request.latencyClass,
          promptTokens: assembled.inputTokens,
          maxOutputTokens: authorization.maxOutputTokens,
          costCeilingMicroUsd: definedCeilings.length > 0 ? Math.min(...definedCeilings) : undefined,
        }),
      (value) => ({
        tableVersion: value.tableVersion,
        choices: value.choices,
        excluded: value.excluded,
        budget: value.budget,
      }),
    );
    if (routePlan.candidates.length === 0) {
      const reasons = routePlan.excluded
        .map((exclusion) => `${exclusion.routeId}: ${exclusion.reason}`)
        .join('; ');
      fail(
        FAILURE_TYPES.routeUnavailable,
        'select-route',
        `no route can serve this request (${reasons || 'no routes for this task'})`,
      );
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
          prompt: { system: assembled.system, user: assembled.user },
          promptTokens: assembled.inputTokens,
          maxOutputTokens: authorization.maxOutputTokens,
        }),
      (value) => ({
        admitted: value.admitted,
        reservedUsd: microToUsd(value.amountMicroUsd),
        promptTokens: value.promptTokens,
        reason: value.reason ?? null,
      }),
    );
    if (!reservation.admitted) {
      fail(
        FAILURE_TYPES.budgetExceeded,
        'reserve-budget',
        `budget exceeded: ${reservation.reason ?? 'no headroom'}`,
      );
    }

    currentStep = 'infer';
    const inferStarted = Date.now();
    const inference = await inferOverRoutes({
      request,
      executionId,
      plan: routePlan,
      prompt: assembled,
      chunks,
      maxOutputTokens: authorization.maxOutputTokens,
      deliveredText: (attempt) => streamAttempt === attempt && streamText.length > 0,
    });
    attempts = inference.attempts;
    fallbacks = inference.fallbacks;
    const costMicroUsd = sumCost(attempts);
    steps.push({
      step: 'infer',
      status: inference.success ? 'succeeded' : 'failed',
      elapsedMs: Date.now() - inferStarted,
      detail: {
        attempts: attempts.length,
        routeId: inference.success?.route.id ?? null,
        fallbacks,
        stopReason: inference.stopReason ?? null,
        costUsd: microToUsd(costMicroUsd),
      },
    });
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.costUsd, value: microToUsd(costMicroUsd) }]);
    const success = inference.success;
    if (!success) {
      const type = inference.interruptedAfterDelivery
        ? FAILURE_TYPES.streamInterrupted
        : FAILURE_TYPES.inferenceExhausted;
      const summary = attempts
        .map((attempt) => `#${attempt.attempt} ${attempt.routeId}: ${attempt.failureType}`)
        .join('; ');
      return fail(
        type,
        'infer',
        `${inference.stopReason ?? 'no route answered'} (attempts: ${summary || 'none'})`,
      );
    }
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.route, value: success.route.id }]);
    output = success.response.text;

    const chunkDocuments = new Map(chunks.map((chunk) => [chunk.documentId, chunk]));
    const validation = await runStep(
      'validate',
      () =>
        localSteps.validate({
          text: success.response.text,
          citedDocumentIds: success.response.citedDocumentIds,
          retrievedDocumentIds: [...chunkDocuments.keys()],
          outputSchema: request.outputSchema,
        }),
      (value) => ({ passed: value.passed, verdicts: value.verdicts }),
    );
    if (!validation.passed) {
      const failed = validation.verdicts
        .filter((verdict) => !verdict.passed)
        .map((verdict) => `${verdict.check}: ${verdict.detail}`);
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
    const usage = attempts.reduce<TokenUsage>((total, attempt) => addUsage(total, attempt.usage), ZERO_USAGE);
    return {
      workflowId: info.workflowId,
      tenantId: request.tenantId,
      requestId: request.requestId,
      output: success.response.text,
      json: validation.json,
      citations: success.response.citedDocumentIds.map((documentId) => {
        const chunk = chunkDocuments.get(documentId);
        return {
          documentId,
          documentVersion: chunk?.documentVersion ?? 0,
          title: chunk?.title ?? documentId,
        };
      }),
      usage,
      costUsd: microToUsd(costMicroUsd),
      route: {
        id: success.route.id,
        provider: success.route.provider,
        model: success.route.model,
        label: success.route.label,
      },
      attempts,
      fallbacks,
      routePlan: {
        tableVersion: routePlan.tableVersion,
        choices: routePlan.choices,
        excluded: routePlan.excluded,
      },
      retrievalPlan: plan,
      promptVersion: assembled.promptRef,
      policyVersion: authorization.policyVersion,
      approval,
      verdicts: validation.verdicts,
      streamed: request.stream,
      timeToFirstTokenMs: success.response.timeToFirstTokenMs,
      timings,
    };
  } catch (error) {
    const step = currentStep === 'done' ? 'record' : currentStep;
    failure = isCancellation(error)
      ? { type: FAILURE_TYPES.cancelled, step, message: 'the request was cancelled' }
      : failureOf(step, error);
    outcome = 'failed';
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'failed' },
      { key: SEARCH_ATTRIBUTE_KEYS.failedStep, value: failure.step },
    ]);
    const finalFailure = failure;
    try {
      // Recording a failure must finish even when the request itself was cancelled.
      await CancellationScope.nonCancellable(() => record(finalFailure, sumCost(attempts)));
    } catch (recordError) {
      log.error('recording the failed request failed', { error: String(recordError) });
    }
    currentStep = 'done';
    throw ApplicationFailure.create({
      message: finalFailure.message,
      type: finalFailure.type,
      nonRetryable: true,
      details: [{ step: finalFailure.step, attempts, fallbacks }],
    });
  }

  async function record(requestFailure: RequestFailure | undefined, costMicroUsd: number): Promise<void> {
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
      fallbacks,
      approval,
      reservationKey,
      costMicroUsd,
      failure: requestFailure,
    });
    steps.push({
      step: 'record',
      status: 'succeeded',
      elapsedMs: result.elapsedMs,
      detail: { ...result.value },
    });
  }
}
