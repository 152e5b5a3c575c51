import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { buildLlmResult, sumAttemptCosts } from '../domain/build-llm-result';
import { microToUsd, usdToMicro } from '../domain/cost';
import { FAILURE_TYPES } from '../domain/failure-types';
import { reevaluateDataClass, type ApprovalRequirement, type LoggingMode } from '../domain/policy';
import { llmRequestSchema, type LlmRequest } from '../domain/request-contract';
import type { ApprovalOutcome } from '../domain/request-messages';
import { noRouteReason, validationFailureReason } from '../domain/request-steps';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';
import type {
  AssembledPrompt,
  FallbackRecord,
  InferenceAttempt,
  LlmResult,
  RecordInput,
  RequestFailure,
} from '../domain/step-contracts';
import { localSteps, recordSteps, retrievalSteps } from './activity-options';
import { ApprovalGate } from './approval-gate';
import { inferOverRoutes } from './infer-over-routes';
import { parseWorkflowInput } from './parse-workflow-input';
import { fail, failureOf, RequestRun } from './request-run';
import { StreamState } from './stream-state';

export {
  approveUpdate,
  cancelNoteSignal,
  denyUpdate,
  progressQuery,
  streamDeltaSignal,
  streamQuery,
} from './request-messages';

/** What `record` needs to know about the run so far, on the success path and on every failure path. */
interface RunFacts {
  principalId?: string;
  policyVersion?: number;
  logging: LoggingMode;
  prompt?: AssembledPrompt;
  approval?: ApprovalOutcome;
  output?: string;
  attempts: InferenceAttempt[];
  fallbacks: FallbackRecord[];
}

/**
 * One LLM request, end to end (DESIGN.md §1): the only place that decides what happens next. It reads as
 * its nine steps; the step log, attempt loop, approvals and stream live beside it (docs/decisions/0007).
 */
