// Runs in the workflow sandbox. The same Temporal skeleton as a request — local steps, one activity on a
// route queue, a local step, then an activity on the request queue (record; retrieve is a local activity
// since decision 0030) — with no work in any of them, so the benchmark can tell the platform's own
// dispatch cost from Gatehouse's.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

interface CalibrationActivities {
  noop(): Promise<void>;
}

const local = proxyLocalActivities<CalibrationActivities>({ startToCloseTimeout: '10s' });
const sameQueue = proxyActivities<CalibrationActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 1 },
});
const routeQueue = proxyActivities<CalibrationActivities>({
  startToCloseTimeout: '10s',
  taskQueue: 'bench-calibration-route',
  retry: { maximumAttempts: 1 },
});

export async function dispatchFloorWorkflow(): Promise<void> {
  await local.noop();
  await routeQueue.noop();
  await local.noop();
  await sameQueue.noop();
}

/** The same steps all as local activities: what the path would cost if nothing left the workflow task. */
export async function localOnlyFloorWorkflow(): Promise<void> {
  for (let step = 0; step < 4; step++) await local.noop();
}

/**
 * The request path's own step count with no work in any step: six local steps (authorize, plan-retrieval,
 * retrieve, assemble-prompt, select-route, reserve-budget), infer on a route queue, validate, then record on
 * the request queue. What the SDK and the server cost for a request's shape before Gatehouse does anything.
 */
export async function requestShapeFloorWorkflow(): Promise<void> {
  for (let step = 0; step < 6; step++) await local.noop();
  await routeQueue.noop();
  await local.noop();
  await sameQueue.noop();
}

/** A workflow with no step at all: what the SDK and the server cost for one start and one completion. */
export async function emptyFloorWorkflow(): Promise<void> {
  return;
}
