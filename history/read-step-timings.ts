import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { stepOfActivityType, type StepName } from '../domain/step-names';
import { localActivityMarkerOf } from './local-activity-marker';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * One timed piece of a run as its history tells it. Activities: scheduled → started is queueing (the task
 * waited for a worker, retry backoff included), started → closed is work. Workflow tasks likewise. Local
 * activities run inside a workflow task and leave only a marker, so the history gives their step, not
 * their duration; `request` is the whole run, start to close.
 */
export interface HistoryTiming {
  kind: 'activity' | 'local-activity' | 'workflow-task' | 'request';
  /** The request path's step, for activities and local activities of it. */
  step?: StepName;
  queueMs?: number;
  workMs?: number;
  /** Milliseconds from the run's start to when this piece was scheduled. */
  offsetMs?: number;
}

function millisecondsOf(event: HistoryEvent): number | undefined {
  const seconds = event.eventTime?.seconds;
  if (seconds === undefined || seconds === null) return undefined;
  return Number(seconds) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
}

function closingScheduledEventId(event: HistoryEvent): number | undefined {
  const closed =
    event.activityTaskCompletedEventAttributes ??
    event.activityTaskFailedEventAttributes ??
    event.activityTaskTimedOutEventAttributes ??
    event.activityTaskCanceledEventAttributes ??
    event.workflowTaskCompletedEventAttributes ??
    event.workflowTaskFailedEventAttributes ??
    event.workflowTaskTimedOutEventAttributes;
  const id = closed?.scheduledEventId;
  return id === undefined || id === null ? undefined : Number(id);
}

/** Reads the timings of one run's history: every activity, local activity, workflow task, and the run. */
export function readStepTimings(events: readonly HistoryEvent[]): HistoryTiming[] {
  const timings: HistoryTiming[] = [];
  const open = new Map<
    number,
    { kind: 'activity' | 'workflow-task'; step?: StepName; scheduledAt: number }
  >();
  const startedAt = new Map<number, number>();
  let runStart: number | undefined;
  for (const event of events) {
    const at = millisecondsOf(event);
    const id = Number(event.eventId ?? 0);
    if (at === undefined) continue;
    if (event.workflowExecutionStartedEventAttributes) runStart = at;
    const activity = event.activityTaskScheduledEventAttributes;
    if (activity) {
      open.set(id, {
        kind: 'activity',
        step: stepOfActivityType(activity.activityType?.name ?? ''),
        scheduledAt: at,
      });
    }
    if (event.workflowTaskScheduledEventAttributes) open.set(id, { kind: 'workflow-task', scheduledAt: at });
    const started = event.activityTaskStartedEventAttributes ?? event.workflowTaskStartedEventAttributes;
    if (started?.scheduledEventId !== undefined && started.scheduledEventId !== null) {
      startedAt.set(Number(started.scheduledEventId), at);
    }
    const localType = localActivityMarkerOf(event)?.activityType;
    if (localType !== undefined) {
      const step = stepOfActivityType(localType);
      if (step) timings.push({ kind: 'local-activity', step });
    }
    const scheduledId = closingScheduledEventId(event);
    if (scheduledId !== undefined) {
      const entry = open.get(scheduledId);
      const began = startedAt.get(scheduledId);
      if (entry && began !== undefined) {
        timings.push({
          kind: entry.kind,
          ...(entry.step ? { step: entry.step } : {}),
          queueMs: began - entry.scheduledAt,
          workMs: at - began,
          ...(runStart === undefined ? {} : { offsetMs: entry.scheduledAt - runStart }),
        });
      }
      open.delete(scheduledId);
    }
    if (runStart !== undefined && isRunClose(event)) timings.push({ kind: 'request', workMs: at - runStart });
  }
  return timings;
}

function isRunClose(event: HistoryEvent): boolean {
  return Boolean(
    event.workflowExecutionCompletedEventAttributes ??
    event.workflowExecutionFailedEventAttributes ??
    event.workflowExecutionCanceledEventAttributes ??
    event.workflowExecutionTerminatedEventAttributes ??
    event.workflowExecutionTimedOutEventAttributes ??
    event.workflowExecutionContinuedAsNewEventAttributes,
  );
}

/**
 * Fetches the histories of the given runs, a few at a time, and reads their timings. A run whose
 * history is not there (retention, another cluster) is counted as missing, not an error.
 */
export async function readRunsStepTimings(
  client: Client,
  runs: ReadonlyArray<{ workflowId: string; runId: string }>,
  concurrency = 4,
): Promise<{ timings: HistoryTiming[]; runsRead: number; runsMissing: number }> {
  const timings: HistoryTiming[] = [];
  let runsRead = 0;
  let runsMissing = 0;
  let next = 0;
  const readNext = async (): Promise<void> => {
    while (next < runs.length) {
      const run = runs[next++]!;
      try {
        const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
        timings.push(...readStepTimings(history.events ?? []));
        runsRead++;
      } catch (error) {
        // Gone (retention), or an id this server cannot hold (3: INVALID_ARGUMENT, 5: NOT_FOUND).
        const code = (error as { code?: number }).code;
        if (!(error instanceof WorkflowNotFoundError) && code !== 3 && code !== 5) throw error;
        runsMissing++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs.length) }, readNext));
  return { timings, runsRead, runsMissing };
}
