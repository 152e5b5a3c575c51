import path from 'node:path';
import { z } from 'zod';
import { EMBEDDER_KINDS, type EmbedderSettings } from '../retrieval/create-embedder';

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
  GATEHOUSE_API_KEY: optionalText,
  DATABASE_URL: optionalText,
  GATEHOUSE_LOG_LEVEL: z.enum(['ERROR', 'WARN', 'INFO', 'DEBUG']).default('WARN'),
  AWS_REGION: optionalText,
  GATEHOUSE_BEDROCK_EMULATOR_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  OPENAI_COMPATIBLE_API_KEY: optionalText,
  GATEHOUSE_EMBEDDER: z.enum(EMBEDDER_KINDS).default('static'),
  GATEHOUSE_EMBEDDING_MODEL: optionalText,
  GATEHOUSE_EMBEDDING_DIMENSIONS: z.coerce.number().int().positive().optional(),
  GATEHOUSE_EMBEDDING_ENDPOINT: optionalText,
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
  /** Level of the Temporal SDK's own log lines. */
  logLevel: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
}

export const PROJECT_ROOT = path.resolve(__dirname, '..');

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
  };
}

function embedderSettings(values: Environment): EmbedderSettings {
  const model = values.GATEHOUSE_EMBEDDING_MODEL;
  const dimensions = values.GATEHOUSE_EMBEDDING_DIMENSIONS;
  const endpoint = values.GATEHOUSE_EMBEDDING_ENDPOINT;
  switch (values.GATEHOUSE_EMBEDDER) {
    case 'static':
      return { kind: 'static' };
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

/** Where the Temporal Web UI shows a workflow. */
export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
