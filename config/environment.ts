import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EMBEDDER_KINDS, type EmbedderSettings } from '../retrieval/embedder-settings';

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== '' ? value.trim() : undefined));

const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback);

/** Every environment variable Gatehouse reads, parsed once at the entry points (README lists them). */
export const environmentSchema = z.object({
  TEMPORAL_ADDRESS: optionalText,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_API_KEY: optionalText,
  TEMPORAL_TLS: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((value) => value === 'true' || value === '1'),
  TEMPORAL_CLI_PATH: optionalText,
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_UI_URL: optionalText,
  GATEHOUSE_TASK_QUEUE: z.string().default('gatehouse-requests'),
  GATEHOUSE_DATA_DIR: z.string().default('.data'),
  GATEHOUSE_ROUTES_FILE: z.string().default('config/routes.json'),
  GATEHOUSE_PRICING_CATALOGUE: z.string().default('config/pricing-catalogue.json'),
  GATEHOUSE_API_KEY: optionalText,
  DATABASE_URL: optionalText,
  GATEHOUSE_LOG_LEVEL: z.enum(['ERROR', 'WARN', 'INFO', 'DEBUG']).default('WARN'),
  AWS_REGION: optionalText,
  GATEHOUSE_BEDROCK_EMULATOR_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  OPENAI_COMPATIBLE_API_KEY: optionalText,
  GATEHOUSE_EMBEDDER: z.enum(EMBEDDER_KINDS).default('static'),
  GATEHOUSE_EMBEDDER_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  GATEHOUSE_EMBEDDING_MODEL: optionalText,
  GATEHOUSE_EMBEDDING_DIMENSIONS: z.coerce.number().int().positive().optional(),
  GATEHOUSE_EMBEDDING_ENDPOINT: optionalText,
  GATEHOUSE_RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  GATEHOUSE_WORKFLOW_BUNDLE: optionalText,
  GATEHOUSE_CODEC_KEYS: optionalText,
  GATEHOUSE_CODEC_KEY_FILE: optionalText,
  GATEHOUSE_CODEC_KMS_KEY_ID: optionalText,
  GATEHOUSE_CODEC_KMS_ENDPOINT: optionalText,
  GATEHOUSE_CODEC_TOKENS: optionalText,
  GATEHOUSE_CODEC_TOKEN_FILE: optionalText,
  GATEHOUSE_CODEC_HOST: z.string().default('127.0.0.1'),
  GATEHOUSE_CODEC_PORT: port(8234),
  GATEHOUSE_CODEC_PUBLIC_URL: optionalText,
  GATEHOUSE_CODEC_ALLOWED_ORIGINS: optionalText,
  GATEHOUSE_AUDIT_KEYS: optionalText,
  GATEHOUSE_AUDIT_KEY_FILE: optionalText,
  GATEHOUSE_AUDIT_CHECKPOINT_FILE: optionalText,
  GATEHOUSE_AUDIT_CHECKPOINT_S3: optionalText,
  GATEHOUSE_AUDIT_CHECKPOINT_S3_ENDPOINT: optionalText,
  GATEHOUSE_WORKER_TASK_QUEUES: optionalText,
  GATEHOUSE_HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  GATEHOUSE_TELEMETRY: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((value) => value === 'true' || value === '1'),
  GATEHOUSE_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z
    .enum(['http/protobuf', 'http/json', ''], {
      message: 'Gatehouse sends OTLP over HTTP: http/protobuf (the default) or http/json',
    })
    .optional()
    .transform((value) => (value === 'http/json' ? 'http/json' : 'http/protobuf')),
  GATEHOUSE_HTTP_HOST: z.string().default('127.0.0.1'),
  GATEHOUSE_HTTP_PORT: port(8080),
  GATEHOUSE_HTTP_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  GATEHOUSE_HTTP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
});

export type Environment = z.infer<typeof environmentSchema>;