export async function llmRequestWorkflow(rawRequest: LlmRequest): Promise<LlmResult> {
  const request = parseWorkflowInput(llmRequestSchema, rawRequest, 'request');
  const info = workflowInfo();
  const run = new RequestRun();
  const stream = new StreamState(() => run.outcome);
  const approvals = new ApprovalGate(request.tenantId);
  const facts: RunFacts = { logging: 'hash', attempts: [], fallbacks: [] };
  run.dataClass = { declared: request.dataClass, effective: request.dataClass, raisedBy: [] };

  async function awaitApproval(requirement: ApprovalRequirement): Promise<void> {
    if (!requirement.required) return;
    if (requirement.approverIds.length === 0) {
      fail(
        FAILURE_TYPES.approvalDenied,
        'authorize',
        `${requirement.reason}, but the tenant has no approver other than the requester`,
      );
    }
    run.setOutcome('awaiting-approval');
    const { decided, outcome } = await approvals.waitForDecision(requirement);
    facts.approval = outcome;
    run.setOutcome('running');
    if (!decided) {
      fail(
        FAILURE_TYPES.approvalTimedOut,
        'authorize',
        `no approver decided within ${Math.round(requirement.timeoutMs / 1000)} s; denied`,
      );
    }
    if (outcome.decision !== 'approved') {
      fail(
        FAILURE_TYPES.approvalDenied,
        'authorize',
        `denied by '${outcome.approverId}'${outcome.comment ? `: ${outcome.comment}` : ''}`,
      );
    }
  }

  function recordInput(failure?: RequestFailure): RecordInput {
    return {
      workflowId: info.workflowId,
      runId: run.runId,
      originalRunId: info.originalExecutionRunId,
      tenantId: request.tenantId,
      requestId: request.requestId,
      principalId: facts.principalId,
      taskType: request.taskType,
      feature: request.feature,
      dataClass: run.dataClass ?? { declared: request.dataClass, effective: request.dataClass, raisedBy: [] },
      policyVersion: facts.policyVersion,
      promptRef: facts.prompt?.promptRef,
      logging: facts.logging,
      question: request.question,
      output: facts.output,
      steps: run.steps,
      attempts: facts.attempts,
      fallbacks: facts.fallbacks,
      approval: facts.approval,
      cancel: run.cancelNote,
      failure,
    };
  }

  async function record(failure?: RequestFailure): Promise<void> {
    await run.step('record', () => recordSteps.record(recordInput(failure)));
    // A Reset to after `record` copied another run's record: this run records itself (and the Reset).
    if (run.lastStepRunId() !== run.runId)
      await run.step('record', () => recordSteps.record(recordInput(failure)), 1);
  }

  try {
    // 1 authorize: the caller's proof, then the policy; approval where the data class needs it.
    const authorization = await run.step('authorize', () =>
      localSteps.authorize({
        request,
        chainStartedAt: info.startTime.getTime(),
        chainId: info.originalExecutionRunId,
      }),
    );
    if (!authorization.allowed) fail(FAILURE_TYPES.policyDenied, 'authorize', authorization.reason);
    Object.assign(facts, {
      principalId: authorization.principalId,
      policyVersion: authorization.policyVersion,
      logging: authorization.logging,
    });
    run.dataClass = { declared: request.dataClass, effective: authorization.dataClass, raisedBy: [] };
    await awaitApproval(authorization.approval);

    // 2 plan-retrieval, 3 retrieve; then the effective data class, with whatever approval it newly needs.
    const plan = await run.step('plan-retrieval', () =>
      localSteps.planRetrieval({ taskType: request.taskType, question: request.question }, authorization),
    );
    const chunks = plan.enabled
      ? await run.step('retrieve', () =>
          retrievalSteps.retrieve({
            tenantId: request.tenantId,
            query: plan.query,
            groups: authorization.groups,
            clearance: authorization.clearance,
            topK: plan.topK,
          }),
        )
      : [];
    if (!plan.enabled)
      run.log({
        step: 'retrieve',
        attempt: 0,
        status: 'skipped',
        elapsedMs: 0,
        detail: { reason: plan.reason },
      });
    const reevaluated = reevaluateDataClass(authorization, request.dataClass, chunks);
    run.dataClass = {
      declared: reevaluated.declared,
      effective: reevaluated.effective,
      raisedBy: reevaluated.raisedBy.map((document) => document.documentId),
    };
    if (reevaluated.deniedReason) fail(FAILURE_TYPES.policyDenied, 'retrieve', reevaluated.deniedReason);
    await awaitApproval(reevaluated.newApproval);

    // 4 assemble-prompt
    const prompt = await run.step('assemble-prompt', () =>
      localSteps.assemblePrompt({
        tenantId: request.tenantId,
        prompt: authorization.prompt,
        question: request.question,
        chunks,
        contextTokenBudget: plan.contextTokenBudget,
        maxOutputTokens: authorization.maxOutputTokens,
      }),
    );
    facts.prompt = prompt;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.promptVersion, value: prompt.promptRef }]);

    // 5 select-route, by the effective data class
    const ceilings = [
      authorization.costCeilingMicroUsd,
      request.maxCostUsd === undefined ? undefined : usdToMicro(request.maxCostUsd),
    ];
    const definedCeilings = ceilings.filter((ceiling): ceiling is number => ceiling !== undefined);
    const routePlan = await run.step('select-route', () =>
      localSteps.selectRoute({
        taskType: request.taskType,
        dataClass: reevaluated.effective,
        tenantTier: authorization.tenantTier,
        allowedRoutes: authorization.allowedRoutes,
        allowDegraded: authorization.allowDegradedRoutes,
        latencyClass: request.latencyClass,
        promptTokens: prompt.inputTokens,
        maxOutputTokens: authorization.maxOutputTokens,
        costCeilingMicroUsd: definedCeilings.length > 0 ? Math.min(...definedCeilings) : undefined,
      }),
    );
    if (routePlan.candidates.length === 0)
      fail(FAILURE_TYPES.routeUnavailable, 'select-route', noRouteReason(routePlan));

    // 6 reserve-budget for the first attempt (each further attempt reserves its own in the loop)
    const reservation = await run.step('reserve-budget', () =>
      localSteps.reserveBudget({
        tenantId: request.tenantId,
        workflowId: info.workflowId,
        slot: 1,
        routeIds: routePlan.candidates.map((route) => route.id),
        prompt: { system: prompt.system, user: prompt.user },
        promptTokens: prompt.inputTokens,
        maxOutputTokens: authorization.maxOutputTokens,
      }),
    );
    if (!reservation.admitted) {
      fail(
        FAILURE_TYPES.budgetExceeded,
        'reserve-budget',
        `budget exceeded: ${reservation.reason ?? 'no headroom'}`,
      );
    }

    // 7 infer: attempts over the route plan
    run.currentStep = 'infer';
    const inferStarted = Date.now();
    let inference: Awaited<ReturnType<typeof inferOverRoutes>> | undefined;
    try {
      inference = await inferOverRoutes({
        run,
        request,
        plan: routePlan,
        prompt,
        reservedPromptTokens: reservation.promptTokens,
        chunks,
        maxOutputTokens: authorization.maxOutputTokens,
        attribution: {
          principalId: authorization.principalId,
          taskType: request.taskType,
          feature: request.feature,
          promptRef: prompt.promptRef,
        },
        delivered: (attempt) => stream.delivered(attempt),
        attempts: facts.attempts,
        fallbacks: facts.fallbacks,
      });
    } finally {
      run.log({
        step: 'infer',
        attempt: 0,
        status: inference?.success ? 'succeeded' : 'failed',
        elapsedMs: Date.now() - inferStarted,
        runId: facts.attempts[facts.attempts.length - 1]?.runId,
        detail: {
          attempts: facts.attempts.length,
          routeId: inference?.success?.route.id ?? null,
          stopReason: inference?.stop?.reason ?? null,
          costUsd: microToUsd(sumAttemptCosts(facts.attempts)),
        },
      });
    }
    const success = inference.success;
    if (!success) {
      const summary = facts.attempts
        .map((attempt) => `#${attempt.attempt} ${attempt.routeId}: ${attempt.failureType}`)
        .join('; ');
      fail(
        inference.stop?.type ?? FAILURE_TYPES.inferenceExhausted,
        inference.stop?.type === FAILURE_TYPES.budgetExceeded ? 'reserve-budget' : 'infer',
        `${inference.stop?.reason ?? 'no route answered'} (attempts: ${summary || 'none'})`,
      );
    }
    facts.output = success.response.text;

    // 8 validate
    const validation = await run.step('validate', () =>
      localSteps.validate({
        text: success.response.text,
        citedDocumentIds: success.response.citedDocumentIds,
        retrievedDocumentIds: [...new Set(chunks.map((chunk) => chunk.documentId))],
        outputSchema: request.outputSchema,
      }),
    );
    if (!validation.passed)
      fail(FAILURE_TYPES.validationFailed, 'validate', validationFailureReason(validation));

    // 9 record
    await record();
    run.currentStep = 'done';
    run.setOutcome('succeeded', [
      { key: SEARCH_ATTRIBUTE_KEYS.costUsd, value: microToUsd(sumAttemptCosts(facts.attempts)) },
    ]);
    return buildLlmResult({
      workflowId: info.workflowId,
      runId: run.runId,
      request,
      authorization,
      retrievalPlan: plan,
      chunks,
      prompt,
      routePlan,
      route: success.route,
      response: success.response,
      attempts: facts.attempts,
      fallbacks: facts.fallbacks,
      validation,
      approval: facts.approval,
      dataClass: run.dataClass,
      timings: run.timings(),
    });
  } catch (error) {
    // 9 record, on every failure path too: audit the failure and settle the reservations.
    const step = run.currentStep === 'done' ? 'record' : run.currentStep;
    const cancelled = isCancellation(error);
    const failure: RequestFailure = cancelled
      ? {
          type: FAILURE_TYPES.cancelled,
          step,
          message: run.cancelNote
            ? `cancelled by ${run.cancelNote.by}: ${run.cancelNote.reason}`
            : 'the request was cancelled',
        }
      : failureOf(step, error);
    run.failure = failure;
    run.setOutcome(cancelled ? 'cancelled' : 'failed', [
      { key: SEARCH_ATTRIBUTE_KEYS.failedStep, value: failure.step },
      { key: SEARCH_ATTRIBUTE_KEYS.costUsd, value: microToUsd(sumAttemptCosts(facts.attempts)) },
    ]);
    try {
      // Recording a failure must finish even when the request itself was cancelled.
      await CancellationScope.nonCancellable(() => record(failure));
    } catch (recordError) {
      log.error('recording the failed request failed', { error: String(recordError) });
    }
    run.currentStep = 'done';
    throw ApplicationFailure.create({
      message: failure.message,
      type: failure.type,
      nonRetryable: true,
      details: [{ step: failure.step, attempts: facts.attempts, fallbacks: facts.fallbacks }],
    });
  }
}
