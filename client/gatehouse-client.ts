import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { FeedbackRecorded } from '../domain/feedback-contract';
import { FAILURE_TYPES } from '../domain/failure-types';
import {
  FINGERPRINT_FIELDS,
  llmRequestInputSchema,
  MAX_QUESTION_TOKENS,
  parseRequestWorkflowId,
  requestWorkflowId,
  type LlmRequest,
  type LlmRequestInput,
} from '../domain/request-contract';
import {
  REQUEST_MESSAGE_NAMES,
  type ApprovalDecision,
  type ApprovalDecisionInput,
  type ApprovalOutcome,
  type CancelNoteInput,
  type StreamView,
} from '../domain/request-messages';
import { requestStartAttributes } from '../domain/search-attribute-keys';
import type { LlmResult, RequestProgress } from '../domain/step-contracts';
import { canonicalJson } from '../governance/canonical-json';
import {
  DEFAULT_PROOF_TTL_MS,
  hashApiKey,
  keyIdForKeyHash,
  signApprovalProof,
  signRequestProof,
} from '../governance/caller-proof';
import { requestFingerprint } from '../governance/request-fingerprint';
import { compileOutputSchema } from '../governance/validate-output';
import { readRequestInput } from '../history/read-run-history';
import { createLocalTokenCounter } from '../providers/token-counter';
import type { llmRequestWorkflow } from '../workflows/llm-request-workflow';
import {
  PolicyDeniedError,
  RequestConflictError,
  RequestInvalidError,
  RequestNotFoundError,
  toGatehouseError,
} from './errors';
import { prepareFeedback, sendFeedback } from './send-feedback';

/** Who is asking: the tenant they claim and their API key (which never leaves this process). */
export interface Caller {
  tenantId: string;
  apiKey: string;
}

export interface SubmittedRequest {
  workflowId: string;
  requestId: string;
  /** False when this submission joined (or found finished) the same request submitted before. */
  started: boolean;
  handle: WorkflowHandle<typeof llmRequestWorkflow>;
}

const tokenCounter = createLocalTokenCounter();

/**
 * Validates and normalises a request before anything reaches Temporal (throws `RequestInvalidError`),
 * fingerprints it and signs it with the caller's key: the workflow input carries a proof, never a key.
 */
export function prepareRequest(
  input: LlmRequestInput,
  options: { now?: number; proofTtlMs?: number } = {},
): LlmRequest {
  const parsed = llmRequestInputSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`,
    );
    throw new RequestInvalidError(`invalid request: ${problems.join('; ')}`, problems);
  }
  const { apiKey, requestId, ...fields } = parsed.data;
  const problems: string[] = [];
  const questionTokens = tokenCounter.count(fields.question);
  if (questionTokens > MAX_QUESTION_TOKENS) {
    problems.push(`question: is ${questionTokens} tokens; the limit is ${MAX_QUESTION_TOKENS}`);
  }
  if (fields.outputSchema) {
    try {
      compileOutputSchema(fields.outputSchema);
    } catch (error) {
      problems.push(`outputSchema: is not a valid JSON schema: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new RequestInvalidError(`invalid request: ${problems.join('; ')}`, problems);
  const request = { ...fields, requestId: requestId ?? randomUUID() };
  const fingerprint = requestFingerprint(request);
  const caller = signRequestProof({
    apiKey,
    workflowId: requestWorkflowId(request.tenantId, request.requestId),
    tenantId: request.tenantId,
    fingerprint,
    now: options.now ?? Date.now(),
    ttlMs: options.proofTtlMs ?? DEFAULT_PROOF_TTL_MS,
  });
  return { ...request, fingerprint, caller };
}

/** The fingerprinted fields in which two requests differ (names only, never values). */
export function differingFields(left: LlmRequest, right: LlmRequest): string[] {
  return FINGERPRINT_FIELDS.filter(
    (field) => canonicalJson(left[field] ?? null) !== canonicalJson(right[field] ?? null),
  );
}

