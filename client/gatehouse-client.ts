import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  llmRequestInputSchema,
  requestWorkflowId,
  type LlmRequest,
  type LlmRequestInput,
} from '../domain/request-contract';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';
import {
  REQUEST_MESSAGE_NAMES,
  type ApprovalDecisionInput,
  type ApprovalOutcome,
  type StreamView,
} from '../domain/request-messages';
import type { LlmResult, RequestProgress } from '../domain/step-contracts';
import type { llmRequestWorkflow } from '../workflows/llm-request-workflow';
import { sha256Hex } from '../governance/sha256';
import { RequestInvalidError, toGatehouseError } from './errors';

export interface SubmittedRequest {
  workflowId: string;
  requestId: string;
  /** The run this submission started or joined; undefined when it found an already finished request. */
  runId?: string;
  handle: WorkflowHandle<typeof llmRequestWorkflow>;
}

/** Validates and normalises a request before anything reaches Temporal; throws `RequestInvalidError`. */
export function prepareRequest(input: LlmRequestInput): LlmRequest {
  const parsed = llmRequestInputSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`,
    );
    throw new RequestInvalidError(`invalid request: ${problems.join('; ')}`, problems);
  }
  const { apiKey, requestId, ...rest } = parsed.data;
  return {
    ...rest,
    requestId: requestId ?? randomUUID(),
    apiKeyHash: sha256Hex(apiKey),
  };
}

/**
 * The typed way for a product service to send LLM requests through Gatehouse. Submitting the same
 * request id twice joins the running request (or returns the finished one): at most one run, one charge.
 */
export class GatehouseClient {
  constructor(
    private readonly client: Client,
    private readonly options: { taskQueue: string },
  ) {}

  async submit(input: LlmRequestInput): Promise<SubmittedRequest> {
    const request = prepareRequest(input);
    const workflowId = requestWorkflowId(request.tenantId, request.requestId);
    const searchAttributes = [
      { key: SEARCH_ATTRIBUTE_KEYS.tenantId, value: request.tenantId },
      { key: SEARCH_ATTRIBUTE_KEYS.taskType, value: request.taskType },
      { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'running' },
      ...(request.feature ? [{ key: SEARCH_ATTRIBUTE_KEYS.feature, value: request.feature }] : []),
    ];
    try {
      const handle = await this.client.workflow.start<typeof llmRequestWorkflow>('llmRequestWorkflow', {
        taskQueue: this.options.taskQueue,
        workflowId,
        args: [request],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: searchAttributes,
      });
      return { workflowId, requestId: request.requestId, runId: handle.firstExecutionRunId, handle };
    } catch (error) {
      // A request that already succeeded is not run again: hand back the finished one.
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        return {
          workflowId,
          requestId: request.requestId,
          handle: this.client.workflow.getHandle(workflowId),
        };
      }
      throw error;
    }
  }

  /** Submits and waits for the result; failures come back as typed `GatehouseRequestError`s. */
  async execute(input: LlmRequestInput): Promise<LlmResult> {
    const submitted = await this.submit(input);
    return this.result(submitted.workflowId);
  }

  async result(workflowId: string): Promise<LlmResult> {
    try {
      return await this.client.workflow.getHandle<typeof llmRequestWorkflow>(workflowId).result();
    } catch (error) {
      throw toGatehouseError(error, workflowId);
    }
  }

  async progress(workflowId: string): Promise<RequestProgress> {
    return this.client.workflow
      .getHandle(workflowId)
      .query<RequestProgress>(REQUEST_MESSAGE_NAMES.progressQuery);
  }

  /**
   * Yields the text of a streaming request as it arrives, then returns when the request has finished;
   * call `result()` for the recorded result (its output is the streamed text).
   */
  async *stream(workflowId: string, options: { pollIntervalMs?: number } = {}): AsyncGenerator<string, void> {
    const handle = this.client.workflow.getHandle(workflowId);
    let delivered = 0;
    for (;;) {
      let view: StreamView;
      try {
        view = await handle.query<StreamView>(REQUEST_MESSAGE_NAMES.streamQuery);
      } catch (error) {
        // A finished request may already be gone from the worker's cache; the result has the full text.
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') return;
        throw error;
      }
      if (view.text.length > delivered) {
        yield view.text.slice(delivered);
        delivered = view.text.length;
      }
      if (view.done) return;
      await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? 50));
    }
  }

  /** Approves restricted work waiting on `approveUpdate`; the approver's key is hashed before it is sent. */
  async approve(
    workflowId: string,
    approver: { approverId: string; apiKey: string; comment?: string },
  ): Promise<ApprovalOutcome> {
    return this.decide(REQUEST_MESSAGE_NAMES.approveUpdate, workflowId, approver);
  }

  async deny(
    workflowId: string,
    approver: { approverId: string; apiKey: string; comment?: string },
  ): Promise<ApprovalOutcome> {
    return this.decide(REQUEST_MESSAGE_NAMES.denyUpdate, workflowId, approver);
  }

  private async decide(
    update: string,
    workflowId: string,
    approver: { approverId: string; apiKey: string; comment?: string },
  ): Promise<ApprovalOutcome> {
    const input: ApprovalDecisionInput = {
      approverId: approver.approverId,
      apiKeyHash: sha256Hex(approver.apiKey),
      comment: approver.comment,
    };
    return this.client.workflow
      .getHandle(workflowId)
      .executeUpdate<ApprovalOutcome, [ApprovalDecisionInput]>(update, { args: [input] });
  }
}
