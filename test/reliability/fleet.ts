import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { GatehouseClient } from '../../client/gatehouse-client';
import type { LlmRequestInput } from '../../domain/request-contract';
import { auditKeysFrom, newAuditKeyFile, type AuditKeys } from '../../governance/audit-key-store';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import {
  startOpenAiCompatibleEmulator,
  type ModelScript,
  type OpenAiEmulator,
  type OpenAiEmulatorCall,
} from '../../emulators/openai-compatible-emulator';
import { createKnex } from '../../store/knex-client';
import { migrateLatest } from '../../store/migrate';
import { seedDemo } from '../../store/seed-demo';
import { listUsage, type UsageRecord } from '../../store/usage-repository';
import { reconcilerScheduleIdFor } from '../../worker/reconciler-schedule';
import {
  createIsolatedDatabase,
  randomPayloadKeyring,
  type IsolatedDatabase,
} from '../support/gatehouse-harness';
import { TEST_WORKFLOW_BUNDLE_ENV } from '../support/temporal-test-env';
import {
  connectClient,
  keysForEnvironment,
  startWorkerProcess,
  writeRouteTable,
  type WorkerProcess,
} from './processes';

export const MODEL = 'reliability-model';

export interface FleetOptions {
  /** The Temporal frontend the workers and the client use. */
  address: string;
  /** The emulated model's behaviour; default: answers after `latencyMs`. */
  script?: ModelScript;
  latencyMs?: number;
  /** A second route the task falls back to, with its own model and script. */
  fallback?: ModelScript;
  heartbeatTimeoutMs?: number;
  retry?: RouteTable['routes'][number]['retry'];
  budget?: Partial<RouteTable['tasks'][string]['budget']>;
  maxConcurrent?: number;
  reconcileIntervalSeconds?: number;
  /** USD per million tokens; default 3 in, 15 out. */
  price?: { input: number; output: number };
  maxOutputTokens?: number;
  /** Workers embed with this model of the emulator (openai-compatible) instead of the offline default. */
  embeddingModel?: { model: string; dimensions: number };
}

/**
 * A small fleet made of real processes: worker processes started the way a deployment starts them
 * (`worker/start-platform.ts worker`, settings from the environment), an OpenAI-compatible model
 * emulator that logs what it billed, an isolated app database and a client of the same cluster.
 */