export interface GatehouseSettings {
  projectRoot: string;
  temporal: {
    /** Undefined means: start the embedded dev server. */
    address?: string;
    namespace: string;
    apiKey?: string;
    tls: boolean;
    cliPath?: string;
    port: number;
    uiPort: number;
    uiUrl?: string;
  };
  taskQueue: string;
  dataDir: string;
  routesFile: string;
  /** Prices per model, inference profile and billing mode (GATEHOUSE_PRICING_CATALOGUE). */
  pricingCatalogueFile: string;
  databaseUrl?: string;
  sqliteFile: string;
  apiKey?: string;
  bedrock: {
    /** Region for routes that name none; the AWS SDK's default credential chain supplies credentials. */
    defaultRegion: string;
    /** When set, `npm start` runs the Bedrock Runtime emulator on this port and uses the emulated route table. */
    emulatorPort?: number;
  };
  openAiCompatibleApiKey?: string;
  /** The embedder of ingestion and search (GATEHOUSE_EMBEDDER and GATEHOUSE_EMBEDDING_*). */
  embedder: EmbedderSettings;
  codec: CodecSettings;
  audit: AuditSettings;
  http: HttpSettings;
  telemetry: TelemetrySettings;
  /** Level of the Temporal SDK's own log lines. */
  logLevel: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
  /** How often the reconciler Schedule settles what closed runs left open. */
  reconcileIntervalMs: number;
  /** A prebuilt workflow bundle (`npm run bundle:workflows`) the worker loads instead of bundling at start. */
  workflowBundlePath?: string;
  worker: {
    /** Task queues this process polls; every queue Gatehouse serves when undefined. */
    taskQueues?: string[];
    /** Port of the `/healthz` and `/readyz` endpoints; none are served when undefined. */
    healthPort?: number;
  };
}

/** Payload encryption keys, operator tokens and the codec server (README, "Payload encryption"). */
export interface CodecSettings {
  /** `id:base64[,id:base64…]`, the first active; wins over the key file. */
  keysFromEnvironment?: string;
  keyFile: string;
  /** A KMS key that wraps the key file's keys (envelope encryption). */
  kms?: { keyId: string; region: string; endpoint?: string };
  /** The token file's JSON; wins over the token file. */
  tokensFromEnvironment?: string;
  tokenFile: string;
  host: string;
  port: number;
  /** The address operators and the Temporal UI use to reach the codec server. */
  publicUrl: string;
  /** Browser origins allowed to call it: the Temporal UI's. */
  allowedOrigins: string[];
}

/** The audit trail's keys and checkpoints (README, "Reading a request's record"). */
export interface AuditSettings {
  /** The audit key file's JSON; wins over the key file. */
  keysFromEnvironment?: string;
  /** HMAC chain keys and the Ed25519 checkpoint key, default `<data dir>/audit-keys.json`. */
  keyFile: string;
  /** The checkpoint sink, default `<data dir>/audit-checkpoints.jsonl` (append-only JSON lines). */
  checkpointFile: string;
  /** `s3://bucket/prefix`: checkpoints as write-once objects there instead of the file. */
  checkpointS3?: { url: string; region: string; endpoint?: string };
}

/** OpenTelemetry (README, "Telemetry"). */
export interface TelemetrySettings {
  /** Traces and metrics over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`; off by default. */
  enabled: boolean;
  otlpProtocol: 'http/protobuf' | 'http/json';
  /** Port of the worker's Prometheus `/metrics` endpoint (may equal the health port); none when undefined. */
  metricsPort?: number;
}

/** The HTTP front door, `gatehouse serve` (README, "The HTTP front door"). */
export interface HttpSettings {
  /** Default 127.0.0.1; `0.0.0.0` in a container. */
  host: string;
  port: number;
  /** Larger request bodies get 413 before anything is parsed or started. */
  bodyLimitBytes: number;
  /** Requests per minute per API key, in each front door process. */
  rateLimitPerMinute: number;
}

