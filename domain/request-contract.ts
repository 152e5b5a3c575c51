import { z } from 'zod';
import { dataClassSchema } from './data-class';
import { latencyClassSchema } from './route-table';

/** Lone surrogates make hashes and token counts unstable, so text must be well-formed UTF-16. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const MAX_QUESTION_CHARS = 32_000;
/** Checked with the local token counter by the client and again by `assemble-prompt`. */
export const MAX_QUESTION_TOKENS = 8_000;
export const MAX_OUTPUT_SCHEMA_CHARS = 16_000;
const MAX_OUTPUT_SCHEMA_DEPTH = 12;

function jsonDepth(value: unknown, depth = 0): number {
  if (depth > MAX_OUTPUT_SCHEMA_DEPTH) return depth;
  if (value === null || typeof value !== 'object') return depth;
  let deepest = depth + 1;
  for (const child of Object.values(value as Record<string, unknown>)) {
    deepest = Math.max(deepest, jsonDepth(child, depth + 1));
  }
  return deepest;
}

const wellFormedText = (max: number) =>
  z
    .string()
    .max(max, { message: `must be at most ${max} characters` })
    .refine((text) => !LONE_SURROGATE.test(text), {
      message: 'must be well-formed UTF-16 (no lone surrogates)',
    });

export const tenantIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'tenant ids are 1-63 lower-case letters, digits and dashes');
/** An id the caller chooses: 1 to `maxLength` letters, digits, dots, dashes, colons or underscores. */
export function callerIdSchema(noun: string, maxLength: number) {
  return z
    .string()
    .regex(
      new RegExp(`^[A-Za-z0-9._:-]{1,${maxLength}}$`),
      `${noun} ids are 1-${maxLength} letters, digits, dots, dashes, colons or underscores`,
    );
}
export const requestIdSchema = callerIdSchema('request', 128);
export const taskTypeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'task types are lower-case words joined by dashes');

/** A product feature a request is charged to (budgets and reports), or an API key is bound to. */
export const featureSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'features are 1-63 lower-case letters, digits, dots, dashes or underscores',
  );

export const promptReferenceSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
    label: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .optional(),
    version: z.number().int().positive().optional(),
  })
  .refine((reference) => !(reference.label && reference.version), {
    message: 'give a prompt label or a version, not both',
  });
export type PromptReference = z.infer<typeof promptReferenceSchema>;

const outputSchemaSchema = z
  .record(z.unknown())
  .refine((schema) => JSON.stringify(schema).length <= MAX_OUTPUT_SCHEMA_CHARS, {
    message: `output schema must be at most ${MAX_OUTPUT_SCHEMA_CHARS} characters of JSON`,
  })
  .refine((schema) => jsonDepth(schema) <= MAX_OUTPUT_SCHEMA_DEPTH, {
    message: `output schema must nest at most ${MAX_OUTPUT_SCHEMA_DEPTH} levels`,
  });

export const apiKeySchema = z.string().min(16, 'API key is too short').max(256);

const requestFields = {
  tenantId: tenantIdSchema,
  requestId: requestIdSchema,
  taskType: taskTypeSchema,
  feature: featureSchema.optional(),
  dataClass: dataClassSchema.default('internal'),
  question: wellFormedText(MAX_QUESTION_CHARS).pipe(z.string().trim().min(1, 'question must not be empty')),
  prompt: promptReferenceSchema.optional(),
  outputSchema: outputSchemaSchema.optional(),
  maxOutputTokens: z.number().int().positive().max(32_000).optional(),
  /** Routes slower than this class are not tried. */
  latencyClass: latencyClassSchema.optional(),
  /** Lowers the policy's per-request cost ceiling for this request. */
  maxCostUsd: z.number().positive().max(1000).optional(),
  /** Deliver text deltas while the model writes; fallback is then allowed only before the first delta. */
  stream: z.boolean().default(false),
  /**
   * The caller's retrieval hint: `always` searches where the task's policy lets the classifier decide,
   * `never` skips the search, `auto` (or absent) leaves it to plan-retrieval.
   */
  retrieval: z.enum(['auto', 'always', 'never']).optional(),
};

/**
 * What a product service sends. The raw API key stays on the client side: it signs a caller proof
 * (below) and never enters Temporal, not even hashed.
 */
export const llmRequestInputSchema = z.object({
  ...requestFields,
  requestId: requestIdSchema.optional(),
  apiKey: apiKeySchema,
});
export type LlmRequestInput = z.input<typeof llmRequestInputSchema>;

/**
 * Who sent a request, bound to it (docs/decisions/0003). `proof` is an HMAC-SHA256, keyed with the
 * caller's API key hash that only the key holder and the store know, over the request's workflow id,
 * tenant, key id, fingerprint and validity window. A history reader sees all of it and can replay none of
 * it: any other workflow id, input or time fails verification in `authorize`.
 */
export const callerProofSchema = z.object({
  /** One-way handle of the API key (see governance/caller-proof.ts); finds the principal, proves nothing. */
  keyId: z.string().regex(/^[a-f0-9]{32}$/, 'keyId must be 32 hex digits'),
  /** Epoch milliseconds. The request's workflow must have been started within [issuedAt, expiresAt]. */
  issuedAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().positive(),
  proof: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'proof must be 32 bytes of base64url'),
});
export type CallerProof = z.infer<typeof callerProofSchema>;

/** The workflow's input, as stored in history. */
export const llmRequestSchema = z.object({
  ...requestFields,
  /** SHA-256 of the canonical request fields (governance/request-fingerprint.ts). */
  fingerprint: z.string().regex(/^[a-f0-9]{64}$/, 'fingerprint must be a SHA-256 hex digest'),
  caller: callerProofSchema,
});
export type LlmRequest = z.infer<typeof llmRequestSchema>;

/** The fields a request's fingerprint covers: everything the caller chose, nothing about who sent it. */
export const FINGERPRINT_FIELDS = [
  'tenantId',
  'requestId',
  'taskType',
  'feature',
  'dataClass',
  'question',
  'prompt',
  'outputSchema',
  'maxOutputTokens',
  'latencyClass',
  'maxCostUsd',
  'stream',
  'retrieval',
] as const satisfies ReadonlyArray<keyof LlmRequest>;
export type FingerprintField = (typeof FINGERPRINT_FIELDS)[number];
export type FingerprintedRequest = Pick<LlmRequest, FingerprintField>;

/** The fingerprinted fields of a request, with absent optional fields left out (not `undefined`). */
export function fingerprintedFields(request: FingerprintedRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const field of FINGERPRINT_FIELDS) {
    if (request[field] !== undefined) fields[field] = request[field];
  }
  return fields;
}

/** Workflow ids are the idempotency key of a request (DESIGN.md §2). */
export function requestWorkflowId(tenantId: string, requestId: string): string {
  return `gatehouse/${tenantId}/${requestId}`;
}

/** The tenant and request id of a Gatehouse workflow id, or undefined for any other id. */
export function parseRequestWorkflowId(
  workflowId: string,
): { tenantId: string; requestId: string } | undefined {
  const match = /^gatehouse\/([a-z0-9][a-z0-9-]{0,62})\/([A-Za-z0-9._:-]{1,128})$/.exec(workflowId);
  return match?.[1] && match[2] ? { tenantId: match[1], requestId: match[2] } : undefined;
}
