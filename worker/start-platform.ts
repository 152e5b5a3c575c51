import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createCodecTokenVerifier } from '../codec/codec-access-tokens';
import { startCodecServer } from '../codec/codec-server';
import { createGatehouseDataConverter } from '../codec/gatehouse-data-converter';
import { startBedrockEmulator } from '../emulators/bedrock-runtime-emulator';
import { createKnex, WORKER_SQLITE_BUSY_WAIT_MS } from '../store/knex-client';
import { migrateLatest } from '../store/migrate';
import { seedDemo } from '../store/seed-demo';
import { loadOrCreateDemoCredentials } from '../devtools/demo-credentials';
import { ensureDemoGovernanceKey } from '../devtools/demo-governance-key';
import { startDevServer } from '../devtools/dev-server';
import { readSettings, type GatehouseSettings } from '../config/environment';
import { describeWorkers, startHealthServer } from './health-server';
import { loadPricingCatalogue } from '../config/load-pricing-catalogue';
import { loadRouteTable } from '../config/load-route-table';
import { ensureEmbeddedOperatorToken, loadPayloadKeyring } from '../codec/payload-encryption';
import { loadAuditKeys } from '../governance/audit-key-store';
import { attestGovernanceChanges } from '../governance/governance-attestation';
import { createAuditCheckpointSink } from '../governance/audit-checkpoint-sinks';
import { createEmbedder } from '../retrieval/create-embedder';
import { startGatehouseRuntime } from './start-gatehouse-runtime';
import { ensureSearchAttributes, GATEHOUSE_SEARCH_ATTRIBUTES } from './search-attributes';
import { ensureTemporalCli } from '../devtools/temporal-cli';
import { ensureReconcilerSchedule, reconcilerScheduleIdFor } from './reconciler-schedule';
import { curlExample, startEmbeddedFrontDoor } from '../client/serve-command';
import { startConfiguredTelemetry } from '../telemetry/start-telemetry';

const say = (line: string) => process.stdout.write(`[gatehouse] ${line}\n`);

/**
 * `npm start`: the whole platform on one machine. Starts (or connects to) Temporal, migrates and seeds
 * the app database, runs the workers, and stops everything it started on Ctrl-C.
 */