export const PROJECT_ROOT = path.resolve(__dirname, '..');

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    throw new Error(`invalid environment:\n  ${url} is not a URL`);
  }
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): GatehouseSettings {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('\n  ');
    throw new Error(`invalid environment:\n  ${problems}`);
  }
  const values = parsed.data;
  const dataDir = path.resolve(PROJECT_ROOT, values.GATEHOUSE_DATA_DIR);
  // With the emulator on, the emulated table is the default; an explicit GATEHOUSE_ROUTES_FILE still wins.
  const routesFile =
    env.GATEHOUSE_ROUTES_FILE === undefined && values.GATEHOUSE_BEDROCK_EMULATOR_PORT !== undefined
      ? 'config/routes.bedrock-emulator.json'
      : values.GATEHOUSE_ROUTES_FILE;
  return {
    projectRoot: PROJECT_ROOT,
    temporal: {
      address: values.TEMPORAL_ADDRESS,
      namespace: values.TEMPORAL_NAMESPACE,
      apiKey: values.TEMPORAL_API_KEY,
      tls: values.TEMPORAL_TLS || values.TEMPORAL_API_KEY !== undefined,
      cliPath: values.TEMPORAL_CLI_PATH,
      port: values.TEMPORAL_PORT,
      uiPort: values.TEMPORAL_UI_PORT,
      uiUrl: values.TEMPORAL_UI_URL,
    },
    taskQueue: values.GATEHOUSE_TASK_QUEUE,
    dataDir,
    routesFile: path.resolve(PROJECT_ROOT, routesFile),
    pricingCatalogueFile: path.resolve(PROJECT_ROOT, values.GATEHOUSE_PRICING_CATALOGUE),
    databaseUrl: values.DATABASE_URL,
    sqliteFile: path.join(dataDir, 'gatehouse.sqlite'),
    apiKey: values.GATEHOUSE_API_KEY,
    logLevel: values.GATEHOUSE_LOG_LEVEL,
    bedrock: {
      defaultRegion: values.AWS_REGION ?? 'us-east-1',
      emulatorPort: values.GATEHOUSE_BEDROCK_EMULATOR_PORT,
    },
    openAiCompatibleApiKey: values.OPENAI_COMPATIBLE_API_KEY,
    embedder: embedderSettings(values),
    reconcileIntervalMs: values.GATEHOUSE_RECONCILE_INTERVAL_SECONDS * 1000,
    workflowBundlePath: values.GATEHOUSE_WORKFLOW_BUNDLE
      ? path.resolve(PROJECT_ROOT, values.GATEHOUSE_WORKFLOW_BUNDLE)
      : defaultBundle(),
    worker: {
      taskQueues: parseList(values.GATEHOUSE_WORKER_TASK_QUEUES),
      healthPort: values.GATEHOUSE_HEALTH_PORT,
    },
    audit: {
      keysFromEnvironment: values.GATEHOUSE_AUDIT_KEYS,
      keyFile: path.resolve(
        PROJECT_ROOT,
        values.GATEHOUSE_AUDIT_KEY_FILE ?? path.join(dataDir, 'audit-keys.json'),
      ),
      checkpointFile: path.resolve(
        PROJECT_ROOT,
        values.GATEHOUSE_AUDIT_CHECKPOINT_FILE ?? path.join(dataDir, 'audit-checkpoints.jsonl'),
      ),
      checkpointS3:
        values.GATEHOUSE_AUDIT_CHECKPOINT_S3 === undefined
          ? undefined
          : {
              url: values.GATEHOUSE_AUDIT_CHECKPOINT_S3,
              region: values.AWS_REGION ?? 'us-east-1',
              endpoint: values.GATEHOUSE_AUDIT_CHECKPOINT_S3_ENDPOINT,
            },
    },
    telemetry: {
      enabled: values.GATEHOUSE_TELEMETRY,
      otlpProtocol: values.OTEL_EXPORTER_OTLP_PROTOCOL,
      metricsPort: values.GATEHOUSE_METRICS_PORT,
    },
    http: {
      host: values.GATEHOUSE_HTTP_HOST,
      port: values.GATEHOUSE_HTTP_PORT,
      bodyLimitBytes: values.GATEHOUSE_HTTP_BODY_LIMIT_BYTES,
      rateLimitPerMinute: values.GATEHOUSE_HTTP_RATE_LIMIT_PER_MINUTE,
    },
    codec: {
      keysFromEnvironment: values.GATEHOUSE_CODEC_KEYS,
      keyFile: path.resolve(
        PROJECT_ROOT,
        values.GATEHOUSE_CODEC_KEY_FILE ?? path.join(dataDir, 'codec-keys.json'),
      ),
      kms: values.GATEHOUSE_CODEC_KMS_KEY_ID
        ? {
            keyId: values.GATEHOUSE_CODEC_KMS_KEY_ID,
            region: values.AWS_REGION ?? 'us-east-1',
            endpoint: values.GATEHOUSE_CODEC_KMS_ENDPOINT,
          }
        : undefined,
      tokensFromEnvironment: values.GATEHOUSE_CODEC_TOKENS,
      tokenFile: path.resolve(
        PROJECT_ROOT,
        values.GATEHOUSE_CODEC_TOKEN_FILE ?? path.join(dataDir, 'codec-tokens.json'),
      ),
      host: values.GATEHOUSE_CODEC_HOST,
      port: values.GATEHOUSE_CODEC_PORT,
      // localhost, like the UI links: a browser sends the sign-in cookie only within the same site.
      publicUrl: (
        values.GATEHOUSE_CODEC_PUBLIC_URL ?? `http://localhost:${values.GATEHOUSE_CODEC_PORT}`
      ).replace(/\/$/, ''),
      allowedOrigins: values.GATEHOUSE_CODEC_ALLOWED_ORIGINS
        ? values.GATEHOUSE_CODEC_ALLOWED_ORIGINS.split(',')
            .map((origin) => origin.trim())
            .filter(Boolean)
            .map(originOf)
        : [
            ...new Set([
              `http://localhost:${values.TEMPORAL_UI_PORT}`,
              `http://127.0.0.1:${values.TEMPORAL_UI_PORT}`,
              ...(values.TEMPORAL_UI_URL ? [originOf(values.TEMPORAL_UI_URL)] : []),
            ]),
          ],
    },
  };
}

