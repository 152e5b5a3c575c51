import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type { RouteTable } from '../domain/route-table';
import type { Telemetry } from '../telemetry/start-telemetry';
import { tracingClientInterceptors } from '../telemetry/temporal-tracing';
import { buildActivities } from './build-activities';
import { startGatehouseWorkers, type GatehouseWorkers } from './run-workers';

export interface GatehouseRuntime {
  /** A client on the same namespace, for submitting requests and for the activities' stream signals. */
  client: Client;
  workers: GatehouseWorkers;
  /** Stops the workers, then closes both connections. */
  close(): Promise<void>;
}

type ActivityOptions = Omit<
  Parameters<typeof buildActivities>[0],
  'db' | 'routeTable' | 'client' | 'telemetry'
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
  /** `createGatehouseDataConverter(keyring)`: the same payload encryption on the client and every worker. */
  dataConverter: DataConverter;
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
    const client = new Client({
      connection,
      namespace: options.namespace,
      dataConverter: options.dataConverter,
      interceptors: tracingClientInterceptors(options.telemetry),
    });
    workerConnection = await NativeConnection.connect(connectionOptions);
    const workers = await startGatehouseWorkers({
      connection: workerConnection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      routeTable: options.routeTable,
      dataConverter: options.dataConverter,
      activities: buildActivities({
        ...options.activities,
        db: options.db,
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
