import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type { RouteTable } from '../domain/route-table';
import type { Telemetry } from '../telemetry/start-telemetry';
import { tracingClientInterceptors } from '../telemetry/temporal-tracing';
import { buildActivities } from './build-activities';
import { startGatehouseWorkers, type GatehouseWorkers } from './run-workers';

export interface GatehouseRuntime {
  /**
   * A client on the same namespace, for submitting requests and for the activities' stream signals. It
   * shares the workers' connection, so starts may be eager when the request queue is polled here.
   */
  client: Client;
  /** The request task queue is polled in this process: `GatehouseClient` may start workflows eagerly. */
  eagerStart: boolean;
  workers: GatehouseWorkers;
  /** Stops the workers, then closes both connections. */
  close(): Promise<void>;
}

type ActivityOptions = Omit<
  Parameters<typeof buildActivities>[0],
  'db' | 'routeTable' | 'client' | 'audit' | 'telemetry' | 'keyring'
>;

/**
 * Connects to Temporal and runs Gatehouse's workers: the one composition shared by `npm start`, the
 * test harness and the benchmarks, so all three run the same wiring.
 */
export async function startGatehouseRuntime(options: {
  address: string;
  namespace: string;
  tls?: boolean;
  apiKey?: string;
  taskQueue: string;
  db: Parameters<typeof buildActivities>[0]['db'];
  routeTable: RouteTable;
  /** The audit trail's keys and checkpoint sink (README, "Reading a request's record"). */
  audit: Parameters<typeof buildActivities>[0]['audit'];
  /** `createGatehouseDataConverter(keyring)`: the same payload encryption on the client and every worker. */
  dataConverter: DataConverter;
  /** The keyring of that converter: content kept by reference is sealed with it (docs/decisions/0026). */
  keyring: Parameters<typeof buildActivities>[0]['keyring'];
  activities?: ActivityOptions;
  /** A bundle built ahead of time must include `ENCRYPTED_FAILURE_CONVERTER_PATH` as its failure converter. */
  workflowBundlePath?: string;
  /** Poll only these task queues; every queue (request and routes) when unset. */
  taskQueues?: readonly string[];
  /** Runs on the client connection before any worker polls, e.g. to register search attributes. */
  beforeWorkers?: (connection: Connection) => Promise<void>;
  /** `startTelemetry(...)`: traces and metrics of the client, the workers and the activities. */
  telemetry?: Telemetry;
}): Promise<GatehouseRuntime> {
  const connectionOptions = {
    address: options.address,
    tls: options.tls ? {} : undefined,
    apiKey: options.apiKey,
  };
  const connection = await Connection.connect(connectionOptions);
  let workerConnection: NativeConnection | undefined;
  try {
    await options.beforeWorkers?.(connection);
    workerConnection = await NativeConnection.connect(connectionOptions);
    // Built on the workers' connection: eager workflow start hands a new request's first workflow task
    // straight to the worker in this process, without a dispatch through the matching service.
    const client = new Client({
      connection: workerConnection,
      namespace: options.namespace,
      dataConverter: options.dataConverter,
      interceptors: tracingClientInterceptors(options.telemetry),
    });
    const workers = await startGatehouseWorkers({
      connection: workerConnection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      routeTable: options.routeTable,
      dataConverter: options.dataConverter,
      activities: buildActivities({
        ...options.activities,
        db: options.db,
        audit: options.audit,
        keyring: options.keyring,
        routeTable: options.routeTable,
        client,
        telemetry: options.telemetry?.requestTelemetry,
      }),
      workflowBundlePath: options.workflowBundlePath,
      taskQueues: options.taskQueues,
      telemetry: options.telemetry,
    });
    const openWorkerConnection = workerConnection;
    return {
      client,
      eagerStart: workers.workers.some((worker) => worker.options.taskQueue === options.taskQueue),
      workers,
      async close() {
        await workers.shutdown();
        await openWorkerConnection.close();
        await connection.close();
      },
    };
  } catch (error) {
    await workerConnection?.close();
    await connection.close();
    throw error;
  }
}
