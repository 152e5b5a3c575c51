import type { FastifySchemaCompiler, FastifyTypeProvider } from 'fastify';
import type { FastifySerializerCompiler } from 'fastify/types/schema';
import type { z, ZodError, ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';

/**
 * Route schemas are zod schemas (house rule: zod at every trust boundary). They validate requests, type
 * the handlers, and — converted to JSON Schema — make the OpenAPI document, so the document cannot drift
 * from what the server accepts.
 */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends ZodTypeAny ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends ZodTypeAny ? z.input<this['schema']> : unknown;
}

/** A request part that does not match its schema; the error handler turns it into a 400. */
export class RequestValidationError extends Error {
  constructor(
    readonly part: string,
    readonly zodError: ZodError,
  ) {
    const problems = zodError.issues.map((issue) => `${[part, ...issue.path].join('.')}: ${issue.message}`);
    super(`invalid request: ${problems.join('; ')}`);
    this.name = 'RequestValidationError';
  }

  /** The first offending field, as OpenAI's `param`. */
  get param(): string | null {
    const path = this.zodError.issues[0]?.path;
    return path && path.length > 0 ? path.join('.') : null;
  }
}

export const zodValidatorCompiler: FastifySchemaCompiler<ZodTypeAny> =
  ({ schema, httpPart }) =>
  (data) => {
    const result = schema.safeParse(data);
    return result.success
      ? { value: result.data }
      : { error: new RequestValidationError(httpPart ?? 'request', result.error) };
  };

/** Responses are built by our own code from typed values; their schemas document, they do not re-check. */
export const jsonSerializerCompiler: FastifySerializerCompiler<unknown> = () => (data) =>
  JSON.stringify(data);

function isZodSchema(value: unknown): value is ZodTypeAny {
  return typeof value === 'object' && value !== null && 'safeParse' in value && '_def' in value;
}

function toJsonSchema(schema: ZodTypeAny): Record<string, unknown> {
  const { $schema: _ignored, ...json } = zodToJsonSchema(schema, {
    target: 'openApi3',
    $refStrategy: 'none',
  }) as Record<string, unknown>;
  return json;
}

/** A response documented per media type (JSON and `text/event-stream`, say). */
export function mediaResponse(description: string, media: Record<string, ZodTypeAny>) {
  return {
    description,
    content: Object.fromEntries(Object.entries(media).map(([type, schema]) => [type, { schema }])),
  };
}

/** Replaces every zod schema inside a route schema by its JSON Schema, for `@fastify/swagger`. */
function convertDeep(value: unknown): unknown {
  if (isZodSchema(value)) return toJsonSchema(value);
  if (Array.isArray(value)) return value.map(convertDeep);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, convertDeep(entry)]));
  }
  return value;
}

/** `@fastify/swagger`'s transform: route schemas in zod → OpenAPI. */
export function openApiTransform({ schema, url }: { schema: unknown; url: string }): {
  schema: Record<string, unknown>;
  url: string;
} {
  return { schema: (convertDeep(schema ?? {}) as Record<string, unknown>) ?? {}, url };
}
