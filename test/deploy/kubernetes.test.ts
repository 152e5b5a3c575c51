/**
 * deploy/k8s/, checked without a cluster: every manifest against the vendored Kubernetes OpenAPI
 * definitions and KEDA's ScaledObject CRD, strictly (an unknown field fails), then what a schema
 * cannot see — probes on real health endpoints, requests, disruption budgets, one worker Deployment
 * and one KEDA Temporal trigger per task queue, and consistent references.
 */
import { environmentSchema, readSettings } from '../../config/environment';
import { loadRouteTable } from '../../config/load-route-table';
import { planTaskQueues } from '../../worker/plan-task-queues';
import {
  codeIn,
  listFiles,
  markdownTable,
  readText,
  readYaml,
  readYamlDocuments,
} from './support/deploy-files';
import { createKubernetesValidator } from './support/kubernetes-validator';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are checked against schemas, not typed */
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

const K8S = 'deploy/k8s';
const kustomization = readYaml(`${K8S}/kustomization.yaml`) as {
  namespace: string;
  resources: string[];
  images: { name: string; newName: string; newTag: string }[];
  secretGenerator: { name: string; envs: string[] }[];
};
const manifestFiles = listFiles(K8S, '.yaml').filter((file) => !file.endsWith('kustomization.yaml'));
const manifests = manifestFiles.flatMap((file) =>
  readYamlDocuments(file).map((document) => ({ file, manifest: document as Manifest })),
);
const ofKind = (kind: string) =>
  manifests.filter((entry) => entry.manifest.kind === kind).map((entry) => entry.manifest);
const deployments = ofKind('Deployment');
const configMap = ofKind('ConfigMap').find((manifest) => manifest.metadata.name === 'gatehouse-config')!;
const scaledObjects = ofKind('ScaledObject');
const packageVersion = (JSON.parse(readText('package.json')) as { version: string }).version;

const validator = createKubernetesValidator(
  'test/deploy/schemas/kubernetes/kubernetes-1.36-definitions.json',
  ['test/deploy/schemas/keda/keda.sh_scaledobjects.yaml'],
);

const containerOf = (deployment: Manifest) => deployment.spec.template.spec.containers[0];
const isWorker = (deployment: Manifest) =>
  (containerOf(deployment).command ?? []).includes('worker/start-platform.ts');
const workers = deployments.filter(isWorker);

/** The environment a container sees: ConfigMaps it loads, then its own env (secrets as placeholders). */
function containerEnvironment(container: any): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const map = ofKind('ConfigMap').find((manifest) => manifest.metadata.name === source.configMapRef?.name);
    if (map === undefined)
      throw new Error(`envFrom names ConfigMap ${source.configMapRef?.name}, which is not here`);
    Object.assign(environment, map.data);
  }
  for (const entry of container.env ?? []) {
    environment[entry.name] =
      entry.value ??
      (entry.valueFrom?.secretKeyRef ? secretPlaceholder(entry.valueFrom.secretKeyRef.key) : '');
  }
  return environment;
}

/** What the example secrets file says a secret holds, so settings parse as they would in the cluster. */
function secretPlaceholder(key: string): string {
  return secretExample.get(key) ?? '';
}

const secretExample = new Map(
  readText(`${K8S}/secrets.env.example`)
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
);

/** Trigger metadata KEDA's Temporal scaler reads, from its field tags (`keda:"name=…, order=triggerMetadata…"`). */
function temporalScalerMetadataKeys(): Set<string> {
  const source = readText('test/deploy/schemas/keda/temporal_scaler.go');
  const keys = new Set<string>();
  for (const match of source.matchAll(/keda:"name=(\w+),\s*order=([\w;]+)/g)) {
    const [, name, order] = match;
    const orders = order!.split(';');
    if (orders.includes('triggerMetadata')) keys.add(name!);
    if (orders.includes('resolvedEnv')) keys.add(`${name}FromEnv`);
  }
  return keys;
}

function temporalScalerQueueTypes(): string[] {
  const source = readText('test/deploy/schemas/keda/temporal_scaler.go');
  const body = /func queueTypeSet[\s\S]*?\n}\n/.exec(source)?.[0] ?? '';
  return [...body.matchAll(/case "(\w+)":/g)].map((match) => match[1]!);
}

