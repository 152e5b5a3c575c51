/**
 * docker-compose.yml, checked without a container engine: against the Compose Specification's JSON
 * schema (vendored), and for what a schema cannot see — pinned images, declared volumes and ports,
 * the variables Gatehouse reads, and workers that reach the compose Temporal server and PostgreSQL.
 */
import path from 'node:path';
import Ajv from 'ajv';
import draft07MetaSchema from 'ajv/dist/refs/json-schema-draft-07.json';
import { environmentSchema, readSettings } from '../../config/environment';
import { loadRouteTable } from '../../config/load-route-table';
import { planTaskQueues } from '../../worker/plan-task-queues';
import {
  codeIn,
  interpolate,
  interpolatedVariables,
  markdownTable,
  projectPath,
  readText,
  readYaml,
} from './support/deploy-files';
import { imagePinProblem, imageTag } from './support/image-reference';
import { existsSync } from 'node:fs';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  container_name?: string;
  profiles?: string[];
}

interface ComposeFile {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const COMPOSE_FILE = 'docker-compose.yml';
/** As Compose reads it with an empty environment: merge keys resolved, every `${VAR:-default}` defaulted. */
const compose = interpolate(readYaml(COMPOSE_FILE)) as ComposeFile;
const services = Object.entries(compose.services);
const packageVersion = (JSON.parse(readText('package.json')) as { version: string }).version;

const isGatehouse = (service: ComposeService) => service.image?.startsWith('gatehouse:') === true;
const gatehouseServices = services.filter(([, service]) => isGatehouse(service));
const isWorker = (service: ComposeService) => service.command?.includes('worker/start-platform.ts') === true;
const workerServices = gatehouseServices.filter(([, service]) => isWorker(service));

/** Variables the libraries read themselves (AWS SDK, OpenTelemetry SDK), not config/environment.ts. */
const STANDARD_PREFIXES = ['AWS_', 'OTEL_'];
/** Without these a Gatehouse process silently falls back to the single-machine defaults. */
const REQUIRED_IN_A_DEPLOYMENT = ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'GATEHOUSE_WORKFLOW_BUNDLE'];

const readme = readText('README.md');
const deployReadme = readText('deploy', 'README.md');
const documentedVariables = new Map(
  markdownTable(readme, 'Environment variables').map((row) => [
    codeIn(row.variable)[0] ?? '',
    row.default ?? '',
  ]),
);
const pendingVariables = new Map(
  markdownTable(deployReadme, 'Variables set ahead of the code that reads them').map((row) => [
    codeIn(row.variable)[0] ?? '',
    row['set on'] ?? '',
  ]),
);
const readVariables = Object.keys(environmentSchema.shape);

/** `[host_ip:]published:target[/protocol]` → its parts. */
function parsePort(spec: string): { hostIp?: string; published?: string; target: string } {
  const parts = spec.replace(/\/(tcp|udp)$/, '').split(':');
  if (parts.length === 3) return { hostIp: parts[0], published: parts[1], target: parts[2]! };
  if (parts.length === 2) return { published: parts[0], target: parts[1]! };
  return { target: parts[0]! };
}