/** Requests this client has already seen the caller may access, so polling does not re-read history. */
const MAX_VERIFIED = 1000;

/**
 * The typed way for a product service to send LLM requests through Gatehouse. Submitting the same request
 * id twice joins the running request (or returns the finished one): at most one run, one charge. Every way
 * to a request — join, result, progress, stream, cancel — checks the caller's key against the request's;
 * a wrong key learns nothing (`RequestNotFoundError`, as for a request that does not exist).
 */
export class GatehouseClient {
  private readonly verified = new Map<string, string>();

  constructor(
    private readonly client: Client,
    private readonly options: {
      taskQueue: string;
      proofTtlMs?: number;
      /**
       * Ask the server to hand the first workflow task back with the start (eager workflow start). Only
       * for a client built on the `NativeConnection` of a worker polling `taskQueue` in this process
       * (`GatehouseRuntime.eagerStart`); it saves the first workflow task's dispatch (docs/decisions/0018).
       */
      eagerStart?: boolean;
    },
  ) {}

  async submit(input: LlmRequestInput): Promise<SubmittedRequest> {
    const request = prepareRequest(input, { proofTtlMs: this.options.proofTtlMs });
    const workflowId = requestWorkflowId(request.tenantId, request.requestId);
    try {
      const handle = await this.client.workflow.start<typeof llmRequestWorkflow>('llmRequestWorkflow', {
        taskQueue: this.options.taskQueue,
        workflowId,
        args: [request],
        // A running or succeeded request with this id is joined below, after its caller is checked.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: requestStartAttributes(request),
        requestEagerStart: this.options.eagerStart ?? false,
      });
      this.remember(workflowId, request.caller.keyId);
      return { workflowId, requestId: request.requestId, started: true, handle };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      await this.checkSameRequest(workflowId, request);
      return {
        workflowId,
        requestId: request.requestId,
        started: false,
        handle: this.client.workflow.getHandle<typeof llmRequestWorkflow>(workflowId),
      };
    }
  }

  /** Submits and waits for the result; failures come back as typed `GatehouseRequestError`s. */
  async execute(input: LlmRequestInput): Promise<LlmResult> {
    const submitted = await this.submit(input);
    return this.result(submitted.workflowId, { tenantId: input.tenantId, apiKey: input.apiKey });
  }

  async result(workflowId: string, caller: Caller): Promise<LlmResult> {
    await this.checkAccess(workflowId, caller);
    try {
      return await this.client.workflow.getHandle<typeof llmRequestWorkflow>(workflowId).result();
    } catch (error) {
      throw toGatehouseError(error, workflowId);
    }
  }

  async progress(workflowId: string, caller: Caller): Promise<RequestProgress> {
    await this.checkAccess(workflowId, caller);
    return this.client.workflow
      .getHandle(workflowId)
      .query<RequestProgress>(REQUEST_MESSAGE_NAMES.progressQuery);
  }

  /**
   * Yields the text of a streaming request as it arrives, then returns when the request has finished;
   * call `result()` for the recorded result (its output is the streamed text).
   */
  async *stream(
    workflowId: string,
    caller: Caller,
    options: { pollIntervalMs?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<string, void> {
    await this.checkAccess(workflowId, caller);
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
      // An aborted caller (an HTTP client that went away) stops polling; the request itself runs on.
      if (view.done || options.signal?.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? 50));
    }
  }

  /**
   * Cancels the caller's own request. The note reaches the workflow first, so its record says who
   * cancelled and why; the running model call is aborted within about a second.
   */
  async cancel(workflowId: string, caller: Caller, reason: string): Promise<void> {
    await this.checkAccess(workflowId, caller);
    await cancelRequest(this.client, workflowId, { by: 'the requester', reason });
  }

