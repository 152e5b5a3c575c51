import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { GatehouseActivities } from '../activities/create-activities';
import { INFER_HEARTBEAT_INTERVAL_MS } from '../activities/infer';
import type { RouteTable } from '../domain/route-table';

export interface GatehouseWorkers {
  workers: Worker[];
  /** Resolves when every worker has stopped; rejects if one crashed. */
  running: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * One worker polls the request task queue (workflows and the non-inference activities); one more per
 * route task queue runs only `infer`, so each provider's quota can be shaped on its own queue.
 */
export async function startGatehouseWorkers(options: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  routeTable: RouteTable;
  activities: GatehouseActivities;
  dataConverter: DataConverter;
  workflowBundlePath?: string;
}): Promise<GatehouseWorkers> {
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath: require.resolve('../workflows') };
  const requestWorker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    dataConverter: options.dataConverter,
    ...workflowSource,
    activities: options.activities,
  });
  // Routes sharing a queue share its limits; the strictest one wins.
  const queueLimits = new Map<string, { maxConcurrent: number; activitiesPerSecond?: number }>();
  for (const route of options.routeTable.routes) {
    const known = queueLimits.get(route.taskQueue);
    const rates = [known?.activitiesPerSecond, route.rateLimit.activitiesPerSecond].filter(
      (rate): rate is number => rate !== undefined,
    );
    queueLimits.set(route.taskQueue, {
      maxConcurrent: Math.min(known?.maxConcurrent ?? Infinity, route.rateLimit.maxConcurrent),
      activitiesPerSecond: rates.length > 0 ? Math.min(...rates) : undefined,
    });
  }
  const routeWorkers = await Promise.all(
    [...queueLimits].map(([taskQueue, limits]) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue,
        dataConverter: options.dataConverter,
        activities: { infer: options.activities.infer },
        maxConcurrentActivityTaskExecutions: limits.maxConcurrent,
        // Cancellation reaches an attempt only with a heartbeat's answer: send them as often as it beats.
        maxHeartbeatThrottleInterval: INFER_HEARTBEAT_INTERVAL_MS,
        // Enforced by the server across every worker polling this queue: the provider quota holds fleet-wide.
        maxTaskQueueActivitiesPerSecond: limits.activitiesPerSecond,
      }),
    ),
  );
  const workers = [requestWorker, ...routeWorkers];
  const running = Promise.all(workers.map((worker) => worker.run())).then(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    workers,
    running,
    shutdown() {
      stopping ??= (async () => {
        for (const worker of workers) {
          if (worker.getState() === 'RUNNING') worker.shutdown();
        }
        await running.catch(() => undefined);
      })();
      return stopping;
    },
  };
}
