import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { buildLlmResult } from '../domain/build-llm-result';
import { promptContentOf } from '../domain/content-reference';
import { FAILURE_TYPES } from '../domain/failure-types';
import { reevaluateDataClass } from '../domain/policy';
import { llmRequestSchema, type LlmRequest } from '../domain/request-contract';
import { noRouteReason, validationFailureReason } from '../domain/request-steps';
import { routeSelectionFor } from '../domain/route-selection';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';
import type { LlmResult } from '../domain/step-contracts';
import { localSteps } from './activity-options';
import { ApprovalGate } from './approval-gate';
import { guardInput, guardOutput, withholdPromptLeak } from './guard-steps';
import { runInferStep } from './infer-over-routes';
import { parseWorkflowInput } from './parse-workflow-input';
import { fail, RequestRun } from './request-run';
import { reserveBudgetStep } from './reserve-budget-step';
import { retrieve } from './retrieve-step';
import { StreamState } from './stream-state';

export {
  approveUpdate,
  cancelNoteSignal,
  denyUpdate,
  progressQuery,
  streamDeltaSignal,
  streamQuery,
} from './request-messages';

/**
 * One LLM request, end to end (DESIGN.md §1): the only place that decides what happens next. It reads as
 * its steps; the run's bookkeeping, the attempt loop, approvals and the stream live beside it
 * (docs/decisions/0013).
 */
export async function llmRequestWorkflow(rawRequest: LlmRequest): Promise<LlmResult> {
  const request = parseWorkflowInput(llmRequestSchema, rawRequest, 'request');
  const info = workflowInfo();
  const run = new RequestRun(request);
  const stream = new StreamState(() => run.outcome);
  const approvals = new ApprovalGate(request.tenantId);
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
    run.authorized(authorization);
    await run.requireApproval(authorization.approval, approvals);

    // 2 plan-retrieval
    const plan = await run.step('plan-retrieval', () =>
      localSteps.planRetrieval(
        { taskType: request.taskType, question: request.question, retrieval: request.retrieval },
        authorization,
      ),
    );

    // 3 retrieve; then the effective data class, and whatever approval it newly needs.
    const chunks = await retrieve(run, request, authorization, plan);
    const reevaluated = reevaluateDataClass(authorization, request.dataClass, chunks);
    run.reevaluated(reevaluated);
    if (reevaluated.deniedReason) fail(FAILURE_TYPES.policyDenied, 'retrieve', reevaluated.deniedReason);
    await run.requireApproval(reevaluated.newApproval, approvals);

    // guard-input: the policy's input guardrails judge the question, retrieved context as grounding.
    const question = await guardInput(run, authorization, request.question, chunks);

    // 4 assemble-prompt
    const prompt = await run.step('assemble-prompt', () =>
      localSteps.assemblePrompt({
        tenantId: request.tenantId,
        prompt: authorization.prompt,
        question,
        chunks,
        contextTokenBudget: plan.contextTokenBudget,
        maxOutputTokens: authorization.maxOutputTokens,
      }),
    );
    run.facts.prompt = prompt;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.promptVersion, value: prompt.promptRef }]);

    // 5 select-route, for the effective data class and every class in the content
    const routePlan = await run.step('select-route', () =>
      localSteps.selectRoute(
        routeSelectionFor(
          request,
          authorization,
          reevaluated.effective,
          chunks.map((chunk) => chunk.classification),
          prompt.inputTokens,
        ),
      ),
    );
    if (routePlan.candidates.length === 0)
      fail(FAILURE_TYPES.routeUnavailable, 'select-route', noRouteReason(routePlan));

    // 6 reserve-budget: the whole attempt budget before the first attempt (the loop tops it up if needed)
    const reservation = await reserveBudgetStep(run, approvals, authorization, {
      tenantId: request.tenantId,
      workflowId: info.workflowId,
      slot: 1,
      routeIds: routePlan.candidates.map((route) => route.id),
      prompt: promptContentOf(prompt),
      promptTokens: prompt.inputTokens,
      maxOutputTokens: authorization.maxOutputTokens,
      attemptsToCover: routePlan.budget.maxTotalAttempts,
      redaction: authorization.redaction,
      dataClass: reevaluated.effective,
      feature: run.facts.feature,
    });

    // 7 infer: attempts over the route plan; each prompt leaves redacted where the policy requires it.
    const { route, response } = await runInferStep({
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
        feature: run.facts.feature,
        promptRef: prompt.promptRef,
        policyVersion: authorization.policyVersion,
        logging: authorization.logging,
      },
      delivered: (attempt) => stream.delivered(attempt),
      redaction: authorization.redaction,
      dataClass: reevaluated.effective,
      holdOutput: authorization.guardrails?.output,
    });

    // guard-output: an answer repeating the system prompt is withheld; then the output guardrails judge
    // the answer as written, and redacted values come back.
    withholdPromptLeak(run, prompt, chunks, response);
    const output = await guardOutput(run, authorization, request.question, chunks, response);
    run.facts.output = output;

    // 8 validate
    const validation = await run.step('validate', () =>
      localSteps.validate({
        text: output,
        citedDocumentIds: response.citedDocumentIds,
        retrievedDocumentIds: [...new Set(chunks.map((chunk) => chunk.documentId))],
        outputSchema: request.outputSchema,
      }),
    );
    if (!validation.passed)
      fail(FAILURE_TYPES.validationFailed, 'validate', validationFailureReason(validation));

    // 9 record
    await run.succeed();
    return buildLlmResult({
      ...run.resultFacts(),
      request,
      authorization,
      retrievalPlan: plan,
      chunks,
      prompt,
      routePlan,
      route,
      response: { ...response, text: output },
      validation,
      guardrailVerdicts: run.facts.guardrailVerdicts,
    });
  } catch (error) {
    // 9 record, on every failure path too.
    throw await run.closeFailed(error);
  }
}
