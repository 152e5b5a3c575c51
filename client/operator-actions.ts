import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { AUDIT_EVENT_TYPES } from '../domain/audit-event';
import { parseRequestWorkflowId, requestWorkflowId } from '../domain/request-contract';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';
import { isStepName, STEP_ACTIVITY_TYPES, STEP_NAMES, type StepName } from '../domain/step-names';
import { appendOperatorEvent, type AuditWriter } from '../store/audit-repository';
import { cancelRequest } from './gatehouse-client';
import { quoteVisibilityValue } from './visibility-query';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Thrown when an operator action cannot be done as asked; the message says why and what to do. */
export class OperatorActionError extends Error {
  override readonly name = 'OperatorActionError';
}

/** Who acts and why; both go into the audit trail (and, for a reset, into Temporal's reset reason). */
export interface OperatorNote {
  operator: string;
  reason: string;
}

const CLOSED_FOR_RETRY = new Set(['FAILED', 'TERMINATED', 'CANCELED', 'CANCELLED', 'TIMED_OUT']);

function activityTypeOfMarker(event: HistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.['data']?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type;
  } catch {
    return undefined;
  }
}

/**
 * The event to reset to so that `step` runs again and nothing before it does: the completion of the
 * workflow task that first scheduled the step's activity (or recorded it as a local activity). Reset
 * keeps everything up to that task and re-executes it. Local steps scheduled in the same task run again
 * with it (e.g. `select-route` and `reserve-budget` before the first attempt of `infer`).
 */
export function resetPointFor(events: readonly HistoryEvent[], step: StepName): number | undefined {
  const activityType = STEP_ACTIVITY_TYPES[step];
  let lastCompletedTask: number | undefined;
  for (const event of events) {
    if (event.workflowTaskCompletedEventAttributes) lastCompletedTask = Number(event.eventId);
    const scheduled = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled === activityType || activityTypeOfMarker(event) === activityType) return lastCompletedTask;
  }
  return undefined;
}

export interface RetryResult {
  workflowId: string;
  baseRunId: string;
  newRunId: string;
  step: StepName;
  eventId: number;
}

/**
 * `gatehouse requests retry`: resets the request's latest run through Temporal to the workflow task before
 * its failed step (or the step given), with the operator and reason in the reset reason and, first, in
 * the audit trail. The new run records the Reset itself and settles what the old run left open.
 */
export async function retryRequest(
  client: Client,
  audit: AuditWriter,
  input: { workflowId: string; step?: StepName; note: OperatorNote },
): Promise<RetryResult> {
  const handle = client.workflow.getHandle(input.workflowId);
  const description = await handle.describe();
  const baseRunId = description.runId;
  const status = description.status.name;
  if (status === 'RUNNING') {
    throw new OperatorActionError(
      `${input.workflowId} is still running; cancel or terminate it before a retry`,
    );
  }
  if (!CLOSED_FOR_RETRY.has(status)) {
    throw new OperatorActionError(
      `${input.workflowId} ended ${status}; only failed, cancelled, terminated or timed-out requests are retried`,
    );
  }
  const failedStep = description.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.failedStep);
  const step = input.step ?? (isStepName(failedStep) ? failedStep : undefined);
  if (!step) {
    throw new OperatorActionError(
      `${input.workflowId} has no failed step on record; name one with --from-step (${STEP_NAMES.join(', ')})`,
    );
  }
  const history = await client.workflow.getHandle(input.workflowId, baseRunId).fetchHistory();
  const eventId = resetPointFor(history.events ?? [], step);
  if (eventId === undefined) {
    throw new OperatorActionError(
      `step '${step}' never ran in run ${baseRunId} of ${input.workflowId}; pick an earlier step`,
    );
  }
  const tenantId = parseRequestWorkflowId(input.workflowId)?.tenantId ?? '';
  await appendOperatorEvent(audit.db, audit.chainKey, {
    tenantId,
    workflowId: input.workflowId,
    runId: baseRunId,
    eventType: AUDIT_EVENT_TYPES.operatorRetry,
    payload: { operator: input.note.operator, reason: input.note.reason, fromStep: step, eventId },
  });
  const response: { runId?: string | null } = await client.workflowService.resetWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId: input.workflowId, runId: baseRunId },
    reason: resetReason(input.note),
    workflowTaskFinishEventId: Long.fromNumber(eventId),
    requestId: randomUUID(),
  });
  return { workflowId: input.workflowId, baseRunId, newRunId: response.runId ?? '', step, eventId };
}

