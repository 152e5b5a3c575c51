import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  BATCH_PROGRESS_QUERY,
  DEFAULT_BATCH_CONCURRENCY,
  MAX_BATCH_CONCURRENCY,
  MAX_BATCH_INPUT_BYTES,
  MAX_BATCH_REQUESTS,
  batchIdSchema,
  batchWorkflowId,
  type BatchInput,
  type BatchProgress,
  type BatchResult,
} from '../domain/batch-contract';
import type { LlmRequest, LlmRequestInput } from '../domain/request-contract';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';
import type { batchLlmWorkflow } from '../workflows/batch-llm-workflow';
import { BATCH_PROOF_TTL_MS } from '../governance/caller-proof';
import { RequestInvalidError } from './errors';
import { prepareRequest } from './gatehouse-client';

export interface SubmitBatchOptions {
  /** The task queue of the batch workflow; its requests run on the same one. */
  taskQueue: string;
  /** The batch's idempotency key; default: a new UUID. */
  batchId?: string;
  /** How many requests may run at once; default 8. */
  concurrency?: number;
  inputs: LlmRequestInput[];
  /** The file line of each input, so that problems name the line a person sees; default: 1-based position. */
  lineNumbers?: number[];
}

export interface SubmittedBatch {
  workflowId: string;
  batchId: string;
  /** The run this submission started or joined; undefined when it found an already finished batch. */
  runId?: string;
  handle: WorkflowHandle<typeof batchLlmWorkflow>;
}

/** One request of a batch file as written: no API key (the caller adds it), not yet validated. */
export interface BatchFileEntry {
  line: number;
  input: Record<string, unknown>;
}

function invalidBatch(what: string, problems: string[]): RequestInvalidError {
  return new RequestInvalidError(`${what}:\n  ${problems.join('\n  ')}`, problems);
}

function prepareBatch(options: SubmitBatchOptions, batchId: string): BatchInput {
  const concurrency = options.concurrency ?? DEFAULT_BATCH_CONCURRENCY;
  const problems: string[] = [];
  const batchIdCheck = batchIdSchema.safeParse(batchId);
  if (!batchIdCheck.success) problems.push(`batch id: ${batchIdCheck.error.issues[0]?.message ?? 'invalid'}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_BATCH_CONCURRENCY) {
    problems.push(`concurrency must be a whole number from 1 to ${MAX_BATCH_CONCURRENCY}`);
  }
  if (options.inputs.length === 0) problems.push('a batch needs at least one request');
  if (options.inputs.length > MAX_BATCH_REQUESTS) {
    problems.push(
      `a batch holds at most ${MAX_BATCH_REQUESTS} requests (got ${options.inputs.length}); split it`,
    );
  }
  if (problems.length > 0) throw invalidBatch('invalid batch', problems);

  const requests: LlmRequest[] = [];
  const lineOfRequestId = new Map<string, number>();
  let tenant: { id: string; line: number } | undefined;
  options.inputs.forEach((input, index) => {
    const line = options.lineNumbers?.[index] ?? index + 1;
    let request: LlmRequest;
    try {
      // A request without an id gets one derived from the batch, so that submitting a failed batch again
      // re-runs only its failed requests and never charges a succeeded one twice.
      request = prepareRequest(
        { ...input, requestId: input.requestId ?? `${batchId}-${index + 1}` },
        // Requests start when a lane frees up, possibly hours later; their proofs must still hold then.
        { proofTtlMs: BATCH_PROOF_TTL_MS },
      );
    } catch (error) {
      if (!(error instanceof RequestInvalidError)) throw error;
      problems.push(...error.problems.map((problem) => `line ${line}: ${problem}`));
      return;
    }
    tenant ??= { id: request.tenantId, line };
    if (request.tenantId !== tenant.id) {
      problems.push(
        `line ${line}: tenantId '${request.tenantId}' differs from '${tenant.id}' (line ${tenant.line}); a batch belongs to one tenant`,
      );
    }
    const firstLine = lineOfRequestId.get(request.requestId);
    if (firstLine !== undefined) {
      problems.push(`line ${line}: requestId '${request.requestId}' repeats line ${firstLine}`);
    } else {
      lineOfRequestId.set(request.requestId, line);
    }
    requests.push(request);
  });
  if (problems.length > 0 || !tenant)
    throw invalidBatch(`invalid batch: ${problems.length} problem(s)`, problems);

  const input: BatchInput = { batchId, tenantId: tenant.id, concurrency, requests };
  const bytes = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (bytes > MAX_BATCH_INPUT_BYTES) {
    throw invalidBatch('invalid batch', [
      `the batch is ${bytes} bytes of JSON; the limit is ${MAX_BATCH_INPUT_BYTES} (Temporal's payload limit): split it`,
    ]);
  }
  return input;
}

/**
 * Validates every request, then starts one `batchLlmWorkflow` for them. Nothing starts unless every
 * request is valid (a `RequestInvalidError` lists each problem by line). Submitting the same batch id
 * again joins the running batch, or returns the finished one.
 */
export async function submitBatch(client: Client, options: SubmitBatchOptions): Promise<SubmittedBatch> {
  const batchId = options.batchId ?? randomUUID();
  const input = prepareBatch(options, batchId);
  const workflowId = batchWorkflowId(input.tenantId, batchId);
  try {
    const handle = await client.workflow.start<typeof batchLlmWorkflow>('batchLlmWorkflow', {
      taskQueue: options.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A batch that ran to the end is not run again; a cancelled one may be, and re-runs only what failed.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTE_KEYS.tenantId, value: input.tenantId },
        { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'running' },
      ],
    });
    return { workflowId, batchId, runId: handle.firstExecutionRunId, handle };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { workflowId, batchId, handle: client.workflow.getHandle<typeof batchLlmWorkflow>(workflowId) };
    }
    throw error;
  }
}

export async function batchProgress(client: Client, workflowId: string): Promise<BatchProgress> {
  return client.workflow.getHandle(workflowId).query<BatchProgress>(BATCH_PROGRESS_QUERY);
}

/** Waits for the batch to finish. Failed requests are items of the result, not errors. */
export async function batchResult(client: Client, workflowId: string): Promise<BatchResult> {
  return client.workflow.getHandle<typeof batchLlmWorkflow>(workflowId).result();
}

/**
 * Reads a JSONL batch file: one request per line, blank lines skipped. Every bad line is reported with
 * its line number. API keys are refused in the file, since batch files get copied and committed.
 */
export async function readBatchFile(path: string): Promise<BatchFileEntry[]> {
  const text = await readFile(path, 'utf8');
  const entries: BatchFileEntry[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push(`line ${line}: not valid JSON (${(error as Error).message})`);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`line ${line}: expected a JSON object (one request per line)`);
      return;
    }
    if ('apiKey' in value) {
      problems.push(`line ${line}: remove the apiKey; batch files carry no credentials (pass --api-key)`);
      return;
    }
    entries.push({ line, input: value as Record<string, unknown> });
  });
  if (problems.length > 0) throw invalidBatch(`invalid batch file ${path}`, problems);
  if (entries.length === 0) throw invalidBatch(`invalid batch file ${path}`, ['no requests in the file']);
  return entries;
}
