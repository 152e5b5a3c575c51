import path from 'node:path';
import { z } from 'zod';

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
  GATEHOUSE_WORKER_TASK_QUEUES: optionalText,
  GATEHOUSE_HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  GATEHOUSE_WORKFLOW_BUNDLE: optionalText,
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
  /** Level of the Temporal SDK's own log lines. */
  logLevel: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
  worker: {
    /** Task queues this process polls; every queue Gatehouse serves when undefined. */
    taskQueues?: string[];
    /** Port of the `/healthz` and `/readyz` endpoints; none are served when undefined. */
    healthPort?: number;
    /** A prebuilt workflow bundle (`npm run bundle:workflows`); workflows are bundled at start when undefined. */
    workflowBundlePath?: string;
  };
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
    worker: {
      taskQueues: parseList(values.GATEHOUSE_WORKER_TASK_QUEUES),
      healthPort: values.GATEHOUSE_HEALTH_PORT,
      workflowBundlePath:
        values.GATEHOUSE_WORKFLOW_BUNDLE === undefined
          ? undefined
          : path.resolve(PROJECT_ROOT, values.GATEHOUSE_WORKFLOW_BUNDLE),
    },
  };
}

/** `a, b,,c` → `['a', 'b', 'c']`, duplicates dropped; undefined stays undefined. */
function parseList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return [...new Set(text.split(',').map((item) => item.trim()))].filter((item) => item !== '');
}

/** Where the Temporal Web UI shows a workflow. */
export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
