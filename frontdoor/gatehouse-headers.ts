import { z } from 'zod';
import { dataClassSchema, type DataClass } from '../domain/data-class';
import { FAILURE_TYPES } from '../domain/failure-types';
import {
  featureSchema,
  promptReferenceSchema,
  requestIdSchema,
  taskTypeSchema,
  type PromptReference,
} from '../domain/request-contract';
import { FrontDoorError } from './openai-error';

/** Request headers the front door reads, lower-case as Node gives them. */
export const GATEHOUSE_HEADERS = {
  idempotencyKey: 'idempotency-key',
  requestId: 'x-request-id',
  feature: 'x-gatehouse-feature',
  taskType: 'x-gatehouse-task-type',
  dataClass: 'x-gatehouse-data-class',
  prompt: 'x-gatehouse-prompt',
} as const;

const idempotencyHeaders = {
  [GATEHOUSE_HEADERS.idempotencyKey]: z
    .string()
    .optional()
    .describe(
      'The request id: sending the same key again joins the running request or returns its answer (one workflow, one charge)',
    ),
  [GATEHOUSE_HEADERS.requestId]: z
    .string()
    .optional()
    .describe('Used as the request id when Idempotency-Key is absent'),
  [GATEHOUSE_HEADERS.feature]: z
    .string()
    .optional()
    .describe('The product feature asking, for reporting and budgets'),
};

/** The headers of the native request API, for its OpenAPI document (the body carries everything else). */
export const requestHeadersSchema = z.object(idempotencyHeaders).passthrough();

/** The headers of chat completions, where an OpenAI body has no room for Gatehouse's request fields. */
export const chatHeadersSchema = z
  .object({
    ...idempotencyHeaders,
    [GATEHOUSE_HEADERS.taskType]: z.string().optional().describe('The task type; wins over the model name'),
    [GATEHOUSE_HEADERS.dataClass]: z
      .string()
      .optional()
      .describe('public | internal (default) | confidential | restricted'),
    [GATEHOUSE_HEADERS.prompt]: z
      .string()
      .optional()
      .describe('Prompt template NAME, NAME@VERSION or NAME:LABEL (default: the policy’s for the task)'),
  })
  .passthrough();

/** What the Gatehouse headers of one HTTP request ask for; absent headers are undefined. */
export interface GatehouseHeaderValues {
  requestId?: string;
  feature?: string;
  taskType?: string;
  dataClass?: DataClass;
  prompt?: PromptReference;
}

type Headers = Record<string, string | string[] | undefined>;

function single(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) {
    if (value.length > 1) invalid(name, `send the ${name} header once`);
    return value[0]?.trim() || undefined;
  }
  return value?.trim() || undefined;
}

function invalid(header: string, message: string): never {
  throw new FrontDoorError(FAILURE_TYPES.requestInvalid, `${header}: ${message}`, { param: header });
}

function checked<T>(header: string, value: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) invalid(header, parsed.error.issues[0]?.message ?? 'invalid value');
  return parsed.data;
}

function parsePrompt(value: string): PromptReference {
  const match = /^([a-z0-9][a-z0-9-]{0,62})(?:@(\d{1,9})|:([a-z0-9][a-z0-9-]{0,62}))?$/.exec(value);
  if (!match?.[1]) invalid(GATEHOUSE_HEADERS.prompt, 'use NAME, NAME@VERSION or NAME:LABEL');
  return promptReferenceSchema.parse({
    name: match[1],
    ...(match[2] ? { version: Number(match[2]) } : {}),
    ...(match[3] ? { label: match[3] } : {}),
  });
}

/** Reads and checks the Gatehouse headers; a malformed one is a 400 naming the header. */
export function readGatehouseHeaders(headers: Headers): GatehouseHeaderValues {
  const idempotencyKey = checked(
    'Idempotency-Key',
    single(headers, GATEHOUSE_HEADERS.idempotencyKey),
    requestIdSchema,
  );
  const requestIdHeader = checked(
    'x-request-id',
    single(headers, GATEHOUSE_HEADERS.requestId),
    requestIdSchema,
  );
  if (idempotencyKey && requestIdHeader && idempotencyKey !== requestIdHeader) {
    invalid('Idempotency-Key', 'differs from x-request-id; send one of them, or the same value in both');
  }
  const prompt = single(headers, GATEHOUSE_HEADERS.prompt);
  return {
    requestId: idempotencyKey ?? requestIdHeader,
    feature: checked(GATEHOUSE_HEADERS.feature, single(headers, GATEHOUSE_HEADERS.feature), featureSchema),
    taskType: checked(
      GATEHOUSE_HEADERS.taskType,
      single(headers, GATEHOUSE_HEADERS.taskType),
      taskTypeSchema,
    ),
    dataClass: checked(
      GATEHOUSE_HEADERS.dataClass,
      single(headers, GATEHOUSE_HEADERS.dataClass),
      dataClassSchema,
    ),
    prompt: prompt === undefined ? undefined : parsePrompt(prompt),
  };
}
