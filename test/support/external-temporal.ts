/**
 * Readies a Temporal cluster that the test run did not start (TEMPORAL_ADDRESS): checks it answers,
 * gives the run a namespace of its own unless one is named, and registers Gatehouse's search
 * attributes through the operator service, as the worker does on any cluster.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { ensureSearchAttributes, type SearchAttributeTypeName } from '../../worker/search-attributes';

export interface ExternalTemporal {
  namespace: string;
  /** Deletes the namespace when this run registered it; leaves a named one alone. */
  release(): Promise<void>;
}

const NAMESPACE_READY_TIMEOUT_MS = 60_000;
/** gRPC status NOT_FOUND: the frontend does not know the namespace (yet). */
const GRPC_NOT_FOUND = 5;

export async function prepareExternalTemporal(options: {
  address: string;
  tls: boolean;
  apiKey?: string;
  /** Use this namespace as it is (it must exist); when undefined, `freshNamespace` is registered. */
  namespace?: string;
  freshNamespace: string;
  searchAttributes: Readonly<Record<string, SearchAttributeTypeName>>;
  log: (line: string) => void;
}): Promise<ExternalTemporal> {
  const connectionOptions = {
    address: options.address,
    tls: options.tls ? {} : undefined,
    apiKey: options.apiKey,
  };
  let connection: Connection;
  try {
    connection = await Connection.connect(connectionOptions);
    await connection.workflowService.getSystemInfo({});
  } catch (error) {
    throw new Error(
      `TEMPORAL_ADDRESS=${options.address}: the Temporal frontend does not answer (${(error as Error).message}). ` +
        'Unset TEMPORAL_ADDRESS to run the tests on a dev server of their own.',
    );
  }
  try {
    const created = options.namespace === undefined;
    const namespace = options.namespace ?? options.freshNamespace;
    if (created) {
      // Tests use fixed request ids, and a finished workflow with the same id returns its old result:
      // a namespace per run keeps runs apart. One day of retention is enough to inspect a failure.
      await connection.workflowService.registerNamespace({
        namespace,
        description: 'Gatehouse test run; deleted when the run ends',
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      options.log(`registered namespace ${namespace} on ${options.address}`);
    }
    await waitUntilNamespaceServes(connection, namespace);
    const added = await ensureSearchAttributes(connection, namespace, options.searchAttributes, options.log);
    options.log(
      `tests run against ${options.address}, namespace ${namespace}` +
        (added.length > 0 ? ` (registered search attributes ${added.join(', ')})` : ''),
    );
    return {
      namespace,
      async release() {
        if (!created) return;
        const cleanup = await Connection.connect(connectionOptions);
        try {
          await cleanup.operatorService.deleteNamespace({ namespace });
        } catch (error) {
          options.log(`could not delete namespace ${namespace}: ${(error as Error).message}`);
        } finally {
          await cleanup.close();
        }
      },
    };
  } finally {
    await connection.close();
  }
}

/** A new namespace is usable only once every frontend's namespace cache has loaded it. */
async function waitUntilNamespaceServes(connection: Connection, namespace: string): Promise<void> {
  const deadline = Date.now() + NAMESPACE_READY_TIMEOUT_MS;
  for (;;) {
    try {
      await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: 'gatehouse-namespace-probe' },
      });
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== GRPC_NOT_FOUND) throw error;
      if (Date.now() > deadline) {
        throw new Error(
          `namespace ${namespace} is not served by the Temporal frontend after ${NAMESPACE_READY_TIMEOUT_MS / 1000} s: ` +
            `${(error as Error).message}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