/** Temporal records the reason, not the caller: the operator is named in it. */
export function resetReason(note: OperatorNote): string {
  return `${note.reason} [retry by ${note.operator}]`;
}

export interface BulkRetryPlan {
  /** Requests that will be reset, grouped by the event each resets to (one batch operation per group). */
  groups: Array<{
    eventId: number;
    step: StepName;
    executions: Array<{ workflowId: string; runId: string }>;
  }>;
  /** Matching requests that cannot be retried, and why. */
  skipped: Array<{ workflowId: string; reason: string }>;
}

/**
 * Plans a bulk retry: every closed, failed-kind request of the tenant matching the operator's query,
 * each with the event before its own failed step (or `step`). Requests whose histories agree on that
 * event share one Temporal batch operation.
 */
export async function planBulkRetry(
  client: Client,
  input: { tenantId: string; query: string; step?: StepName; limit: number },
): Promise<BulkRetryPlan> {
  const query =
    `WorkflowType = 'llmRequestWorkflow' AND TenantId = ${quoteVisibilityValue(input.tenantId)} ` +
    `AND ExecutionStatus IN ('Failed', 'Terminated', 'Canceled', 'TimedOut') AND (${input.query})`;
  const plan: BulkRetryPlan = { groups: [], skipped: [] };
  const latest = new Map<string, { runId: string; startTime: number; failedStep?: string }>();
  const ownPrefix = requestWorkflowId(input.tenantId, '');
  for await (const execution of client.workflow.list({ query })) {
    // The operator's query is theirs to write; whatever it says, only this tenant's requests are reset.
    if (!execution.workflowId.startsWith(ownPrefix)) continue;
    const known = latest.get(execution.workflowId);
    if (known && known.startTime >= execution.startTime.getTime()) continue;
    latest.set(execution.workflowId, {
      runId: execution.runId,
      startTime: execution.startTime.getTime(),
      failedStep: execution.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.failedStep),
    });
    if (latest.size > input.limit) break;
  }
  const byEvent = new Map<string, BulkRetryPlan['groups'][number]>();
  for (const [workflowId, run] of latest) {
    // Only the request's current run may be reset; an older run of it already has a successor.
    const current = await client.workflow.getHandle(workflowId).describe();
    if (current.runId !== run.runId) {
      plan.skipped.push({ workflowId, reason: 'a newer run exists' });
      continue;
    }
    const step = input.step ?? (isStepName(run.failedStep) ? run.failedStep : undefined);
    if (!step) {
      plan.skipped.push({ workflowId, reason: 'no failed step on record' });
      continue;
    }
    const history = await client.workflow.getHandle(workflowId, run.runId).fetchHistory();
    const eventId = resetPointFor(history.events ?? [], step);
    if (eventId === undefined) {
      plan.skipped.push({ workflowId, reason: `step '${step}' never ran` });
      continue;
    }
    const key = `${step}:${eventId}`;
    const group = byEvent.get(key) ?? { eventId, step, executions: [] };
    group.executions.push({ workflowId, runId: run.runId });
    byEvent.set(key, group);
  }
  plan.groups = [...byEvent.values()];
  return plan;
}

/**
 * Carries out a bulk retry plan through Temporal's batch operations (visible in the UI), after writing
 * each request's `operator.retry` event; reports progress as the batches run.
 */
