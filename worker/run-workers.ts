import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { GatehouseActivities } from '../activities/create-activities';
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
  workflowBundlePath?: string;
}): Promise<GatehouseWorkers> {
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath: require.resolve('../workflows') };
  const requestWorker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...workflowSource,
    activities: options.activities,
  });
  const routeQueues = [...new Set(options.routeTable.routes.map((route) => route.taskQueue))];
  const routeWorkers = await Promise.all(
    routeQueues.map((taskQueue) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue,
        activities: { infer: options.activities.infer },
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
