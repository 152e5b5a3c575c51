import { randomBytes } from 'node:crypto';
import { newAuditKeys } from '../governance/audit-key-store';
import { createFileAuditCheckpointSink } from '../governance/file-audit-checkpoint-sink';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { GatehouseClient } from '../client/gatehouse-client';
import { createGatehouseDataConverter } from '../codec/gatehouse-data-converter';
import { createPayloadKeyring, newPayloadKeyMaterial } from '../codec/payload-keyring';
import type { LlmRequestInput } from '../domain/request-contract';
import { routeTableSchema, type RouteTable } from '../domain/route-table';
import { startBedrockEmulator, type BedrockEmulator } from '../emulators/bedrock-runtime-emulator';
import { createBedrockProvider } from '../providers/bedrock-provider';
import type { AuditWriter } from '../store/audit-repository';
import { createKnex } from '../store/knex-client';
import { migrateLatest } from '../store/migrate';
import { seedDemo, DEMO_TENANT_ID } from '../store/seed-demo';
import { attestGovernanceChanges } from '../governance/governance-attestation';
import { setBudget } from '../store/budget-repository';
import { startDevServer } from '../devtools/dev-server';
import { GATEHOUSE_SEARCH_ATTRIBUTES } from '../worker/search-attributes';
import { startGatehouseRuntime } from '../worker/start-gatehouse-runtime';
import { ensureTemporalCli } from '../devtools/temporal-cli';

/** The question the request-path benchmarks ask (the demo corpus answers it). */
export const BENCH_QUESTION = 'What is the refund policy?';

/** B1's request: the demo tenant's `qa` task with the benchmark question. */
export function benchRequest(env: Pick<BenchEnvironment, 'apiKey'>): LlmRequestInput {
  return { tenantId: 'demo', apiKey: env.apiKey, taskType: 'qa', question: BENCH_QUESTION };
}

export const PRIMARY_MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
export const FALLBACK_MODEL = 'amazon.nova-lite-v1:0';
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

export type CalibrationFloor = 'dispatch' | 'localOnly' | 'empty' | 'requestShape';

const CALIBRATION_WORKFLOWS: Record<CalibrationFloor, string> = {
  dispatch: 'dispatchFloorWorkflow',
  localOnly: 'localOnlyFloorWorkflow',
  empty: 'emptyFloorWorkflow',
  requestShape: 'requestShapeFloorWorkflow',
};

export interface BenchEnvironment {
  /** Starts requests eagerly, as `npm start` and its front door do (client and worker share a process). */
  gatehouse: GatehouseClient;
  /** The same client without eager workflow start: every first workflow task is dispatched. */
  gatehouseWithoutEagerStart: GatehouseClient;
  apiKey: string;
  /** The Temporal client, task queue, app database and route table `gatehouse` uses. */
  client: Client;
  taskQueue: string;
  db: Knex;
  /** Writes audit events with the workers' chain key: configuration added later is attested with it. */
  audit: AuditWriter;
  routeTable: RouteTable;
  emulator: BedrockEmulator;
  /** The Temporal dev server's process id, to read its CPU time. */
  serverPid: number;
  /** The baseline: the same AWS SDK client a service would use without Gatehouse. */
  direct: BedrockRuntimeClient;
  /**
   * Runs one calibration workflow: `dispatch` is the request path's Temporal skeleton with no-op steps
   * (the platform's own floor), `localOnly` the same skeleton with every step a local activity, `empty`
   * a workflow with no step (one start, one completion), `requestShape` the request path's nine steps with
   * no work in any of them.
   */
  runFloor(floor: CalibrationFloor): Promise<void>;
  close(): Promise<void>;
}

function benchRouteTable(endpoint: string): RouteTable {
  const route = (id: string, model: string) => ({
    id,
    provider: 'bedrock',
    model,
    label: `Bedrock ${model} (emulated)`,
    region: 'us-east-1',
    endpoint,
    priceUsdPerMillionTokens: { input: 0.8, output: 4 },
    contextWindowTokens: 200_000,
    maxOutputTokens: 1024,
    dataClasses: ['public', 'internal', 'confidential'],
    latencyClass: 'interactive',
    taskQueue: `bench-route-${id}`,
    rateLimit: { maxConcurrent: 64 },
    timeoutMs: 30_000,
    // One attempt per route: B5 measures exactly one 429 followed by one fallback.
    retry: { maximumAttempts: 1, initialIntervalMs: 10 },
  });
  return routeTableSchema.parse({
    version: 'bench',
    routes: [route('primary', PRIMARY_MODEL), route('fallback', FALLBACK_MODEL)],
    tasks: { default: { routes: ['primary', 'fallback'] } },
    breaker: { failureThreshold: 1_000_000 },
  });
}