export async function runBulkRetry(
  client: Client,
  audit: AuditWriter,
  input: {
    tenantId: string;
    plan: BulkRetryPlan;
    note: OperatorNote;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<{ jobIds: string[]; completed: number; failed: number }> {
  const total = input.plan.groups.reduce((count, group) => count + group.executions.length, 0);
  const jobIds: string[] = [];
  for (const group of input.plan.groups) {
    for (const execution of group.executions) {
      await appendOperatorEvent(audit.db, audit.chainKey, {
        tenantId: input.tenantId,
        ...execution,
        eventType: AUDIT_EVENT_TYPES.operatorRetry,
        payload: {
          operator: input.note.operator,
          reason: input.note.reason,
          fromStep: group.step,
          eventId: group.eventId,
          bulk: true,
        },
      });
    }
    const jobId = `gatehouse-retry-${randomUUID()}`;
    await client.workflowService.startBatchOperation({
      namespace: client.options.namespace,
      jobId,
      reason: resetReason(input.note),
      // `executions` (rather than the newer `targetExecutions`) is understood by every server version we start.
      executions: group.executions,
      resetOperation: {
        identity: `gatehouse-cli:${input.note.operator}`,
        options: { workflowTaskId: Long.fromNumber(group.eventId) },
      },
    });
    jobIds.push(jobId);
  }
  let completed = 0;
  let failed = 0;
  for (;;) {
    completed = 0;
    failed = 0;
    let running = false;
    for (const jobId of jobIds) {
      const batch = await client.workflowService.describeBatchOperation({
        namespace: client.options.namespace,
        jobId,
      });
      completed += Number(batch.completeOperationCount ?? 0);
      failed += Number(batch.failureOperationCount ?? 0);
      if (batch.state === temporal.api.enums.v1.BatchOperationState.BATCH_OPERATION_STATE_RUNNING)
        running = true;
    }
    input.onProgress?.(completed + failed, total);
    if (!running) return { jobIds, completed, failed };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * What an operator can do to a running request. Cancel: the workflow's own cancel path records it.
 * Terminate: no workflow code runs, so the reconciler records the `request.terminated` event and settles
 * the run's reservations within one period.
 */
const RUNNING_REQUEST_ACTIONS = {
  cancel: {
    eventType: AUDIT_EVENT_TYPES.operatorCancel,
    act: (client: Client, workflowId: string, _runId: string, note: OperatorNote) =>
      cancelRequest(client, workflowId, { by: note.operator, reason: note.reason }),
  },
  terminate: {
    eventType: AUDIT_EVENT_TYPES.operatorTerminate,
    act: (client: Client, workflowId: string, runId: string, note: OperatorNote) =>
      client.workflow
        .getHandle(workflowId, runId)
        .terminate(`${note.reason} [terminated by ${note.operator}]`),
  },
} as const;

export type RunningRequestAction = keyof typeof RUNNING_REQUEST_ACTIONS;

/**
 * Cancels or terminates a request as an operator: refused when it is not running, audited before it is
 * carried out.
 */
export async function actOnRunningRequest(
  client: Client,
  audit: AuditWriter,
  workflowId: string,
  verb: RunningRequestAction,
  note: OperatorNote,
): Promise<void> {
  const description = await client.workflow.getHandle(workflowId).describe();
  if (description.status.name !== 'RUNNING') {
    throw new OperatorActionError(
      `${workflowId} is not running (${description.status.name}); nothing to ${verb}`,
    );
  }
  const action = RUNNING_REQUEST_ACTIONS[verb];
  await appendOperatorEvent(audit.db, audit.chainKey, {
    tenantId: parseRequestWorkflowId(workflowId)?.tenantId ?? '',
    workflowId,
    runId: description.runId,
    eventType: action.eventType,
    payload: { operator: note.operator, reason: note.reason },
  });
  await action.act(client, workflowId, description.runId, note);
}
