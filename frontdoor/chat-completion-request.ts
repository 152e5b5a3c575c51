import { z } from 'zod';
import type { Caller } from '../client/gatehouse-client';
import { FAILURE_TYPES } from '../domain/failure-types';
import type { LlmRequestInput } from '../domain/request-contract';
import type { GatehouseHeaderValues } from './gatehouse-headers';
import { FRONT_DOOR_FAILURE_TYPES, FrontDoorError } from './openai-error';
import { taskTypeOfModel } from './task-models';

const contentPartSchema = z
  .object({ type: z.string(), text: z.string().optional() })
  .passthrough()
  .describe('A content part; only text parts are answered');

const messageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: z.union([z.string(), z.array(contentPartSchema), z.null()]).optional(),
    name: z.string().optional(),
  })
  .passthrough();

const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z
      .object({
        name: z.string().min(1).max(64),
        description: z.string().optional(),
        schema: z.record(z.unknown()).optional(),
        strict: z.boolean().nullish(),
      })
      .passthrough(),
  }),
]);

/**
 * OpenAI's chat completion request (https://platform.openai.com/docs/api-reference/chat/create), leniently:
 * fields Gatehouse does not use (temperature, top_p, seed, stop, user, metadata…) are accepted and left
 * to the route, as a gateway must for unchanged clients; fields whose meaning it cannot honour are refused.
 */
export const chatCompletionRequestSchema = z
  .object({
    model: z.string().min(1).max(128).describe('gatehouse-<task type>, e.g. gatehouse-qa (GET /v1/models)'),
    messages: z
      .array(messageSchema)
      .min(1)
      .max(2048)
      .describe(
        'The last user message is the question; the tenant’s versioned prompt template supplies the rest',
      ),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    response_format: responseFormatSchema.nullish(),
    n: z.number().int().positive().nullish(),
    tools: z.array(z.unknown()).nullish(),
    functions: z.array(z.unknown()).nullish(),
  })
  .passthrough();
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** A Gatehouse request made of a chat completion, and what of the chat it leaves out. */
export interface MappedChatRequest {
  input: LlmRequestInput;
  /** Messages other than the question: not sent to the model (the prompt template is). */
  ignoredMessages: number;
  includeUsage: boolean;
}

function refuse(message: string, param: string): never {
  throw new FrontDoorError(FAILURE_TYPES.requestInvalid, message, { param });
}

function questionOf(messages: ChatCompletionRequest['messages']): { text: string; index: number } {
  let index = messages.length - 1;
  while (index >= 0 && messages[index]!.role !== 'user') index -= 1;
  if (index < 0)
    refuse('messages: there is no user message; the last user message is the question', 'messages');
  const { content } = messages[index]!;
  if (typeof content === 'string') return { text: content, index };
  const parts = content ?? [];
  const other = parts.find((part) => part.type !== 'text');
  if (other) {
    refuse(
      `messages[${index}].content: only text is answered, not '${other.type}' parts`,
      `messages[${index}].content`,
    );
  }
  return { text: parts.map((part) => part.text ?? '').join('\n'), index };
}

function outputSchemaOf(
  format: ChatCompletionRequest['response_format'],
): Record<string, unknown> | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'object' };
  return format.json_schema.schema ?? { type: 'object' };
}

/**
 * Maps an OpenAI chat completion request to a Gatehouse request: the last user message is the question;
 * the task type comes from `x-gatehouse-task-type`, else from the model (`gatehouse-qa` → `qa`);
 * `response_format` json_schema becomes the output schema (json_object: any JSON object);
 * `max_completion_tokens` (or `max_tokens`) caps the output; tenant and key come from the caller.
 */
export function mapChatCompletionRequest(
  body: ChatCompletionRequest,
  caller: Caller,
  headers: GatehouseHeaderValues,
): MappedChatRequest {
  if ((body.n ?? 1) !== 1) refuse('n: Gatehouse returns one choice per request', 'n');
  if ((body.tools?.length ?? 0) > 0 || (body.functions?.length ?? 0) > 0) {
    refuse(
      'tools: tool and function calling are not supported by Gatehouse',
      body.tools ? 'tools' : 'functions',
    );
  }
  const taskType = headers.taskType ?? taskTypeOfModel(body.model);
  if (taskType === undefined) {
    throw new FrontDoorError(
      FRONT_DOOR_FAILURE_TYPES.modelNotFound,
      `The model '${body.model}' does not exist: use gatehouse-<task type> (GET /v1/models lists the ones your key may use) or send x-gatehouse-task-type`,
      { param: 'model' },
    );
  }
  const question = questionOf(body.messages);
  const maxOutputTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  return {
    input: {
      tenantId: caller.tenantId,
      apiKey: caller.apiKey,
      requestId: headers.requestId,
      taskType,
      feature: headers.feature,
      dataClass: headers.dataClass,
      prompt: headers.prompt,
      question: question.text,
      outputSchema: outputSchemaOf(body.response_format),
      maxOutputTokens,
      stream: body.stream === true,
    },
    ignoredMessages: body.messages.length - 1,
    includeUsage: body.stream_options?.include_usage === true,
  };
}
