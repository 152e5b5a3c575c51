import { ActivityFailure, ApplicationFailure, CancelledFailure, type Client } from '@temporalio/client';
import {
  decodeFromPayloadsAtIndex,
  decodeOptionalFailureToOptionalError,
} from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { usageCostMicroUsd } from '../domain/cost';
import { INFERENCE_FAILURE_TYPES } from '../domain/failure-types';
import { decodeInferenceFailure } from '../domain/inference-failure';
import type { LlmRequest } from '../domain/request-contract';
import { STEP_ACTIVITY_TYPES, stepOfActivityType, type StepName } from '../domain/step-names';
import { localActivityMarkerOf } from './local-activity-marker';
import type {
  AttemptAttribution,
  InferenceAttempt,
  InferenceRequest,
  InferenceResponse,
  Timed,
} from '../domain/step-contracts';

const EventType = temporal.api.enums.v1.EventType;
const ResetCause = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** How a run of a request workflow ended, as Temporal tells it. */
export type RunStatus =
  | 'RUNNING'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELED'
  | 'TERMINATED'
  | 'TIMED_OUT'
  | 'CONTINUED_AS_NEW'
  | 'UNKNOWN';

/** A Reset that started a run: where it came from, who asked, why. */
export interface ResetFacts {
  baseRunId: string;
  /** The event of the base run the operator reset to (this run re-executed that workflow task). */
  eventId: number;
  reason: string;
  identity: string;
}

/** What a run's history proves: how it ended, which steps and attempts it really performed itself. */
export interface RunHistoryFacts {
  workflowId: string;
  runId: string;
  request?: LlmRequest;
  status: RunStatus;
  closedAt?: string;
  /** Terminate reason, timeout type, or the failure message of a failed run. */
  closeReason?: string;
  /** Who terminated the run, when Temporal recorded it. */
  closedBy?: string;
  /** Steps this run completed itself, as activities or local activities (copied ones are excluded). */
  stepsCompleted: StepName[];
  /** Inference attempts this run made and that finished: their usage is proven by the history. */
  attempts: InferenceAttempt[];
  /** Who and what each of those attempts was for, as the workflow sent it to the infer activity. */
  attributions: Map<number, AttemptAttribution>;
  /** Attempts this run started whose outcome the history does not hold (in flight when it closed). */
  attemptsInFlight: Array<{ attempt: number; routeId: string }>;
  /** The Reset that started this run, if one did. */
  reset?: ResetFacts;
}

const CLOSE_STATUS: Partial<Record<number, RunStatus>> = {
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]: 'COMPLETED',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]: 'FAILED',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED]: 'CANCELED',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]: 'TERMINATED',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT]: 'TIMED_OUT',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW]: 'CONTINUED_AS_NEW',
};

function isoOf(event: HistoryEvent): string | undefined {
  const seconds = event.eventTime?.seconds;
  if (seconds === undefined || seconds === null) return undefined;
  return new Date(Number(seconds) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6)).toISOString();
}

/** The input a request workflow was started with (the latest run's, which a Reset copies unchanged). */
export async function readRequestInput(client: Client, workflowId: string): Promise<LlmRequest | undefined> {
  const response = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const started = response.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started?.input?.payloads) return undefined;
  return decodeFromPayloadsAtIndex<LlmRequest>(client.options.loadedDataConverter, 0, started.input.payloads);
}

/**
 * Reads one run's history and keeps what it proves. Results a Reset copied from an earlier run carry that
 * run's id (activities report the run they ran for), so only this run's own work is attributed to it.
 */