export async function startPlatform(
  settings: GatehouseSettings,
  options: { seed: boolean; embedded: boolean },
): Promise<void> {
  const mode = options.seed ? 'start' : 'worker';
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => say(`while stopping: ${String(error)}`));
    }
  };
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal} received, stopping…`);
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    // Every route is priced first: a model the pricing catalogue does not know stops the worker at once,
    // before it reaches Temporal or the database, rather than being charged $0 later.
    const pricing = loadPricingCatalogue(settings.pricingCatalogueFile);
    const routeTable = loadRouteTable(settings.routesFile, pricing);
    say(
      `prices from catalogue ${pricing.version} (effective ${pricing.effectiveFrom}) for ${routeTable.routes.length} routes`,
    );
    // Started first so that probes see "starting" (not a refused connection) while Temporal and the
    // database are reached; readiness follows the workers once they exist.
    let workersForHealth: Parameters<typeof describeWorkers>[0] = [];
    const { metricsPort } = settings.telemetry;
    const telemetry = startConfiguredTelemetry(settings.telemetry, {
      serviceName: mode === 'worker' ? 'gatehouse-worker' : 'gatehouse',
      prometheus: metricsPort !== undefined,
    });
    if (telemetry) cleanups.push(() => telemetry.shutdown());
    const prometheus = telemetry?.prometheus;
    const scrape = prometheus ? () => prometheus.scrape() : undefined;
    if (settings.worker.healthPort !== undefined) {
      const health = await startHealthServer({
        port: settings.worker.healthPort,
        workers: () => describeWorkers(workersForHealth),
        metrics: metricsPort === settings.worker.healthPort ? scrape : undefined,
      });
      cleanups.push(() => health.close());
      say(`health endpoints: http://localhost:${health.port}/healthz and /readyz`);
    }
    if (metricsPort !== undefined && metricsPort !== settings.worker.healthPort) {
      // Its own port: it answers the probes too, which does no harm.
      const metrics = await startHealthServer({
        port: metricsPort,
        workers: () => describeWorkers(workersForHealth),
        metrics: scrape,
      });
      cleanups.push(() => metrics.close());
    }
    if (metricsPort !== undefined) say(`Prometheus metrics: http://localhost:${metricsPort}/metrics`);
    if (settings.telemetry.enabled)
      say(`telemetry: traces and metrics over OTLP (${settings.telemetry.otlpProtocol})`);
    mkdirSync(settings.dataDir, { recursive: true });
    // Workers elsewhere must share keys, so only the embedded default creates a key file.
    const payloadKeys = await loadPayloadKeyring(settings, { createIfMissing: options.seed });
    if (payloadKeys.source === 'new key file')
      say(
        `created the payload encryption key file ${path.relative(process.cwd(), settings.codec.keyFile)} (mode 600)`,
      );
    // The same rule for the audit keys: only the embedded default makes its own.
    const auditKeys = loadAuditKeys(settings.audit, { createIfMissing: options.seed });
    if (auditKeys.source === 'new key file')
      say(
        `created the audit key file ${path.relative(process.cwd(), settings.audit.keyFile)} (mode 600); checkpoint public key beside it`,
      );
    const audit = {
      keys: auditKeys.keys,
      checkpointSink: createAuditCheckpointSink(settings.audit),
    };
    let codec: { url: string; operator?: { name: string; token: string } } | undefined;
    if (options.seed) {
      const operator = ensureEmbeddedOperatorToken(settings);
      // Who decoded which tenant's payloads, and when: kept beside the other embedded state.
      const accessLog = createWriteStream(path.join(settings.dataDir, 'codec-access.log'), {
        flags: 'a',
        mode: 0o600,
      });
      accessLog.on('error', () => undefined);
      cleanups.push(() => new Promise<void>((resolve) => accessLog.end(resolve)));
      const server = await startCodecServer({
        keyring: payloadKeys.keyring,
        tokens: createCodecTokenVerifier(settings.codec),
        host: settings.codec.host,
        port: settings.codec.port,
        allowedOrigins: settings.codec.allowedOrigins,
        secureCookies: settings.codec.publicUrl.startsWith('https:'),
        log: (line) => accessLog.write(`${new Date().toISOString()} ${line}\n`),
      }).catch((error: Error) => {
        throw new Error(
          `the codec server cannot listen on ${settings.codec.host}:${settings.codec.port} (${error.message}); set GATEHOUSE_CODEC_PORT`,
        );
      });
      cleanups.push(() => server.close());
      codec = { url: settings.codec.publicUrl, operator };
    }
    let address = settings.temporal.address;
    let uiUrl = settings.temporal.uiUrl;
    if (!address) {
      if (!options.embedded)
        throw new Error('TEMPORAL_ADDRESS is not set: point the worker at a Temporal cluster');
      const cliPath = await ensureTemporalCli({
        projectRoot: settings.projectRoot,
        explicitPath: settings.temporal.cliPath,
        log: say,
      });
      say(
        `starting the Temporal dev server (state in ${path.relative(process.cwd(), settings.dataDir)}/temporal.sqlite)…`,
      );
      const server = await startDevServer({
        cliPath,
        dbFile: path.join(settings.dataDir, 'temporal.sqlite'),
        port: settings.temporal.port,
        uiPort: settings.temporal.uiPort,
        uiCodecEndpoint: codec?.url,
        searchAttributes: GATEHOUSE_SEARCH_ATTRIBUTES,
        namespace: settings.temporal.namespace,
        logFile: path.join(settings.dataDir, 'temporal-server.log'),
        log: say,
      });
      cleanups.push(() => server.stop());
      address = server.address;
      // localhost, like the codec server's address: the UI's sign-in cookie is sent only within one site.
      uiUrl ??= server.uiPort ? `http://localhost:${server.uiPort}` : undefined;
    }
    const db = createKnex({
      databaseUrl: settings.databaseUrl,
      sqliteFile: settings.sqliteFile,
      sqliteAsyncBusyWaitMs: WORKER_SQLITE_BUSY_WAIT_MS,
    });
    cleanups.push(() => db.destroy());
    await migrateLatest(db);
    let credentials = options.seed ? loadOrCreateDemoCredentials(settings.dataDir) : undefined;
    if (credentials) {
      const seeded = await seedDemo(db, {
        apiKey: credentials.apiKey,
        contractorApiKey: credentials.contractorApiKey,
      });
      // The demo's policy, prompts and keys enter the audit chain (unchanged ones add nothing).
      await attestGovernanceChanges(
        { db, chainKey: audit.keys.chainKey },
        seeded.tenantId,
        'npm start (demo seed)',
      );
      // Governance commands need a governance key; the demo gets its own through the audited bootstrap.
      ({ credentials } = await ensureDemoGovernanceKey(
        { db, chainKey: audit.keys.chainKey },
        settings.dataDir,
        credentials,
      ));
    }

    let bedrockEndpoint: string | undefined;
    if (settings.bedrock.emulatorPort !== undefined) {
      const emulator = await startBedrockEmulator({ port: settings.bedrock.emulatorPort });
      cleanups.push(() => emulator.close());
      bedrockEndpoint = emulator.endpoint;
      say(`Bedrock Runtime emulator on ${emulator.endpoint} (answers are generated locally, not by a model)`);
    }
    const runtime = await startGatehouseRuntime({
      address,
      namespace: settings.temporal.namespace,
      tls: settings.temporal.tls,
      apiKey: settings.temporal.apiKey,
      taskQueue: settings.taskQueue,
      taskQueues: settings.worker.taskQueues,
      db,
      audit,
      routeTable,
      workflowBundlePath: settings.workflowBundlePath,
      dataConverter: createGatehouseDataConverter(payloadKeys.keyring),
      keyring: payloadKeys.keyring,
      telemetry,
      activities: {
        bedrock: {
          defaultRegion: settings.bedrock.defaultRegion,
          endpoint: bedrockEndpoint,
          // The emulator accepts any signature; real routes use the AWS SDK's default credential chain.
          credentials: bedrockEndpoint ? { accessKeyId: 'emulator', secretAccessKey: 'emulator' } : undefined,
        },
        openAiCompatibleApiKey: settings.openAiCompatibleApiKey,
        embedder: createEmbedder(settings.embedder),
      },
      async beforeWorkers(connection) {
        const added = await ensureSearchAttributes(
          connection,
          settings.temporal.namespace,
          GATEHOUSE_SEARCH_ATTRIBUTES,
          say,
        );
        if (added.length > 0) say(`registered search attributes: ${added.join(', ')}`);
      },
    });
    cleanups.push(() => runtime.close());
    workersForHealth = runtime.workers.workers;
    const created = await ensureReconcilerSchedule(runtime.client, {
      taskQueue: settings.taskQueue,
      intervalMs: settings.reconcileIntervalMs,
    });
    say(
      `reconciler: Temporal Schedule '${reconcilerScheduleIdFor(settings.taskQueue)}' ${created ? 'created' : 'found'} (every ${settings.reconcileIntervalMs / 1000} s)`,
    );

    const frontDoor = options.seed
      ? await startEmbeddedFrontDoor({
          settings,
          client: runtime.client,
          eagerStart: runtime.eagerStart,
          db,
          routeTable,
        })
      : undefined;
    if (frontDoor) cleanups.push(() => frontDoor.close());

    const polled = describeWorkers(runtime.workers.workers).map((worker) => `'${worker.taskQueue}'`);
    say(
      `ready. Temporal ${address}, namespace '${settings.temporal.namespace}', polling ${polled.join(', ')}`,
    );
    say(
      `database: ${settings.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : path.relative(process.cwd(), settings.sqliteFile)}`,
    );
    say(
      `routes: ${routeTable.routes.map((route) => `${route.id} (${route.provider})`).join(', ')} — table ${routeTable.version}`,
    );
    if (uiUrl) say(`Temporal UI: ${uiUrl}`);
    say(
      `payloads encrypted (AES-256-GCM, key ${payloadKeys.keyring.activeKeyId}, from the ${payloadKeys.source === 'environment' ? 'environment' : 'key file'})`,
    );
    say(
      `audit trail: HMAC-SHA-256 key ${audit.keys.chainKey.id}; signed checkpoints to ${audit.checkpointSink.description} on every reconciler pass`,
    );
    if (codec) {
      say(`codec server: ${codec.url} — decodes for operator tokens only, each within its tenants`);
      if (codec.operator) {
        say(
          `operator token (all tenants): ${codec.operator.token} (saved in ${path.relative(process.cwd(), settings.dataDir)}/codec-operator.json)`,
        );
        say(
          `  UI: sign in at ${codec.url} once, then tick "Include cross-origin credentials" in the UI's codec settings`,
        );
        say(
          `  CLI: temporal workflow show -w <id> --codec-endpoint ${codec.url} --codec-auth "Bearer ${codec.operator.token}"`,
        );
      }
    }
    if (credentials) {
      say(
        `demo tenant 'demo', API key ${credentials.apiKey} (saved in ${path.relative(process.cwd(), settings.dataDir)}/demo-credentials.json)`,
      );
      if (credentials.governanceApiKey !== undefined) {
        say(
          '  its governance key (policy, prompts, keys) is saved there too; the CLI uses it for tenant demo',
        );
      }
      say('send a first request (in another terminal):');
      say('  npx gatehouse ask --tenant demo --task qa "What is the refund policy?"');
      say('then: npx gatehouse requests list --tenant demo   ·   npx gatehouse audit verify --tenant demo');
    }
    if (frontDoor) {
      say(
        `front door (OpenAI-compatible HTTP): ${frontDoor.url}/v1 — OpenAPI at ${frontDoor.url}/openapi.json`,
      );
      say(`  ${curlExample(frontDoor.url, credentials?.apiKey)}`);
    }
    say('Ctrl-C stops everything started here.');
    await runtime.workers.running;
  } catch (error) {
    say(`failed: ${(error as Error).message}`);
    await stopAll();
    process.exitCode = 1;
  }
}

if (require.main === module) {
  // The SDK's INFO lines (bundle sizes, state changes) drown the few lines a person needs here.
  const settings = readSettings();
  // Route workers run only activities by design; the SDK's warning about that is noise here.
  const expected = /^No workflows registered/;
  const stderrLine = (entry: { level: string; message: string; meta?: unknown }) => {
    if (expected.test(entry.message)) return;
    const meta = entry.meta === undefined ? '' : ` ${JSON.stringify(entry.meta)}`;
    process.stderr.write(`${new Date().toISOString()} [${entry.level}] ${entry.message}${meta}\n`);
  };
  Runtime.install({ logger: new DefaultLogger(settings.logLevel, stderrLine) });
  const mode = process.argv[2] === 'worker' ? 'worker' : 'start';
  void startPlatform(settings, { seed: mode === 'start', embedded: mode === 'start' });
}