describe('deploy/k8s', () => {
  it('validates every manifest against the Kubernetes OpenAPI definitions and the KEDA CRD', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    const problems = manifests
      .map(({ file, manifest }) => ({
        manifest: `${file} ${manifest.kind}/${manifest.metadata?.name}`,
        errors: validator.validate(manifest),
      }))
      .filter((entry) => entry.errors.length > 0);
    expect(problems).toEqual([]);
  });

  it('rejects what kubectl --validate=strict rejects: misspelt fields, bad quantities, unknown kinds', () => {
    const deployment = structuredClone(workers[0]!);
    containerOf(deployment).readinessProbes = containerOf(deployment).readinessProbe;
    containerOf(deployment).resources.requests.cpu = '500mm';
    expect(validator.validate(deployment)).toEqual(
      expect.arrayContaining([
        "/spec/template/spec/containers/0 must NOT have additional properties 'readinessProbes'",
        expect.stringMatching(
          /^\/spec\/template\/spec\/containers\/0\/resources\/requests\/cpu must match pattern/,
        ),
      ]),
    );
    const scaledObject = structuredClone(scaledObjects[0]!) as any;
    scaledObject.spec.minReplicas = 1;
    scaledObject.metadata.labelz = {};
    expect(validator.validate(scaledObject)).toEqual([
      "/spec must NOT have additional properties 'minReplicas'",
      "/metadata must NOT have additional properties 'labelz'",
    ]);
    expect(validator.validate({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' })).toEqual([
      '/ unknown apiVersion/kind autoscaling/v2/HorizontalPodAutoscaler',
    ]);
  });

  it('lists every manifest in kustomization.yaml, and tags the image with package.json’s version', () => {
    expect([...kustomization.resources].sort()).toEqual(
      manifestFiles.map((file) => file.replace(`${K8S}/`, '')).sort(),
    );
    expect(kustomization.images).toEqual([
      { name: 'gatehouse', newName: 'gatehouse', newTag: packageVersion },
    ]);
    for (const deployment of deployments) expect(containerOf(deployment).image).toBe('gatehouse');
    expect(ofKind('Namespace').map((manifest) => manifest.metadata.name)).toEqual([kustomization.namespace]);
  });

  it('gives every Deployment readiness and liveness probes on ports it declares, and resource requests', () => {
    expect(deployments.length).toBeGreaterThanOrEqual(3);
    for (const deployment of deployments) {
      const container = containerOf(deployment);
      const ports = new Map<string, number>(
        (container.ports ?? []).map((port: { name: string; containerPort: number }) => [
          port.name,
          port.containerPort,
        ]),
      );
      const probe = (kind: string) => ({
        path: container[kind]?.httpGet?.path,
        portDeclared: ports.has(container[kind]?.httpGet?.port),
      });
      expect({
        name: deployment.metadata.name,
        readiness: probe('readinessProbe'),
        liveness: probe('livenessProbe'),
      }).toEqual({
        name: deployment.metadata.name,
        readiness: { path: '/readyz', portDeclared: true },
        liveness: { path: '/healthz', portDeclared: true },
      });
      expect({
        name: deployment.metadata.name,
        requests: Object.keys(container.resources?.requests ?? {}).sort(),
      }).toEqual({
        name: deployment.metadata.name,
        requests: ['cpu', 'memory'],
      });
      expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    }
  });

  it('probes the workers on the health port they serve (GATEHOUSE_HEALTH_PORT)', () => {
    for (const deployment of workers) {
      const container = containerOf(deployment);
      const settings = readSettings(containerEnvironment(container));
      const health = container.ports.find(
        (port: { name: string }) => port.name === container.readinessProbe.httpGet.port,
      );
      expect({ name: deployment.metadata.name, port: health.containerPort }).toEqual({
        name: deployment.metadata.name,
        port: settings.worker.healthPort,
      });
    }
  });

  it('covers every Deployment with a PodDisruptionBudget selecting its pods', () => {
    const budgets = ofKind('PodDisruptionBudget');
    for (const deployment of deployments) {
      const labels = deployment.spec.template.metadata.labels as Record<string, string>;
      const covering = budgets.filter((budget) =>
        Object.entries(budget.spec.selector.matchLabels as Record<string, string>).every(
          ([key, value]) => labels[key] === value,
        ),
      );
      expect({ name: deployment.metadata.name, budgets: covering.length }).toEqual({
        name: deployment.metadata.name,
        budgets: 1,
      });
      const budget = covering[0]!.spec;
      expect(budget.minAvailable !== undefined || budget.maxUnavailable !== undefined).toBe(true);
    }
  });

  it('runs one worker Deployment per task queue: the request queue and every route queue of the route table', () => {
    const polledBy = new Map<string, string>();
    for (const deployment of workers) {
      const settings = readSettings(containerEnvironment(containerOf(deployment)));
      const plan = planTaskQueues(
        settings.taskQueue,
        loadRouteTable(settings.routesFile),
        settings.worker.taskQueues,
      );
      const queues = [...(plan.requestQueue ? [plan.requestQueue] : []), ...plan.routeQueues.keys()];
      expect({ name: deployment.metadata.name, queues: queues.length }).toEqual({
        name: deployment.metadata.name,
        queues: 1,
      });
      expect(polledBy.has(queues[0]!)).toBe(false);
      polledBy.set(queues[0]!, deployment.metadata.name);
      // KEDA sets the replica count; a replicas field would fight it on every apply.
      expect(deployment.spec.replicas).toBeUndefined();
    }
    const settings = readSettings(containerEnvironment(containerOf(workers[0]!)));
    const every = planTaskQueues(settings.taskQueue, loadRouteTable(settings.routesFile));
    expect([...polledBy.keys()].sort()).toEqual([settings.taskQueue, ...every.routeQueues.keys()].sort());
  });

  it('scales each worker Deployment with a KEDA Temporal trigger on its own task queue', () => {
    const allowedKeys = temporalScalerMetadataKeys();
    expect([...allowedKeys]).toEqual(
      expect.arrayContaining(['endpoint', 'endpointFromEnv', 'taskQueue', 'targetQueueSize', 'queueTypes']),
    );
    const queueTypes = temporalScalerQueueTypes();
    expect(queueTypes).toEqual(['workflow', 'activity', 'nexus']);

    expect(scaledObjects.map((scaled) => scaled.spec.scaleTargetRef.name).sort()).toEqual(
      workers.map((deployment) => deployment.metadata.name).sort(),
    );
    for (const scaled of scaledObjects) {
      const deployment = workers.find(
        (candidate) => candidate.metadata.name === scaled.spec.scaleTargetRef.name,
      )!;
      const environment = containerEnvironment(containerOf(deployment));
      const settings = readSettings(environment);
      const triggers = scaled.spec.triggers as { type: string; metadata: Record<string, string> }[];
      expect(triggers.map((trigger) => trigger.type)).toEqual(['temporal']);
      const metadata = triggers[0]!.metadata;
      const name = scaled.metadata.name;
      expect({ name, unknownKeys: Object.keys(metadata).filter((key) => !allowedKeys.has(key)) }).toEqual({
        name,
        unknownKeys: [],
      });
      expect({ name, taskQueue: metadata.taskQueue }).toEqual({
        name,
        taskQueue: settings.worker.taskQueues?.[0],
      });
      // The scaler reads these from the scaled container's environment: they must be defined there.
      for (const key of Object.keys(metadata).filter((entry) => entry.endsWith('FromEnv'))) {
        expect({ name, key, defined: metadata[key]! in environment }).toEqual({ name, key, defined: true });
      }
      expect(environment[metadata.endpointFromEnv!]).toBe(settings.temporal.address);
      const types = (metadata.queueTypes ?? '').split(',');
      expect(types.filter((type) => !queueTypes.includes(type))).toEqual([]);
      const isRequestQueue = metadata.taskQueue === settings.taskQueue;
      expect({ name, types }).toEqual({
        name,
        types: isRequestQueue ? ['workflow', 'activity'] : ['activity'],
      });
      expect(Number(metadata.targetQueueSize)).toBeGreaterThan(0);
      if (!isRequestQueue) {
        // One worker's worth of waiting tasks adds a worker (deploy/README.md "Workers per route").
        const plan = planTaskQueues(settings.taskQueue, loadRouteTable(settings.routesFile), [
          metadata.taskQueue!,
        ]);
        expect(Number(metadata.targetQueueSize)).toBe(
          plan.routeQueues.get(metadata.taskQueue!)?.maxConcurrent,
        );
      }
      expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(scaled.spec.maxReplicaCount).toBeGreaterThanOrEqual(scaled.spec.minReplicaCount);
    }
  });

  it('points Gatehouse at a Temporal cluster and PostgreSQL, with every variable it reads set or documented', () => {
    const documented = new Map(
      markdownTable(readText('README.md'), 'Environment variables').map((row) => [
        codeIn(row.variable)[0] ?? '',
        row.default ?? '',
      ]),
    );
    const pending = new Set(
      markdownTable(readText('deploy', 'README.md'), 'Variables set ahead of the code that reads them').map(
        (row) => codeIn(row.variable)[0] ?? '',
      ),
    );
    const readVariables = Object.keys(environmentSchema.shape);
    for (const deployment of deployments) {
      const name = deployment.metadata.name;
      const environment = containerEnvironment(containerOf(deployment));
      const settings = readSettings(environment);
      expect({ name, temporal: /^(localhost|127\.)/.test(settings.temporal.address ?? 'localhost') }).toEqual(
        { name, temporal: false },
      );
      expect({ name, database: settings.databaseUrl?.startsWith('postgres://') }).toEqual({
        name,
        database: true,
      });
      expect({ name, bundle: settings.workflowBundlePath }).toEqual({
        name,
        bundle: expect.stringMatching(/dist\/workflow-bundle\.js$/),
      });
      const undocumented = readVariables.filter(
        (variable) => !(variable in environment) && (documented.get(variable) ?? '') === '',
      );
      expect({ name, undocumented }).toEqual({ name, undocumented: [] });
      const unknown = Object.keys(environment).filter(
        (variable) =>
          !readVariables.includes(variable) && !/^(AWS|OTEL)_/.test(variable) && !pending.has(variable),
      );
      expect({ name, unknown }).toEqual({ name, unknown: [] });
    }
  });

  it('references only the generated Secret and keys its example file documents, and uses each key', () => {
    const secretName = kustomization.secretGenerator.map((generator) => generator.name);
    expect(kustomization.secretGenerator).toEqual([{ name: 'gatehouse-secrets', envs: ['secrets.env'] }]);
    const referenced = new Set<string>();
    for (const deployment of deployments) {
      for (const entry of containerOf(deployment).env ?? []) {
        const ref = entry.valueFrom?.secretKeyRef;
        if (ref === undefined) continue;
        expect({ name: ref.name, known: secretName.includes(ref.name) }).toEqual({
          name: ref.name,
          known: true,
        });
        expect({ key: ref.key, documented: secretExample.has(ref.key) }).toEqual({
          key: ref.key,
          documented: true,
        });
        referenced.add(ref.key);
      }
    }
    expect([...secretExample.keys()].filter((key) => !referenced.has(key))).toEqual([]);
    expect(readText('.gitignore')).toContain('deploy/k8s/secrets.env');
  });

  it('gives the front door a Service whose selector and target port match its Deployment', () => {
    for (const service of ofKind('Service')) {
      const selector = service.spec.selector as Record<string, string>;
      const target = deployments.find((deployment) =>
        Object.entries(selector).every(
          ([key, value]) => deployment.spec.template.metadata.labels[key] === value,
        ),
      );
      expect({ service: service.metadata.name, selects: target?.metadata.name }).toEqual({
        service: service.metadata.name,
        selects: 'front-door',
      });
      for (const port of service.spec.ports as { targetPort: string }[]) {
        expect(containerOf(target!).ports.map((declared: { name: string }) => declared.name)).toContain(
          port.targetPort,
        );
      }
    }
    expect(configMap.data?.GATEHOUSE_TASK_QUEUE).toBe('gatehouse-requests');
  });
});
