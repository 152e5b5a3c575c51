import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ReconcileClosedRunsInput } from '../activities/reconcile-closed-runs';

export const RECONCILER_SCHEDULE_ID = 'gatehouse-reconciler';
export const DEFAULT_TASK_QUEUE = 'gatehouse-requests';

/** One reconciler per task queue a fleet serves: `gatehouse-reconciler` for the default queue. */
export function reconcilerScheduleIdFor(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE ? RECONCILER_SCHEDULE_ID : `${RECONCILER_SCHEDULE_ID}-${taskQueue}`;
}

export interface ReconcilerScheduleOptions {
  taskQueue: string;
  intervalMs: number;
  /** One schedule per namespace by default; tests use their own. */
  scheduleId?: string;
  input?: Partial<ReconcileClosedRunsInput>;
}

/**
 * Creates the reconciler's Temporal Schedule (visible in the UI under Schedules) unless it exists: every
 * interval it starts `reconcileRequestsWorkflow`, skipping a pass while the previous one still runs.
 */
export async function ensureReconcilerSchedule(
  client: Client,
  options: ReconcilerScheduleOptions,
): Promise<boolean> {
  const scheduleId = options.scheduleId ?? reconcilerScheduleIdFor(options.taskQueue);
  const input: ReconcileClosedRunsInput = {
    // A reservation younger than two intervals most likely belongs to a run that is still working.
    graceMs: options.input?.graceMs ?? 2 * options.intervalMs,
    lookbackMs: options.input?.lookbackMs ?? 24 * 3600_000,
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: options.intervalMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'reconcileRequestsWorkflow',
        workflowId: `${scheduleId}-pass`,
        taskQueue: options.taskQueue,
        args: [input],
        workflowExecutionTimeout: Math.max(options.intervalMs * 10, 600_000),
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: options.intervalMs * 2 },
    });
    return true;
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) return false;
    throw error;
  }
}
