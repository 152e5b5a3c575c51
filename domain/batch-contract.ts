import { z } from 'zod';
import { callerIdSchema, llmRequestSchema, tenantIdSchema } from './request-contract';

/**
 * A batch's own history holds every child's start, completion and result, roughly ten events and a few
 * kilobytes per request. A thousand requests stay well inside Temporal's history limits (51,200 events,
 * 50 MB) with room for retries; larger jobs are split into several batches rather than continued-as-new,
 * so that one batch id always names one history an operator can read.
 */
export const MAX_BATCH_REQUESTS = 1000;
export const MAX_BATCH_CONCURRENCY = 64;
export const DEFAULT_BATCH_CONCURRENCY = 8;

/**
 * The whole request list travels as the batch workflow's input, a single payload, and Temporal rejects
 * payloads over 2 MB. The margin leaves room for the payload codec's envelope.
 */
export const MAX_BATCH_INPUT_BYTES = 1_500_000;

/** Shorter than a request id, so that `<batchId>-<position>` is still a valid request id. */
export const batchIdSchema = callerIdSchema('batch', 100);

/** The batch workflow's input, as stored in history: requests already prepared by the client. */
export const batchInputSchema = z
  .object({
    batchId: batchIdSchema,
    tenantId: tenantIdSchema,
    concurrency: z.number().int().min(1).max(MAX_BATCH_CONCURRENCY),
    requests: z.array(llmRequestSchema).min(1, 'a batch needs at least one request').max(MAX_BATCH_REQUESTS),
    /** Where the request workflows run; defaults to the batch's own task queue. */
    requestTaskQueue: z.string().min(1).optional(),
  })
  .superRefine((input, context) => {
    const seen = new Set<string>();
    input.requests.forEach((request, index) => {
      if (request.tenantId !== input.tenantId) {
        context.addIssue({
          code: 'custom',
          path: ['requests', index, 'tenantId'],
          message: `must be the batch's tenant '${input.tenantId}'`,
        });
      }
      if (seen.has(request.requestId)) {
        context.addIssue({
          code: 'custom',
          path: ['requests', index, 'requestId'],
          message: `'${request.requestId}' appears twice in the batch`,
        });
      }
      seen.add(request.requestId);
    });
  });
export type BatchInput = z.infer<typeof batchInputSchema>;

/**
 * What the batch reads from a failed request's `ApplicationFailure` details (see llmRequestWorkflow):
 * its attempts, so that failed attempts are still counted in the batch's cost. Lenient, as details are
 * untyped on the wire.
 */
export const requestFailureDetailsSchema = z.object({
  attempts: z.array(z.object({ costMicroUsd: z.number().int().nonnegative() })).default([]),
});

/** `duplicate`: a request with this id had already succeeded, or was running outside the batch, so it was not run again. */
export type BatchItemOutcome = 'succeeded' | 'failed' | 'duplicate';

export interface BatchItem {
  requestId: string;
  workflowId: string;
  outcome: BatchItemOutcome;
  /** The request's dotted failure type (e.g. `FAILURE_TYPES.policyDenied`) when it failed. */
  failureType?: string;
  message?: string;
  /** What this request's attempts cost, failed attempts included; 0 for a duplicate (billed to its own run). */
  costUsd: number;
  routeId?: string;
}

export interface BatchProgress {
  batchId: string;
  total: number;
  /** Requests handed to Temporal so far (running or done). */
  started: number;
  completed: number;
  succeeded: number;
  failed: number;
  duplicates: number;
  running: number;
  /** The most request workflows ever running at once: never above the batch's concurrency. */
  maxRunning: number;
  costUsd: number;
}

export interface BatchResult {
  batchId: string;
  tenantId: string;
  total: number;
  succeeded: number;
  failed: number;
  duplicates: number;
  maxRunning: number;
  costUsd: number;
  /** The exact sum of the items' costs; `costUsd` is this in dollars. */
  costMicroUsd: number;
  /** One per request, in input order. */
  items: BatchItem[];
}

/** The query's name, shared by the workflow and clients that may import workflow types only. */
export const BATCH_PROGRESS_QUERY = 'batchProgress';

/** A batch id is unique per tenant, like a request id (DESIGN.md §2). */
export function batchWorkflowId(tenantId: string, batchId: string): string {
  return `gatehouse-batch/${tenantId}/${batchId}`;
}