/** `a, b,,c` → `['a', 'b', 'c']`, duplicates dropped; undefined stays undefined. */
function parseList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return [...new Set(text.split(',').map((item) => item.trim()))].filter((item) => item !== '');
}

/** `npm run bundle:workflows` writes here; a worker uses it when present instead of bundling at start. */
export const PREBUILT_WORKFLOW_BUNDLE = path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

/** The folders workflow code is bundled from: a bundle older than any of their files is stale. */
const WORKFLOW_SOURCE_FOLDERS = ['workflows', 'domain'];

function newestSourceMtime(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const file = path.join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(file) : statSync(file).mtimeMs);
  }
  return newest;
}

/** The prebuilt bundle, unless it is missing or older than the workflow code (then the worker bundles). */
function defaultBundle(): string | undefined {
  if (!existsSync(PREBUILT_WORKFLOW_BUNDLE)) return undefined;
  const built = statSync(PREBUILT_WORKFLOW_BUNDLE).mtimeMs;
  const stale = WORKFLOW_SOURCE_FOLDERS.some(
    (folder) => newestSourceMtime(path.join(PROJECT_ROOT, folder)) > built,
  );
  return stale ? undefined : PREBUILT_WORKFLOW_BUNDLE;
}

/** The embedder of ingestion and search, from GATEHOUSE_EMBEDDER and GATEHOUSE_EMBEDDING_*. */
function embedderSettings(values: Environment): EmbedderSettings {
  const model = values.GATEHOUSE_EMBEDDING_MODEL;
  const dimensions = values.GATEHOUSE_EMBEDDING_DIMENSIONS;
  const endpoint = values.GATEHOUSE_EMBEDDING_ENDPOINT;
  const threads = values.GATEHOUSE_EMBEDDER_THREADS;
  if (threads !== undefined && values.GATEHOUSE_EMBEDDER !== 'minilm-l6') {
    throw new Error(
      `invalid environment:\n  GATEHOUSE_EMBEDDER_THREADS applies to GATEHOUSE_EMBEDDER=minilm-l6 only (it is ${values.GATEHOUSE_EMBEDDER})`,
    );
  }
  switch (values.GATEHOUSE_EMBEDDER) {
    case 'static':
      return { kind: 'static' };
    case 'minilm-l6':
      return threads === undefined ? { kind: 'minilm-l6' } : { kind: 'minilm-l6', threads };
    case 'bedrock':
      if (dimensions !== undefined && dimensions !== 256 && dimensions !== 512 && dimensions !== 1024) {
        throw new Error(
          'invalid environment:\n  GATEHOUSE_EMBEDDING_DIMENSIONS: Titan v2 takes 256, 512 or 1024',
        );
      }
      return {
        kind: 'bedrock',
        region: values.AWS_REGION ?? 'us-east-1',
        endpoint,
        modelId: model,
        dimensions,
      };
    case 'openai-compatible':
      if (!endpoint || !model || dimensions === undefined) {
        throw new Error(
          'invalid environment:\n  GATEHOUSE_EMBEDDER=openai-compatible needs GATEHOUSE_EMBEDDING_ENDPOINT, GATEHOUSE_EMBEDDING_MODEL and GATEHOUSE_EMBEDDING_DIMENSIONS',
        );
      }
      return {
        kind: 'openai-compatible',
        endpoint,
        model,
        dimensions,
        apiKey: values.OPENAI_COMPATIBLE_API_KEY,
      };
  }
}

/** Where the Temporal Web UI shows a workflow, for these settings: the one place the UI base is decided. */
export function workflowLink(settings: GatehouseSettings, workflowId: string): string {
  const base = settings.temporal.uiUrl ?? `http://localhost:${settings.temporal.uiPort}`;
  return workflowUiUrl(base, settings.temporal.namespace, workflowId);
}

/** Where the Temporal Web UI shows a workflow. */
export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
