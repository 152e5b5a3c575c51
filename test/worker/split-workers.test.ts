import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { GatehouseClient } from '../../client/gatehouse-client';
import { createGatehouseDataConverter } from '../../codec/gatehouse-data-converter';
import { newAuditKeys } from '../../governance/audit-key-store';
import { createFileAuditCheckpointSink } from '../../governance/file-audit-checkpoint-sink';
import { seedDemo } from '../../store/seed-demo';
import { migrateLatest } from '../../store/migrate';
import { describeWorkers, startHealthServer, type HealthServer } from '../../worker/health-server';
import { startGatehouseRuntime, type GatehouseRuntime } from '../../worker/start-gatehouse-runtime';
import {
  createIsolatedDatabase,
  isolatedRouteTable,
  randomPayloadKeyring,
} from '../support/gatehouse-harness';
import {
  getTestTemporalConnectionOptions,
  getTestTemporalNamespace,
  TEST_WORKFLOW_BUNDLE_ENV,
} from '../support/temporal-test-env';

/**
 * The request queue and the route queue in separate runtimes, as docker-compose.yml and deploy/k8s/
 * run them (one process each): a request still completes, and each health endpoint reports only
 * the queues its process polls.
 */
describe('request and route workers in separate processes', () => {
  const suffix = randomBytes(4).toString('hex');
  const routeTable = isolatedRouteTable(suffix);
  const requestQueue = `gatehouse-test-${suffix}`;
  const routeQueue = routeTable.routes[0]!.taskQueue;
  let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
  let requestRuntime: GatehouseRuntime | undefined;
  let routeRuntime: GatehouseRuntime | undefined;
  let requestHealth: HealthServer | undefined;
  let routeHealth: HealthServer | undefined;
  const apiKey = `test-analyst-${randomBytes(12).toString('hex')}`;
  // Both processes must share payload keys, as a deployment's do.
  const keyring = randomPayloadKeyring();
  const dataConverter = createGatehouseDataConverter(keyring);
  // …and audit keys; the checkpoint sink is not written in this test (no reconciler pass runs).
  const audit = {
    keys: newAuditKeys(),
    checkpointSink: createFileAuditCheckpointSink(
      path.join(os.tmpdir(), `split-${randomBytes(4).toString('hex')}.jsonl`),
    ),
  };

  const startRuntime = (taskQueues: string[]) => {
    const temporal = getTestTemporalConnectionOptions();
    return startGatehouseRuntime({
      address: temporal.address,
      tls: temporal.tls !== undefined,
      apiKey: temporal.apiKey,
      namespace: getTestTemporalNamespace(),
      taskQueue: requestQueue,
      taskQueues,
      db: database.db,
      audit,
      routeTable,
      dataConverter,
      keyring,
      workflowBundlePath: process.env[TEST_WORKFLOW_BUNDLE_ENV],
    });
  };

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    await migrateLatest(database.db);
    await seedDemo(database.db, {
      apiKey,
      contractorApiKey: `test-contractor-${randomBytes(12).toString('hex')}`,
    });
    requestRuntime = await startRuntime([requestQueue]);
    routeRuntime = await startRuntime([routeQueue]);
    const requestWorkers = requestRuntime.workers.workers;
    const routeWorkers = routeRuntime.workers.workers;
    requestHealth = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      workers: () => describeWorkers(requestWorkers),
    });
    routeHealth = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      workers: () => describeWorkers(routeWorkers),
    });
  });
  afterAll(async () => {
    await requestHealth?.close();
    await routeHealth?.close();
    await requestRuntime?.close();
    await routeRuntime?.close();
    await database?.drop();
  });

  it('each process polls only its own queue', () => {
    expect(describeWorkers(requestRuntime!.workers.workers).map((worker) => worker.taskQueue)).toEqual([
      requestQueue,
    ]);
    expect(describeWorkers(routeRuntime!.workers.workers).map((worker) => worker.taskQueue)).toEqual([
      routeQueue,
    ]);
  });

  it('answers a request whose workflow runs in one process and whose inference runs in the other', async () => {
    const gatehouse = new GatehouseClient(requestRuntime!.client, { taskQueue: requestQueue });
    const result = await gatehouse.execute({
      tenantId: 'demo',
      requestId: `split-${suffix}`,
      apiKey,
      taskType: 'qa',
      question: 'What is the refund policy?',
    });
    expect(result.route.id).toBe('extractive');
    expect(result.output.toLowerCase()).toContain('refund');
    expect(result.attempts).toHaveLength(1);
  });

  it('reports each process ready with its own queue, and not ready once it stops', async () => {
    const ready = await fetch(`http://127.0.0.1:${routeHealth!.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      workers: [{ taskQueue: routeQueue, state: 'RUNNING' }],
    });

    await routeRuntime!.close();
    const stopped = await fetch(`http://127.0.0.1:${routeHealth!.port}/readyz`);
    expect(stopped.status).toBe(503);
    expect(await stopped.json()).toEqual({
      status: 'not-running',
      workers: [{ taskQueue: routeQueue, state: 'STOPPED' }],
    });
    routeRuntime = undefined;

    const requestReady = await fetch(`http://127.0.0.1:${requestHealth!.port}/readyz`);
    expect(requestReady.status).toBe(200);
  });

  it('refuses to start without the prebuilt workflow bundle it was pointed at, saying how to build it', async () => {
    const temporal = getTestTemporalConnectionOptions();
    await expect(
      startGatehouseRuntime({
        address: temporal.address,
        tls: temporal.tls !== undefined,
        apiKey: temporal.apiKey,
        namespace: getTestTemporalNamespace(),
        taskQueue: requestQueue,
        taskQueues: [requestQueue],
        db: database.db,
        audit,
        routeTable,
        dataConverter,
        keyring,
        workflowBundlePath: '/nonexistent/workflow-bundle.js',
      }),
    ).rejects.toThrow(
      'the workflow bundle /nonexistent/workflow-bundle.js (GATEHOUSE_WORKFLOW_BUNDLE) does not exist: build it with `npm run bundle:workflows`',
    );
  });
});
