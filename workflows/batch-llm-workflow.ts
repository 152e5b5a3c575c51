// @temporalio/workflow does not re-export this error; @temporalio/common is the sandbox-safe package it is built on.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  defineQuery,
  isCancellation,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  BATCH_PROGRESS_QUERY,
  batchInputSchema,
  requestFailureDetailsSchema,
  type BatchInput,
  type BatchItem,
  type BatchProgress,
  type BatchResult,
} from '../domain/batch-contract';
import { sumAttemptCosts } from '../domain/build-llm-result';
import { microToUsd } from '../domain/cost';
import { FAILURE_TYPES } from '../domain/failure-types';
import { requestWorkflowId, type LlmRequest } from '../domain/request-contract';
import { requestStartAttributes, SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';
import type { llmRequestWorkflow } from './llm-request-workflow';
import { parseWorkflowInput } from './parse-workflow-input';

export const batchProgressQuery = defineQuery<BatchProgress>(BATCH_PROGRESS_QUERY);

/** An item's outcome plus its cost in exact micro-dollars, which the batch sums. */
type SettledItem = BatchItem & { costMicroUsd: number };

/** Reads a failed child's dotted failure type and the cost of the attempts it made before failing. */
function failedItem(request: LlmRequest, workflowId: string, failure: ChildWorkflowFailure): SettledItem {
  const cause = failure.cause;
  const base = { requestId: request.requestId, workflowId, outcome: 'failed' as const };
  if (cause instanceof ApplicationFailure) {
    const details = requestFailureDetailsSchema.safeParse(cause.details?.[0]);
    const costMicroUsd = details.success ? sumAttemptCosts(details.data.attempts) : 0;
    return {
      ...base,
      failureType: cause.type ?? FAILURE_TYPES.internal,
      message: cause.message,
      costMicroUsd,
      costUsd: microToUsd(costMicroUsd),
    };
  }
  // Terminated or timed out by an operator or the server: the request recorded nothing we can read here.
  const type = cause instanceof CancelledFailure ? FAILURE_TYPES.cancelled : FAILURE_TYPES.internal;
  return {
    ...base,
    failureType: type,
    message: cause?.message ?? failure.message,
    costMicroUsd: 0,
    costUsd: 0,
  };
}

/**
 * Runs a batch of prepared requests as child `llmRequestWorkflow`s, at most `concurrency` at a time
 * (DESIGN.md §1 "Batch"). A request that fails is reported in its item and never fails the batch; a
 * request whose id already succeeded (or is running elsewhere) is reported as a duplicate, not re-run.
 *
 * The batch's `Outcome` search attribute says how it ended: `succeeded` when every request succeeded (or
 * had already succeeded), `partially-failed` when some failed (how many is in the result and the progress
 * query; each failed request carries `Outcome=failed` itself), `cancelled` when the batch was cancelled.
 */
export async function batchLlmWorkflow(rawInput: BatchInput): Promise<BatchResult> {
  const input = parseWorkflowInput(batchInputSchema, rawInput, 'batch');
  const { batchId, tenantId, requests } = input;
  const total = requests.length;
  const requestTaskQueue = input.requestTaskQueue ?? workflowInfo().taskQueue;

  const items = new Array<BatchItem>(total);
  let started = 0;
  let running = 0;
  let maxRunning = 0;
  let succeeded = 0;
  let failed = 0;
  let duplicates = 0;
  let costMicroUsd = 0;
  setHandler(batchProgressQuery, () => ({
    batchId,
    total,
    started,
    completed: succeeded + failed + duplicates,
    succeeded,
    failed,
    duplicates,
    running,
    maxRunning,
    costUsd: microToUsd(costMicroUsd),
  }));
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.tenantId, value: tenantId },
    { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'running' },
  ]);

  /** Never throws except when the batch is cancelled: every other end of a request becomes its item. */
  async function runRequest(request: LlmRequest): Promise<SettledItem> {
    const workflowId = requestWorkflowId(tenantId, request.requestId);
    try {
      const child = await startChild<typeof llmRequestWorkflow>('llmRequestWorkflow', {
        workflowId,
        taskQueue: requestTaskQueue,
        args: [request],
        // As for a direct submit (DESIGN.md §2): a succeeded request is not run or charged again.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        // Cancelling the batch cancels its running requests, which still audit the cancellation and
        // release their reservations; terminating them would skip that.
        parentClosePolicy: 'REQUEST_CANCEL',
        // The same attributes a direct submit sets, so batch requests show up in the same queries.
        typedSearchAttributes: requestStartAttributes(request),
      });
      const result = await child.result();
      const cost = sumAttemptCosts(result.attempts);
      return {
        requestId: request.requestId,
        workflowId,
        outcome: 'succeeded',
        costMicroUsd: cost,
        costUsd: microToUsd(cost),
        routeId: result.route.id,
      };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        return {
          requestId: request.requestId,
          workflowId,
          outcome: 'duplicate',
          message: `request ${workflowId} already succeeded or is running outside this batch; not run again (its own workflow holds the result)`,
          costMicroUsd: 0,
          costUsd: 0,
        };
      }
      if (error instanceof ChildWorkflowFailure) return failedItem(request, workflowId, error);
      if (isCancellation(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      return {
        requestId: request.requestId,
        workflowId,
        outcome: 'failed',
        failureType: FAILURE_TYPES.internal,
        message,
        costMicroUsd: 0,
        costUsd: 0,
      };
    }
  }

  // The semaphore: `concurrency` lanes each take the next request when their last one ends. Workflow code
  // is single-threaded and replayed in order, so taking `next` is race-free and deterministic.
  let next = 0;
  async function runLane(): Promise<void> {
    while (next < total && !CancellationScope.current().consideredCancelled) {
      const index = next++;
      const request = requests[index];
      if (!request) return;
      started++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        const { costMicroUsd: itemCost, ...item } = await runRequest(request);
        items[index] = item;
        costMicroUsd += itemCost;
        if (item.outcome === 'succeeded') succeeded++;
        else if (item.outcome === 'failed') failed++;
        else duplicates++;
      } finally {
        running--;
      }
    }
  }

  // Wait for every lane, even after a cancellation, so that the batch closes only after its requests have.
  const lanes = await Promise.allSettled(
    Array.from({ length: Math.min(input.concurrency, total) }, () => runLane()),
  );
  if (lanes.some((lane) => lane.status === 'rejected') || CancellationScope.current().consideredCancelled) {
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'cancelled' }]);
    throw new CancelledFailure(
      `batch ${batchId} was cancelled after ${succeeded + failed + duplicates} of ${total} requests`,
    );
  }

  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: failed > 0 ? 'partially-failed' : 'succeeded' },
  ]);
  return {
    batchId,
    tenantId,
    total,
    succeeded,
    failed,
    duplicates,
    maxRunning,
    costUsd: microToUsd(costMicroUsd),
    costMicroUsd,
    items,
  };
}