function pinProblems(entries: [string, ComposeService][]): string[] {
  return entries.flatMap(([name, service]) => {
    const problem = imagePinProblem(service.image);
    return problem ? [`${name}: ${problem}`] : [];
  });
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification JSON schema', () => {
    const schema = JSON.parse(readText('test/deploy/schemas/compose-spec/compose-spec.json')) as {
      $schema: string;
    };
    const ajv = new Ajv({ allErrors: true, strict: false });
    // The spec names draft-07 by its https address; Ajv knows the same meta-schema by the http one.
    ajv.addMetaSchema({ ...draft07MetaSchema, $id: schema.$schema });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(valid ? [] : validate.errors).toEqual([]);

    // The schema really is strict about names: a misspelt service key fails it.
    const misspelt = structuredClone(compose);
    (misspelt.services.temporal as Record<string, unknown>).helthcheck = {};
    expect(validate(misspelt)).toBe(false);
    expect(validate.errors?.[0]?.params).toEqual({ additionalProperty: 'helthcheck' });
  });

  it('needs no environment to start: every interpolated variable has a default', () => {
    const withoutDefault = [...interpolatedVariables(readText(COMPOSE_FILE))]
      .filter(([, fallback]) => fallback === undefined)
      .map(([name]) => name);
    expect(withoutDefault).toEqual([]);
    expect(interpolatedVariables(readText(COMPOSE_FILE)).get('GATEHOUSE_DB_PASSWORD')).toBe('gatehouse');
  });

  it('pins every image to a version, and tags the Gatehouse image with package.json’s version', () => {
    expect(pinProblems(services)).toEqual([]);
    expect(
      pinProblems([
        ['untagged', { image: 'postgres' }],
        ['latest', { image: 'grafana/grafana:latest' }],
        ['floating', { image: 'pgvector/pgvector:pg15' }],
      ]),
    ).toHaveLength(3);
    for (const [name, service] of gatehouseServices) {
      expect({ name, tag: imageTag(service.image!) }).toEqual({ name, tag: packageVersion });
      expect({ name, build: service.build }).toEqual({
        name,
        build: { context: '.', dockerfile: 'Dockerfile' },
      });
    }
    expect(existsSync(projectPath('Dockerfile'))).toBe(true);
    expect(gatehouseServices.length).toBeGreaterThanOrEqual(4);
  });

  it('declares every named volume it mounts, and every file it bind-mounts exists', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const used = new Set<string>();
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./') || source.startsWith('/')) {
          expect({ name, source, exists: existsSync(projectPath(source)) }).toEqual({
            name,
            source,
            exists: true,
          });
        } else {
          expect({ name, volume: source, declared: declared.includes(source) }).toEqual({
            name,
            volume: source,
            declared: true,
          });
          used.add(source);
        }
      }
    }
    expect(declared.filter((volume) => !used.has(volume))).toEqual([]);
  });

  it('publishes each host port once, on 127.0.0.1, as deploy/README.md lists them', () => {
    const published = services.flatMap(([name, service]) =>
      (service.ports ?? []).map((spec) => ({ service: name, ...parsePort(spec) })),
    );
    expect(published.filter((port) => port.hostIp !== '127.0.0.1')).toEqual([]);
    const hostPorts = published.map((port) => port.published);
    expect(hostPorts.filter((port, index) => hostPorts.indexOf(port) !== index)).toEqual([]);
    const documented = markdownTable(deployReadme, 'Ports').map((row) => ({
      service: row.service,
      published: row['host port'],
      target: row['container port'],
    }));
    const sortKey = (port: { service?: string; published?: string }) => `${port.service}:${port.published}`;
    expect(
      published
        .map(({ service, published: host, target }) => ({ service, published: host, target }))
        .sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    ).toEqual(documented.sort((a, b) => sortKey(a).localeCompare(sortKey(b))));
  });

  it('lets every worker scale with --scale: no container name, no published port, a readiness check', () => {
    expect(workerServices.map(([name]) => name).sort()).toEqual([
      'request-worker',
      'route-worker-extractive',
    ]);
    for (const [name, service] of workerServices) {
      expect({ name, containerName: service.container_name, ports: service.ports }).toEqual({
        name,
        containerName: undefined,
        ports: undefined,
      });
      expect(service.healthcheck?.test.join(' ')).toContain(
        `127.0.0.1:${service.environment?.GATEHOUSE_HEALTH_PORT}/readyz`,
      );
    }
  });

  it('runs one worker service per task queue: the request queue and every route queue of its route table', () => {
    const polledBy = new Map<string, string[]>();
    for (const [name, service] of workerServices) {
      const settings = readSettings(service.environment);
      const routeTable = loadRouteTable(settings.routesFile);
      // Throws for a queue the route table does not serve.
      const plan = planTaskQueues(settings.taskQueue, routeTable, settings.worker.taskQueues);
      const queues = [...(plan.requestQueue ? [plan.requestQueue] : []), ...plan.routeQueues.keys()];
      for (const queue of queues) polledBy.set(queue, [...(polledBy.get(queue) ?? []), name]);
    }
    const everyQueue = planTaskQueues(
      'gatehouse-requests',
      loadRouteTable(projectPath('config', 'routes.json')),
    );
    const expected = ['gatehouse-requests', ...everyQueue.routeQueues.keys()];
    expect(Object.fromEntries(polledBy)).toEqual(
      Object.fromEntries(
        expected.map((queue) => [
          queue,
          [
            queue === 'gatehouse-requests'
              ? 'request-worker'
              : `route-worker-${queue.replace('gatehouse-route-', '')}`,
          ],
        ]),
      ),
    );
  });

  it('points every Gatehouse service at the compose Temporal server and PostgreSQL, not at a dev server', () => {
    const temporalService = compose.services.temporal!;
    const appDatabase = compose.services['app-postgres']!;
    expect(temporalService.image).toMatch(/^temporalio\/server:/);
    expect(appDatabase.image).toMatch(/^pgvector\/pgvector:/);
    expect(
      services.filter(([, service]) =>
        [...(service.command ?? []), ...(service.entrypoint ?? [])].join(' ').includes('start-dev'),
      ),
    ).toEqual([]);

    for (const [name, service] of gatehouseServices) {
      const settings = readSettings(service.environment);
      const [host, port] = (settings.temporal.address ?? '').split(':');
      expect({ name, host, port }).toEqual({ name, host: 'temporal', port: '7233' });
      expect(temporalService.environment?.BIND_ON_IP).toBe('0.0.0.0');

      const database = new URL(settings.databaseUrl ?? 'sqlite:');
      expect({
        name,
        protocol: database.protocol,
        host: database.hostname,
        port: database.port,
        user: database.username,
        password: decodeURIComponent(database.password),
        database: database.pathname.slice(1),
      }).toEqual({
        name,
        protocol: 'postgres:',
        host: 'app-postgres',
        port: '5432',
        user: appDatabase.environment?.POSTGRES_USER,
        password: appDatabase.environment?.POSTGRES_PASSWORD,
        database: appDatabase.environment?.POSTGRES_DB,
      });
    }
  });

  it('starts Gatehouse once the namespace exists and the app database is healthy', () => {
    for (const [name, service] of gatehouseServices) {
      const dependsOn = service.depends_on as Record<string, { condition: string }>;
      expect({ name, database: dependsOn['app-postgres'] }).toEqual({
        name,
        database: { condition: 'service_healthy' },
      });
      if (name !== 'gatehouse-init') {
        expect({
          name,
          namespace: dependsOn['temporal-namespace'],
          sharedState: dependsOn['gatehouse-init'],
        }).toEqual({
          name,
          namespace: { condition: 'service_completed_successfully' },
          sharedState: { condition: 'service_completed_successfully' },
        });
      }
    }
    expect(compose.services['temporal-namespace']?.environment?.NAMESPACE).toBe(
      readSettings(gatehouseServices[0]![1].environment).temporal.namespace,
    );
  });

  it('sets, on every Gatehouse service, each variable Gatehouse reads or leaves it at a documented default', () => {
    // Docs match the code: README's table has a row for every variable config/environment.ts reads.
    expect(readVariables.filter((name) => !documentedVariables.has(name))).toEqual([]);
    for (const [name, service] of gatehouseServices) {
      const environment = service.environment ?? {};
      expect({
        name,
        missing: REQUIRED_IN_A_DEPLOYMENT.filter((variable) => !(variable in environment)),
      }).toEqual({
        name,
        missing: [],
      });
      const undocumented = readVariables.filter(
        (variable) => !(variable in environment) && (documentedVariables.get(variable) ?? '') === '',
      );
      expect({ name, undocumented }).toEqual({ name, undocumented: [] });
      // Values parse: a bad port or log level fails here, not in a container at 3 a.m.
      expect(() => readSettings(environment)).not.toThrow();
    }
    for (const [name, service] of workerServices) {
      expect({ name, queues: typeof service.environment?.GATEHOUSE_WORKER_TASK_QUEUES }).toEqual({
        name,
        queues: 'string',
      });
    }
  });

  it('sets no Gatehouse variable the code does not read, except those deploy/README.md lists as set ahead of their code', () => {
    for (const [name, service] of gatehouseServices) {
      const unknown = Object.keys(service.environment ?? {}).filter(
        (variable) =>
          !readVariables.includes(variable) &&
          !STANDARD_PREFIXES.some((prefix) => variable.startsWith(prefix)) &&
          !pendingVariables.has(variable),
      );
      expect({ name, unknown }).toEqual({ name, unknown: [] });
    }
    // A row goes stale the day its variable is read: then it belongs in README's table instead.
    expect([...pendingVariables.keys()].filter((variable) => readVariables.includes(variable))).toEqual([]);
    const setAnywhere = new Set(
      gatehouseServices.flatMap(([, service]) => Object.keys(service.environment ?? {})),
    );
    expect([...pendingVariables.keys()].filter((variable) => !setAnywhere.has(variable))).toEqual([]);
  });

  it('wires the Temporal UI to the codec server as the browser reaches it, and the codec server to the UI’s origin', () => {
    const portOf = (service: string, target: number | string) =>
      compose.services[service]?.ports?.map(parsePort).find((port) => port.target === String(target))
        ?.published;
    const ui = compose.services['temporal-ui']!;
    const codec = readSettings(compose.services['codec-server']!.environment).codec;
    const codecOnHost = `http://localhost:${portOf('codec-server', codec.port)}`;
    expect(codec.host).toBe('0.0.0.0');
    expect(ui.environment?.TEMPORAL_CODEC_ENDPOINT).toBe(codecOnHost);
    expect(codec.publicUrl).toBe(codecOnHost);
    // The codec server signs operators in with a cookie, which the UI sends only with credentials on.
    expect(ui.environment?.TEMPORAL_CODEC_INCLUDE_CREDENTIALS).toBe('true');
    const uiOnHost = `http://localhost:${portOf('temporal-ui', 8080)}`;
    expect(codec.allowedOrigins).toEqual([uiOnHost]);
    expect(gatehouseServices[0]![1].environment?.TEMPORAL_UI_URL).toBe(uiOnHost);
  });

  it('shares one payload key file and token file, written only by gatehouse-init, with every Gatehouse process', () => {
    for (const [name, service] of gatehouseServices) {
      const settings = readSettings(service.environment);
      const mount = (service.volumes ?? [])
        .map((volume) => volume.split(':'))
        .find(([source]) => source === 'gatehouse-state');
      const writable = name === 'gatehouse-init' || name === 'gatehouse-cli';
      expect({ name, mount }).toEqual({
        name,
        mount: writable ? ['gatehouse-state', settings.dataDir] : ['gatehouse-state', settings.dataDir, 'ro'],
      });
      // No process may make keys of its own: they come from the shared file, which lives in that volume.
      expect({
        name,
        keys: settings.codec.keysFromEnvironment,
        keyFile: path.dirname(settings.codec.keyFile),
      }).toEqual({
        name,
        keys: undefined,
        keyFile: settings.dataDir,
      });
    }
    expect(compose.services['gatehouse-init']?.command).toEqual([
      'node',
      '--import',
      'tsx',
      'scripts/seed-demo.ts',
    ]);
  });

  it('mounts the Temporal schema, namespace and dynamic config files it names', () => {
    const mounted = (service: string) =>
      compose.services[service]?.volumes?.map((volume) => volume.split(':')) ?? [];
    const temporal = compose.services.temporal!;
    const dynamicConfig = mounted('temporal').find(([, target]) => target?.endsWith('.yaml'));
    expect(dynamicConfig?.[1]).toBe(
      path.posix.join('/etc/temporal', temporal.environment?.DYNAMIC_CONFIG_FILE_PATH ?? 'missing'),
    );
    for (const service of ['temporal-schema', 'temporal-namespace']) {
      const [source, target] = mounted(service)[0]!;
      expect(compose.services[service]?.entrypoint).toEqual(['/bin/sh', target]);
      expect(readText(source!)).toMatch(/^#!\/bin\/sh\n/);
      // What a script sources beside itself is mounted beside it.
      for (const [, sourced] of readText(source!).matchAll(/^\. "\$\(dirname "\$0"\)\/(.+)"$/gm)) {
        expect(mounted(service).map(([, mountedAt]) => mountedAt)).toContain(
          path.posix.join('/scripts', sourced!),
        );
      }
    }
  });
});
