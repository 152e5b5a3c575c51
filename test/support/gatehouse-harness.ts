import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { ActivityDependencies } from '../../activities/create-activities';
import { GatehouseClient } from '../../client/gatehouse-client';
import { createGatehouseDataConverter } from '../../codec/gatehouse-data-converter';
import type { AuditCheckpointSink } from '../../governance/audit-checkpoint';
import { auditKeysFrom, newAuditKeyFile, type AuditKeys } from '../../governance/audit-key-store';
import { createFileAuditCheckpointSink } from '../../governance/file-audit-checkpoint-sink';
import {
  createPayloadKeyring,
  newPayloadKeyId,
  newPayloadKeyMaterial,
  type PayloadKeyring,
} from '../../codec/payload-keyring';
import type { LlmRequestInput } from '../../domain/request-contract';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import { createKnex } from '../../store/knex-client';
import { migrateLatest } from '../../store/migrate';
import { seedDemo } from '../../store/seed-demo';
import { readSettings, type GatehouseSettings } from '../../config/environment';
import { loadRouteTable } from '../../config/load-route-table';
import type { Telemetry } from '../../telemetry/start-telemetry';
import { startGatehouseRuntime } from '../../worker/start-gatehouse-runtime';
import { recordingHistories, replayFixtureKeyring } from './history-recording';
import {
  getTestTemporal,
  getTestTemporalConnectionOptions,
  TEST_WORKFLOW_BUNDLE_ENV,
} from './temporal-test-env';

export interface GatehouseHarness {
  db: Knex;
  client: Client;
  gatehouse: GatehouseClient;
  routeTable: RouteTable;
  taskQueue: string;
  apiKey: string;
  contractorApiKey: string;
  /** The demo analyst as a caller of result/progress/stream/cancel. */
  caller: { tenantId: string; apiKey: string };
  /** CLI settings that reach this harness's Temporal server, task queue and database. */
  cliSettings(overrides?: Partial<Record<string, string>>): GatehouseSettings;
  /** The payload keys this harness's client and workers encrypt with. */
  keyring: PayloadKeyring;
  dataConverter: DataConverter;
  /** This harness's audit keys and checkpoint sink (a temporary file), shared with its CLI settings. */
  audit: { keys: AuditKeys; checkpointSink: AuditCheckpointSink; checkpointFile: string };
  /** The demo analyst asking the refund question, with any field replaced. */
  input(overrides?: Partial<LlmRequestInput>): LlmRequestInput;
  close(): Promise<void>;
}

function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * An isolated app database: a temporary SQLite file, or (with DATABASE_URL) a PostgreSQL schema of its own.
 */
export interface IsolatedDatabase {
  db: Knex;
  /** How a separate process (the CLI) reaches the same database. */
  location: { databaseUrl?: string; sqliteFile?: string };
  drop(): Promise<void>;
}

