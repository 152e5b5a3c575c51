import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';
import type { Knex } from 'knex';
import type { RouteTable } from '../domain/route-table';
import { startFrontDoor, type FrontDoorHandle } from '../frontdoor/front-door-server';
import { taskModelId } from '../frontdoor/task-models';
import { createKnex } from '../store/knex-client';
import type { GatehouseSettings } from '../config/environment';
import { loadConfiguredRouteTable } from '../config/load-route-table';
import { startConfiguredTelemetry } from '../telemetry/start-telemetry';
import { tracingClientInterceptors } from '../telemetry/temporal-tracing';
import { loadGatehouseDataConverter } from '../codec/payload-encryption';
import { createStoreDirectory } from './front-door-store-directory';
import { GatehouseClient } from './gatehouse-client';
import { wholeNumberIn } from './command-options';

const READINESS_DEADLINE_MS = 2_000;

/**
 * The front door over a Temporal client and the app database: requests go through `GatehouseClient` on
 * the request task queue; keys, principals and policies come from the store; `/readyz` asks both.
 */
export async function startFrontDoorService(options: {
  settings: GatehouseSettings;
  client: Client;
  db: Knex;
  routeTable: RouteTable;
  /** `client` shares a process and connection with the request queue's worker (`GatehouseRuntime`). */
  eagerStart?: boolean;
  host?: string;
  port?: number;
  accessLog?: (line: string) => void;
  errorLog?: (line: string) => void;
}): Promise<FrontDoorHandle> {
  const { settings, client, db } = options;
  const host = options.host ?? settings.http.host;
  const port = options.port ?? settings.http.port;
  try {
    return await startFrontDoor({
      gatehouse: new GatehouseClient(client, {
        taskQueue: settings.taskQueue,
        eagerStart: options.eagerStart,
      }),
      directory: createStoreDirectory(db, options.routeTable),
      readiness: {
        temporal: async () => {
          await client.connection.withDeadline(Date.now() + READINESS_DEADLINE_MS, () =>
            client.workflowService.getSystemInfo({}),
          );
        },
        database: async () => {
          await db.raw('select 1');
        },
      },
      bodyLimitBytes: settings.http.bodyLimitBytes,
      rateLimitPerMinute: settings.http.rateLimitPerMinute,
      accessLog: options.accessLog,
      errorLog: options.errorLog,
      host,
      port,
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new Error(
        `the front door cannot listen on ${host}:${port} (${code}); set GATEHOUSE_HTTP_PORT or GATEHOUSE_HTTP_HOST`,
      );
    }
    throw error;
  }
}

/** A first request to send, for the lines `npm start` and `gatehouse serve` print. */
export function curlExample(url: string, apiKey = '<your API key>'): string {
  const body = JSON.stringify({
    model: taskModelId('qa'),
    messages: [{ role: 'user', content: 'What is the refund policy?' }],
  });
  return `curl ${url}/v1/chat/completions -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" -d '${body}'`;
}

/**
 * `npm start`'s front door: on the embedded runtime's client and database, its access lines appended to
 * `<data dir>/front-door-access.log` (the terminal stays for what a person needs), errors on stderr.
 */
export async function startEmbeddedFrontDoor(options: {
  settings: GatehouseSettings;
  client: Client;
  db: Knex;
  routeTable: RouteTable;
  eagerStart?: boolean;
}): Promise<FrontDoorHandle> {
  const accessLog = createWriteStream(path.join(options.settings.dataDir, 'front-door-access.log'), {
    flags: 'a',
    mode: 0o600,
  });
  accessLog.on('error', () => undefined);
  const closeLog = () => new Promise<void>((resolve) => accessLog.end(resolve));
  try {
    const handle = await startFrontDoorService({
      ...options,
      accessLog: (line) => accessLog.write(`${new Date().toISOString()} ${line}\n`),
      errorLog: (line) => process.stderr.write(`[front door] ${line}\n`),
    });
    return {
      ...handle,
      async close() {
        await handle.close();
        await closeLog();
      },
    };
  } catch (error) {
    await closeLog();
    throw error;
  }
}

const port = wholeNumberIn(0, 65_535, 'expected a port');

/** `gatehouse serve`: the HTTP front door as its own process (README, "The HTTP front door"). */
export function registerServeCommand(program: Command, settings: GatehouseSettings): void {
  program
    .command('serve')
    .description(
      'serve the HTTP front door: OpenAI-compatible /v1/chat/completions, /v1/models and /v1/embeddings, and /v1/requests',
    )
    .option('--host <address>', 'address to listen on', settings.http.host)
    .option('--port <port>', 'port to listen on (0: any free one)', port, settings.http.port)
    .action(async (options: { host: string; port: number }) => {
      const routeTable = loadConfiguredRouteTable(settings);
      const dataConverter = await loadGatehouseDataConverter(settings);
      const address = settings.temporal.address ?? `127.0.0.1:${settings.temporal.port}`;
      // Lazy: the front door starts (live, not ready) while Temporal is still coming up; /readyz says so.
      const connection = Connection.lazy({
        address,
        tls: settings.temporal.tls ? {} : undefined,
        apiKey: settings.temporal.apiKey,
      });
      const telemetry = startConfiguredTelemetry(settings.telemetry, { serviceName: 'gatehouse-front-door' });
      const client = new Client({
        connection,
        namespace: settings.temporal.namespace,
        dataConverter,
        interceptors: tracingClientInterceptors(telemetry),
      });
      const db = createKnex({ databaseUrl: settings.databaseUrl, sqliteFile: settings.sqliteFile });
      const say = (line: string) => process.stdout.write(`${line}\n`);
      try {
        const frontDoor = await startFrontDoorService({
          settings,
          client,
          db,
          routeTable,
          host: options.host,
          port: options.port,
          accessLog: (line) => say(`${new Date().toISOString()} ${line}`),
          errorLog: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
        });
        say(
          [
            `front door on ${frontDoor.url}: OpenAI base URL ${frontDoor.url}/v1, OpenAPI ${frontDoor.url}/openapi.json`,
            `Temporal ${address}, namespace '${settings.temporal.namespace}', task queue '${settings.taskQueue}'`,
            `database: ${settings.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : settings.sqliteFile}`,
            `limits: bodies up to ${settings.http.bodyLimitBytes} bytes, ${settings.http.rateLimitPerMinute} requests per minute per API key`,
            curlExample(frontDoor.url),
          ].join('\n'),
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await frontDoor.close();
      } finally {
        await connection.close();
        await db.destroy();
        await telemetry?.shutdown();
      }
    });
}