export interface Fleet {
  db: IsolatedDatabase['db'];
  /** The audit keys every worker process of the fleet holds (GATEHOUSE_AUDIT_KEYS). */
  auditKeys: AuditKeys;
  /** How another process reaches the same app database. */
  location: IsolatedDatabase['location'];
  emulator: OpenAiEmulator;
  client: Client;
  gatehouse: GatehouseClient;
  taskQueue: string;
  apiKey: string;
  routeTable: RouteTable;
  workers: Map<string, WorkerProcess>;
  startWorker(name: string): Promise<WorkerProcess>;
  input(overrides?: Partial<LlmRequestInput>): LlmRequestInput;
  /** Reconnects the client (after the cluster restarted on the same address). */
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const suffix = randomBytes(4).toString('hex');
  const database = await fleetDatabase();
  await migrateLatest(database.db);
  const apiKey = `reliability-${randomBytes(12).toString('hex')}`;
  await seedDemo(database.db, { apiKey, contractorApiKey: `contractor-${randomBytes(12).toString('hex')}` });
  const emulator = await startOpenAiCompatibleEmulator({
    latencyMs: options.latencyMs ?? 0,
    script: {
      [MODEL]: options.script ?? {},
      ...(options.fallback ? { [`${MODEL}-fallback`]: options.fallback } : {}),
    },
  });
  const taskQueue = `gatehouse-reliability-${suffix}`;
  const route = (id: string, model: string) => ({
    id,
    provider: 'openai-compatible' as const,
    model,
    label: `emulated ${model}`,
    endpoint: emulator.endpoint,
    priceUsdPerMillionTokens: options.price ?? { input: 3, output: 15 },
    contextWindowTokens: 32_000,
    maxOutputTokens: options.maxOutputTokens ?? 512,
    dataClasses: ['public', 'internal', 'confidential', 'restricted'],
    taskQueue: `route-${id}-${suffix}`,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000,
    rateLimit: { maxConcurrent: options.maxConcurrent ?? 64 },
    timeoutMs: 60_000,
    retry: options.retry ?? {
      maximumAttempts: 4,
      initialIntervalMs: 100,
      backoffCoefficient: 2,
      maximumIntervalMs: 2_000,
    },
  });
  const routeTable = routeTableSchema.parse({
    version: `reliability-${suffix}`,
    routes: [route('primary', MODEL), ...(options.fallback ? [route('fallback', `${MODEL}-fallback`)] : [])],
    tasks: {
      default: {
        routes: options.fallback ? ['primary', 'fallback'] : ['primary'],
        budget: {
          maxTotalAttempts: 6,
          maxFallbacks: 1,
          maxRetrySpendUsd: 1,
          deadlineMs: 300_000,
          ...options.budget,
        },
      },
    },
    breaker: { failureThreshold: 100_000, windowMs: 60_000, cooldownMs: 1_000 },
  });
  const keyring = randomPayloadKeyring();
  const auditKeyFile = newAuditKeyFile();
  const env: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: options.address,
    GATEHOUSE_TASK_QUEUE: taskQueue,
    GATEHOUSE_ROUTES_FILE: writeRouteTable(routeTable),
    GATEHOUSE_CODEC_KEYS: keysForEnvironment(keyring),
    GATEHOUSE_AUDIT_KEYS: JSON.stringify(auditKeyFile),
    GATEHOUSE_RECONCILE_INTERVAL_SECONDS: String(options.reconcileIntervalSeconds ?? 5),
    // A worker's SQLite file is `gatehouse.sqlite` in its data directory.
    GATEHOUSE_DATA_DIR: database.dataDir,
    ...(database.location.databaseUrl ? { DATABASE_URL: database.location.databaseUrl } : {}),
    ...(options.embeddingModel
      ? {
          GATEHOUSE_EMBEDDER: 'openai-compatible',
          GATEHOUSE_EMBEDDING_ENDPOINT: emulator.endpoint,
          GATEHOUSE_EMBEDDING_MODEL: options.embeddingModel.model,
          GATEHOUSE_EMBEDDING_DIMENSIONS: String(options.embeddingModel.dimensions),
        }
      : {}),
    ...(process.env[TEST_WORKFLOW_BUNDLE_ENV]
      ? { GATEHOUSE_WORKFLOW_BUNDLE: process.env[TEST_WORKFLOW_BUNDLE_ENV] }
      : {}),
  };
  let connection = await connectClient(options.address, keyring);
  const workers = new Map<string, WorkerProcess>();
  const fleet: Fleet = {
    db: database.db,
    auditKeys: auditKeysFrom(auditKeyFile, 'the fleet'),
    location: database.location,
    emulator,
    client: connection.client,
    gatehouse: new GatehouseClient(connection.client, { taskQueue }),
    taskQueue,
    apiKey,
    routeTable,
    workers,
    async startWorker(name) {
      const worker = await startWorkerProcess(env, name);
      workers.set(name, worker);
      return worker;
    },
    input: (overrides = {}) => ({
      tenantId: 'demo',
      apiKey,
      taskType: 'qa',
      question: 'What is the refund policy?',
      ...overrides,
    }),
    async reconnect() {
      await connection.close().catch(() => undefined);
      connection = await connectClient(options.address, keyring);
      fleet.client = connection.client;
      fleet.gatehouse = new GatehouseClient(connection.client, { taskQueue });
    },
    async close() {
      await Promise.all([...workers.values()].map((worker) => worker.stop('SIGKILL')));
      await fleet.client.schedule
        .getHandle(reconcilerScheduleIdFor(taskQueue))
        .delete()
        .catch(() => undefined);
      await connection.close().catch(() => undefined);
      await emulator.close();
      await database.drop();
    },
  };
  return fleet;
}

/** PostgreSQL (a schema of its own) with DATABASE_URL, else a SQLite file where a worker looks for it. */
async function fleetDatabase(): Promise<IsolatedDatabase & { dataDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-fleet-'));
  if (process.env.DATABASE_URL) return { ...(await createIsolatedDatabase()), dataDir };
  const sqliteFile = path.join(dataDir, 'gatehouse.sqlite');
  const db = createKnex({ sqliteFile });
  return {
    db,
    dataDir,
    location: { sqliteFile },
    async drop() {
      await db.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Calls the provider answered in full: what it would bill. */
export function billedCalls(emulator: OpenAiEmulator): OpenAiEmulatorCall[] {
  return emulator
    .calls()
    .filter(
      (call) =>
        call.operation === 'chat-completions' &&
        call.usage !== undefined &&
        call.disconnectedAt === undefined,
    );
}

/** Calls that have started and not yet been answered or abandoned. */
export function callsInFlight(emulator: OpenAiEmulator): number {
  return emulator
    .calls()
    .filter(
      (call) =>
        call.operation === 'chat-completions' &&
        call.usage === undefined &&
        call.disconnectedAt === undefined,
    ).length;
}

export interface LedgerComparison {
  billedCalls: number;
  billedTokens: number;
  ledgerRows: number;
  chargedRows: number;
  ledgerTokens: number;
}

/** The tenant's ledger beside what the emulated provider billed. */
export async function compareLedger(fleet: Fleet): Promise<LedgerComparison & { rows: UsageRecord[] }> {
  const billed = billedCalls(fleet.emulator);
  const rows = await listUsage(fleet.db, { tenantId: 'demo' });
  const charged = rows.filter((row) => !row.usageEstimated && row.inputTokens + row.outputTokens > 0);
  return {
    rows,
    billedCalls: billed.length,
    billedTokens: billed.reduce(
      (sum, call) => sum + call.usage!.promptTokens + call.usage!.completionTokens,
      0,
    ),
    ledgerRows: rows.length,
    chargedRows: charged.length,
    ledgerTokens: charged.reduce((sum, row) => sum + row.inputTokens + row.outputTokens, 0),
  };
}