export async function createIsolatedDatabase(): Promise<IsolatedDatabase> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const schema = `gh_test_${uniqueSuffix()}`;
    const admin = createKnex({ databaseUrl: url });
    await admin.raw(`CREATE SCHEMA "${schema}"`);
    await admin.destroy();
    const db = createKnex({ databaseUrl: url, searchPath: schema });
    const scoped = new URL(url);
    scoped.searchParams.set('options', `-c search_path=${schema}`);
    return {
      db,
      location: { databaseUrl: scoped.toString() },
      async drop() {
        await db.raw(`DROP SCHEMA "${schema}" CASCADE`);
        await db.destroy();
      },
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-app-'));
  const sqliteFile = path.join(dir, 'app.sqlite');
  const db = createKnex({ sqliteFile });
  return {
    db,
    location: { sqliteFile },
    async drop() {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An isolated database, migrated and seeded with the demo tenant and two fresh keys (admin, contractor). */
export async function createSeededDatabase(
  keyPrefix = 'test',
): Promise<IsolatedDatabase & { apiKey: string; contractorApiKey: string }> {
  const database = await createIsolatedDatabase();
  await migrateLatest(database.db);
  const apiKey = `${keyPrefix}-admin-${randomBytes(8).toString('hex')}`;
  const contractorApiKey = `${keyPrefix}-contractor-${randomBytes(8).toString('hex')}`;
  await seedDemo(database.db, { apiKey, contractorApiKey });
  return { ...database, apiKey, contractorApiKey };
}

/** The shipped route table with task queues renamed so that test files never steal each other's tasks. */
export function isolatedRouteTable(
  suffix: string,
  table: RouteTable = loadRouteTable(path.resolve(__dirname, '../../config/routes.json')),
): RouteTable {
  return routeTableSchema.parse({
    ...table,
    routes: table.routes.map((route) => ({ ...route, taskQueue: `${route.taskQueue}-${suffix}` })),
  });
}

/** A real worker on the shared test dev server, over a seeded isolated database. */
export interface HarnessOptions {
  /** Defaults to the shipped route table with per-harness task queues. */
  routeTable?: RouteTable | ((suffix: string) => RouteTable);
  /** Providers that replace or add to the shipped ones (e.g. one wired to an emulator). */
  providers?: Partial<ActivityDependencies['providers']>;
  /** Default: one new random key, so no test reads another's payloads by accident. */
  keyring?: PayloadKeyring;
  /** Where Bedrock calls made outside a provider (ApplyGuardrail) go, e.g. the emulator. */
  bedrock?: {
    defaultRegion: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  /** Traces and metrics of the client, workers and activities (a traced harness bundles its own workflows). */
  telemetry?: Telemetry;
}

/** A keyring with one fresh random key, as a test's own. */
export function randomPayloadKeyring(): PayloadKeyring {
  const id = newPayloadKeyId();
  return createPayloadKeyring([{ id, material: newPayloadKeyMaterial() }], id);
}

export async function startHarness(options: HarnessOptions = {}): Promise<GatehouseHarness> {
  const suffix = uniqueSuffix();
  const temporal = getTestTemporalConnectionOptions();
  const database = await createIsolatedDatabase();
  const { db } = database;
  await migrateLatest(db);
  const apiKey = `test-analyst-${randomBytes(12).toString('hex')}`;
  const contractorApiKey = `test-contractor-${randomBytes(12).toString('hex')}`;
  await seedDemo(db, { apiKey, contractorApiKey });
  const routeTable =
    typeof options.routeTable === 'function'
      ? options.routeTable(suffix)
      : (options.routeTable ?? isolatedRouteTable(suffix));
  const taskQueue = `gatehouse-test-${suffix}`;
  // Recorded histories are committed and replayed: they are encrypted with the published fixture key.
  const keyring = options.keyring ?? (recordingHistories() ? replayFixtureKeyring() : randomPayloadKeyring());
  const dataConverter = createGatehouseDataConverter(keyring);
  const auditKeyFile = newAuditKeyFile();
  const auditDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-audit-'));
  const checkpointFile = path.join(auditDir, 'audit-checkpoints.jsonl');
  const audit = {
    keys: auditKeysFrom(auditKeyFile, 'the harness'),
    checkpointSink: createFileAuditCheckpointSink(checkpointFile),
    checkpointFile,
  };
  const runtime = await startGatehouseRuntime({
    address: temporal.address,
    tls: temporal.tls !== undefined,
    apiKey: temporal.apiKey,
    namespace: getTestTemporal().namespace,
    taskQueue,
    db,
    audit,
    routeTable,
    dataConverter,
    keyring,
    activities: { providers: options.providers, bedrock: options.bedrock },
    // The shared test bundle has no tracing interceptors: a traced harness bundles with them at start.
    workflowBundlePath: options.telemetry?.tracing ? undefined : process.env[TEST_WORKFLOW_BUNDLE_ENV],
    telemetry: options.telemetry,
  });
  return {
    db,
    client: runtime.client,
    gatehouse: new GatehouseClient(runtime.client, { taskQueue, eagerStart: runtime.eagerStart }),
    routeTable,
    taskQueue,
    apiKey,
    contractorApiKey,
    caller: { tenantId: 'demo', apiKey },
    cliSettings: (overrides = {}) => ({
      ...readSettings({
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: getTestTemporal().namespace,
        TEMPORAL_TLS: String(temporal.tls !== undefined),
        ...(temporal.apiKey === undefined ? {} : { TEMPORAL_API_KEY: temporal.apiKey }),
        GATEHOUSE_API_KEY: apiKey,
        // The harness's own payload key, handed to the CLI the way a deployment would.
        GATEHOUSE_CODEC_KEYS: `${keyring.activeKeyId}:${keyring.key(keyring.activeKeyId)!.toString('base64')}`,
        GATEHOUSE_AUDIT_KEYS: JSON.stringify(auditKeyFile),
        GATEHOUSE_AUDIT_CHECKPOINT_FILE: checkpointFile,
        ...overrides,
      }),
      taskQueue,
      ...database.location,
    }),
    keyring,
    dataConverter,
    audit,
    input: (overrides = {}) => ({
      tenantId: 'demo',
      apiKey,
      taskType: 'qa',
      question: 'What is the refund policy?',
      ...overrides,
    }),
    async close() {
      await runtime.close();
      await database.drop();
      rmSync(auditDir, { recursive: true, force: true });
    },
  };
}

/** Activity types in the order the history scheduled them, local activities included. */
export async function scheduledActivityTypes(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  const types: string[] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name) types.push(scheduled.activityType.name);
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const payload = marker.details?.['data']?.payloads?.[0];
      const data = payload?.data
        ? (JSON.parse(Buffer.from(payload.data).toString('utf8')) as { activity_type?: string })
        : undefined;
      if (data?.activity_type) types.push(data.activity_type);
    }
  }
  return types;
}

// Worker chatter (state changes, expected workflow failures) would bury real test failures.
if (!Runtime._instance) Runtime.install({ logger: new DefaultLogger('ERROR') });
