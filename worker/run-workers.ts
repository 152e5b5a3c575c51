import { existsSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { GatehouseActivities } from '../activities/create-activities';
import { INFER_HEARTBEAT_INTERVAL_MS } from '../activities/infer';
import type { RouteTable } from '../domain/route-table';
import type { Telemetry } from '../telemetry/start-telemetry';
import { tracedBundlePath, tracingWorkerOptions } from '../telemetry/temporal-tracing';
import { planTaskQueues } from './plan-task-queues';
import { WORKFLOW_BUNDLER_OPTIONS } from './workflow-bundle-options';

export interface GatehouseWorkers {
  workers: Worker[];
  /** Resolves when every worker has stopped; rejects if one crashed. */
  running: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * One worker polls the request task queue (workflows and the non-inference activities); one more per
 * route task queue runs only `infer`, so each provider's quota can be shaped on its own queue. A
 * deployment may split them across processes (`taskQueues`) to scale each queue on its own backlog.
 */
export async function startGatehouseWorkers(options: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  routeTable: RouteTable;
  activities: GatehouseActivities;
  dataConverter: DataConverter;
  workflowBundlePath?: string;
  /** Poll only these task queues (the request queue and/or route queues); all of them when unset. */
  taskQueues?: readonly string[];
  /** With tracing on, workers trace workflows, activities and steps (and load the traced bundle). */
  telemetry?: Telemetry;
}): Promise<GatehouseWorkers> {
  // Tracing interceptors are compiled into workflow code: a traced worker loads the bundle built with them.
  const bundlePath =
    options.workflowBundlePath !== undefined && options.telemetry?.tracing
      ? tracedBundlePath(options.workflowBundlePath)
      : options.workflowBundlePath;
  const tracing = tracingWorkerOptions(options.telemetry, { prebuiltBundle: bundlePath !== undefined });
  if (bundlePath !== undefined && !existsSync(bundlePath)) {
    throw new Error(
      `the workflow bundle ${bundlePath} (GATEHOUSE_WORKFLOW_BUNDLE) does not exist: ` +
        'build it with `npm run bundle:workflows`, or unset the variable to bundle at start',
    );
  }
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> =
    bundlePath
      ? { workflowBundle: { codePath: bundlePath } }
      : { workflowsPath: require.resolve('../workflows'), bundlerOptions: WORKFLOW_BUNDLER_OPTIONS };
  const plan = planTaskQueues(options.taskQueue, options.routeTable, options.taskQueues);
  const requestWorker =
    plan.requestQueue === undefined
      ? undefined
      : await Worker.create({
          connection: options.connection,
          namespace: options.namespace,
          taskQueue: plan.requestQueue,
          dataConverter: options.dataConverter,
          ...workflowSource,
          ...tracing,
          activities: options.activities,
        });
  const routeWorkers = await Promise.all(
    [...plan.routeQueues].map(([taskQueue, limits]) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue,
        dataConverter: options.dataConverter,
        ...tracing,
        activities: { infer: options.activities.infer },
        maxConcurrentActivityTaskExecutions: limits.maxConcurrent,
        // Cancellation reaches an attempt only with a heartbeat's answer: send them as often as it beats.
        maxHeartbeatThrottleInterval: INFER_HEARTBEAT_INTERVAL_MS,
        // Enforced by the server across every worker polling this queue: the provider quota holds fleet-wide.
        maxTaskQueueActivitiesPerSecond: limits.activitiesPerSecond,
      }),
    ),
  );
  const workers = requestWorker === undefined ? routeWorkers : [requestWorker, ...routeWorkers];
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