/**
 * Everything on this one machine: a Temporal dev server, the SQLite app store, the workers and the
 * Bedrock emulator that both Gatehouse and the direct baseline call through the real AWS SDK.
 */
export async function startBenchEnvironment(options: {
  latencyMs: number;
  log: (line: string) => void;
}): Promise<BenchEnvironment> {
  if (!Runtime._instance) Runtime.install({ logger: new DefaultLogger('ERROR') });
  const projectRoot = path.resolve(__dirname, '..');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const cliPath = await ensureTemporalCli({
    projectRoot,
    explicitPath: process.env.TEMPORAL_CLI_PATH,
    log: options.log,
  });
  const server = await startDevServer({
    cliPath,
    headless: true,
    searchAttributes: GATEHOUSE_SEARCH_ATTRIBUTES,
    logFile: path.join(dir, 'temporal.log'),
    log: options.log,
  });
  const emulator = await startBedrockEmulator({ latencyMs: options.latencyMs });
  const db = createKnex({ sqliteFile: path.join(dir, 'app.sqlite') });
  await migrateLatest(db);
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  await seedDemo(db, { apiKey, contractorApiKey: `${apiKey}-contractor` });
  await setBudget(db, { tenantId: DEMO_TENANT_ID, limitMicroUsd: 1_000_000_000 });
  // As npm start does: the demo's configuration is attested, so every request checks it (decision 0028).
  const auditKeys = newAuditKeys();
  await attestGovernanceChanges({ db, chainKey: auditKeys.chainKey }, DEMO_TENANT_ID, 'bench (demo seed)');
  const routeTable = benchRouteTable(emulator.endpoint);
  const taskQueue = 'bench-requests';
  // Measured as shipped: every payload encrypted, like npm start and any deployment.
  const keyring = createPayloadKeyring([{ id: 'bench', material: newPayloadKeyMaterial() }], 'bench');
  const dataConverter = createGatehouseDataConverter(keyring);
  const runtime = await startGatehouseRuntime({
    dataConverter,
    keyring,
    address: server.address,
    namespace: 'default',
    taskQueue,
    db,
    routeTable,
    // Measured as shipped: every audit event keyed, checkpoints written on each reconciler pass.
    audit: {
      keys: auditKeys,
      checkpointSink: createFileAuditCheckpointSink(path.join(dir, 'audit-checkpoints.jsonl')),
    },
    activities: {
      providers: { bedrock: createBedrockProvider({ defaultRegion: 'us-east-1', credentials: CREDENTIALS }) },
    },
  });
  const { client } = runtime;
  // The calibration workflows get their own worker connection, apart from Gatehouse's.
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const noop = { noop: async () => undefined };
  const calibrationWorkers = await Promise.all([
    Worker.create({
      connection: workerConnection,
      taskQueue: 'bench-calibration',
      workflowsPath: require.resolve('./calibration-workflow'),
      dataConverter,
      activities: noop,
    }),
    Worker.create({
      connection: workerConnection,
      taskQueue: 'bench-calibration-route',
      dataConverter,
      activities: noop,
    }),
  ]);
  const calibrationRunning = Promise.all(calibrationWorkers.map((worker) => worker.run()));
  let calibrationRuns = 0;
  const direct = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  return {
    gatehouse: new GatehouseClient(client, { taskQueue, eagerStart: runtime.eagerStart }),
    gatehouseWithoutEagerStart: new GatehouseClient(client, { taskQueue }),
    apiKey,
    client,
    taskQueue,
    db,
    audit: { db, chainKey: auditKeys.chainKey },
    routeTable,
    emulator,
    serverPid: server.pid,
    direct,
    async runFloor(floor) {
      calibrationRuns += 1;
      await client.workflow.execute(CALIBRATION_WORKFLOWS[floor], {
        taskQueue: 'bench-calibration',
        workflowId: `calibration-${calibrationRuns}`,
      });
    },
    async close() {
      direct.destroy();
      for (const worker of calibrationWorkers) worker.shutdown();
      await calibrationRunning;
      await workerConnection.close();
      await runtime.close();
      await db.destroy();
      await emulator.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