  /**
   * Attaches the caller's feedback (-1 bad, 0 neutral, 1 good, and an optional comment) to their own
   * finished request. The caller is checked as for `result`, and again by the worker against a proof
   * signed with their key; the feedback is stored with the route, prompt version and retrieved
   * documents that served the request, and audited. The same `feedbackId` sent again records it once.
   */
  async feedback(
    workflowId: string,
    caller: Caller,
    feedback: { score: number; comment?: string; feedbackId?: string },
  ): Promise<FeedbackRecorded> {
    const input = prepareFeedback(workflowId, caller, feedback);
    await this.checkAccess(workflowId, caller);
    return sendFeedback(this.client, this.options.taskQueue, input);
  }

  /** Approves restricted work waiting on `approveUpdate`, with a proof signed by the approver's key. */
  async approve(
    workflowId: string,
    approver: { approverId: string; apiKey: string; comment?: string },
  ): Promise<ApprovalOutcome> {
    return this.decide('approved', workflowId, approver);
  }

  async deny(
    workflowId: string,
    approver: { approverId: string; apiKey: string; comment?: string },
  ): Promise<ApprovalOutcome> {
    return this.decide('denied', workflowId, approver);
  }

  private async decide(
    decision: ApprovalDecision,
    workflowId: string,
    approver: { approverId: string; apiKey: string; comment?: string },
  ): Promise<ApprovalOutcome> {
    const parsed = parseRequestWorkflowId(workflowId);
    if (!parsed) throw new RequestNotFoundError(workflowId);
    const input: ApprovalDecisionInput = signApprovalProof({
      apiKey: approver.apiKey,
      workflowId,
      tenantId: parsed.tenantId,
      decision,
      approverId: approver.approverId,
      comment: approver.comment,
      now: Date.now(),
    });
    const update =
      decision === 'approved' ? REQUEST_MESSAGE_NAMES.approveUpdate : REQUEST_MESSAGE_NAMES.denyUpdate;
    return this.client.workflow
      .getHandle(workflowId)
      .executeUpdate<ApprovalOutcome, [ApprovalDecisionInput]>(update, { args: [input] });
  }

  /** Joining is allowed only for the same caller with the same request; anything else starts nothing. */
  private async checkSameRequest(workflowId: string, request: LlmRequest): Promise<void> {
    const existing = await readRequestInput(this.client, workflowId);
    if (
      !existing ||
      existing.caller.keyId !== request.caller.keyId ||
      existing.tenantId !== request.tenantId
    ) {
      throw new PolicyDeniedError(
        `request ${workflowId} is not available to this API key; use another request id`,
        FAILURE_TYPES.policyDenied,
        workflowId,
      );
    }
    const differing = differingFields(existing, request);
    if (differing.length > 0) throw new RequestConflictError(workflowId, differing);
    this.remember(workflowId, request.caller.keyId);
  }

  private async checkAccess(workflowId: string, caller: Caller): Promise<void> {
    const keyId = keyIdForKeyHash(hashApiKey(caller.apiKey));
    if (this.verified.get(workflowId) === keyId) return;
    const parsed = parseRequestWorkflowId(workflowId);
    if (!parsed || parsed.tenantId !== caller.tenantId) throw new RequestNotFoundError(workflowId);
    let existing: LlmRequest | undefined;
    try {
      existing = await readRequestInput(this.client, workflowId);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError || (error as { code?: number }).code === 5) {
        throw new RequestNotFoundError(workflowId);
      }
      throw error;
    }
    if (!existing || existing.tenantId !== caller.tenantId || existing.caller.keyId !== keyId) {
      throw new RequestNotFoundError(workflowId);
    }
    this.remember(workflowId, keyId);
  }

  private remember(workflowId: string, keyId: string): void {
    this.verified.delete(workflowId);
    this.verified.set(workflowId, keyId);
    for (const oldest of this.verified.keys()) {
      if (this.verified.size <= MAX_VERIFIED) break;
      this.verified.delete(oldest);
    }
  }
}

/** Sends the cancel note, then Temporal's cancellation. */
export async function cancelRequest(
  client: Client,
  workflowId: string,
  note: CancelNoteInput,
): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.signal(REQUEST_MESSAGE_NAMES.cancelNoteSignal, note);
  await handle.cancel();
}