export async function readRunHistory(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<RunHistoryFacts> {
  const converter = client.options.loadedDataConverter;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const facts: RunHistoryFacts = {
    workflowId,
    runId,
    status: 'RUNNING',
    stepsCompleted: [],
    attempts: [],
    attributions: new Map(),
    attemptsInFlight: [],
  };
  const scheduled = new Map<number, { activityType: string; input?: InferenceRequest }>();
  const finished = new Set<number>();
  for (const event of events) {
    const eventId = Number(event.eventId);
    const started = event.workflowExecutionStartedEventAttributes;
    if (started?.input?.payloads) {
      facts.request = await decodeFromPayloadsAtIndex<LlmRequest>(converter, 0, started.input.payloads);
    }
    const taskFailed = event.workflowTaskFailedEventAttributes;
    if (taskFailed?.cause === ResetCause && taskFailed.newRunId === runId) {
      facts.reset = {
        baseRunId: taskFailed.baseRunId ?? '',
        eventId,
        reason: taskFailed.failure?.message ?? '',
        identity: taskFailed.identity ?? '',
      };
    }
    const activity = event.activityTaskScheduledEventAttributes;
    if (activity?.activityType?.name) {
      const isInfer = activity.activityType.name === STEP_ACTIVITY_TYPES.infer;
      scheduled.set(eventId, {
        activityType: activity.activityType.name,
        input:
          isInfer && activity.input?.payloads
            ? await decodeFromPayloadsAtIndex<InferenceRequest>(converter, 0, activity.input.payloads)
            : undefined,
      });
    }
    await readActivityOutcome(event, scheduled, finished, facts, converter);
    await readLocalStep(event, facts, converter);
    const status = CLOSE_STATUS[event.eventType ?? 0];
    if (status) {
      facts.status = status;
      facts.closedAt = isoOf(event);
      const terminated = event.workflowExecutionTerminatedEventAttributes;
      if (terminated) {
        facts.closeReason = terminated.reason ?? '';
        facts.closedBy = terminated.identity ?? undefined;
      }
      const timedOut = event.workflowExecutionTimedOutEventAttributes;
      if (timedOut) facts.closeReason = 'the workflow execution timed out';
      const failed = event.workflowExecutionFailedEventAttributes;
      if (failed) facts.closeReason = failed.failure?.message ?? '';
    }
  }
  for (const [eventId, entry] of scheduled) {
    if (finished.has(eventId) || !entry.input) continue;
    // Only attempts this run scheduled after its own start: copied ones finished in their own run.
    facts.attemptsInFlight.push({ attempt: entry.input.attempt, routeId: entry.input.route.id });
  }
  return facts;
}

/** A step that ran as a local activity and completed in this run (a Reset copies earlier runs' markers too). */
async function readLocalStep(
  event: HistoryEvent,
  facts: RunHistoryFacts,
  converter: Client['options']['loadedDataConverter'],
): Promise<void> {
  const marker = localActivityMarkerOf(event);
  const step = marker ? stepOfActivityType(marker.activityType) : undefined;
  if (!marker?.result || !step) return;
  const result = await decodeFromPayloadsAtIndex<Timed<unknown>>(converter, 0, marker.result);
  if (result.runId === facts.runId) facts.stepsCompleted.push(step);
}

async function readActivityOutcome(
  event: HistoryEvent,
  scheduled: Map<number, { activityType: string; input?: InferenceRequest }>,
  finished: Set<number>,
  facts: RunHistoryFacts,
  converter: Client['options']['loadedDataConverter'],
): Promise<void> {
  const completed = event.activityTaskCompletedEventAttributes;
  const failed = event.activityTaskFailedEventAttributes;
  const cancelled = event.activityTaskCanceledEventAttributes;
  const timedOut = event.activityTaskTimedOutEventAttributes;
  const scheduledEventId = Number(
    (completed ?? failed ?? cancelled ?? timedOut)?.scheduledEventId ?? Number.NaN,
  );
  if (Number.isNaN(scheduledEventId)) return;
  finished.add(scheduledEventId);
  const entry = scheduled.get(scheduledEventId);
  if (!entry) return;
  const step = stepOfActivityType(entry.activityType);
  if (completed?.result?.payloads) {
    const result = await decodeFromPayloadsAtIndex<Timed<unknown>>(converter, 0, completed.result.payloads);
    if (result.runId !== facts.runId) return;
    if (step) facts.stepsCompleted.push(step);
    if (entry.input) {
      const response = result.value as InferenceResponse;
      facts.attributions.set(entry.input.attempt, entry.input.attribution);
      facts.attempts.push(attemptOf(facts.runId, entry.input, 'succeeded', response.usage, false, undefined));
    }
    return;
  }
  if (!entry.input) return;
  const failure = failed?.failure ?? cancelled?.details;
  // A timed-out attempt says nothing about its usage; the infer activity itself recorded what it could.
  if (timedOut || !failure) return;
  const error = failed?.failure
    ? await decodeOptionalFailureToOptionalError(converter, failed.failure)
    : undefined;
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const details =
    cause instanceof ApplicationFailure || cause instanceof CancelledFailure
      ? decodeInferenceFailure(cause.details)
      : cancelled?.details?.payloads
        ? decodeInferenceFailure([
            await decodeFromPayloadsAtIndex<unknown>(converter, 0, cancelled.details.payloads),
          ])
        : undefined;
  // A Reset copies an earlier run's failures too; only this run's own attempts count here.
  if (!details || details.runId !== facts.runId) return;
  facts.attributions.set(entry.input.attempt, entry.input.attribution);
  facts.attempts.push(
    attemptOf(
      facts.runId,
      entry.input,
      cancelled ? 'cancelled' : 'failed',
      details.usage,
      details.usageEstimated,
      cancelled ? INFERENCE_FAILURE_TYPES.cancelled : details.failureType,
    ),
  );
}

function attemptOf(
  runId: string,
  request: InferenceRequest,
  outcome: InferenceAttempt['outcome'],
  usage: InferenceAttempt['usage'],
  usageEstimated: boolean,
  failureType: string | undefined,
): InferenceAttempt {
  return {
    attempt: request.attempt,
    runId,
    routeId: request.route.id,
    provider: request.route.provider,
    model: request.route.model,
    outcome,
    failureType,
    usage,
    usageEstimated,
    costMicroUsd: usageCostMicroUsd(request.route, usage),
    ...(request.route.pricingVersion === undefined ? {} : { pricingVersion: request.route.pricingVersion }),
    latencyMs: 0,
  };
}

/** A run's status without reading its history; 'UNKNOWN' when Temporal no longer has it. */
export async function describeRunStatus(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<RunStatus> {
  try {
    const description = await client.workflow.getHandle(workflowId, runId).describe();
    return (description.status.name as RunStatus | undefined) ?? 'UNKNOWN';
  } catch (error) {
    if ((error as { name?: string }).name === 'WorkflowNotFoundError') return 'UNKNOWN';
    throw error;
  }
}
