import { z } from 'zod';
import type { LlmResult } from '../domain/step-contracts';

const usageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int() }),
});

/**
 * What Gatehouse adds to an OpenAI response (OpenAI clients keep unknown fields): the request to look up
 * later, the route that answered and what it is (the offline extractive route says it is no model), the
 * documents cited and the cost.
 */
const gatehouseDetailsSchema = z.object({
  requestId: z.string(),
  workflowId: z.string(),
  route: z.object({ id: z.string(), provider: z.string(), model: z.string(), label: z.string() }),
  citations: z.array(z.object({ documentId: z.string(), documentVersion: z.number(), title: z.string() })),
  costUsd: z.number(),
  promptVersion: z.string(),
  policyVersion: z.number(),
  dataClass: z.string().describe('The effective data class the request was handled as'),
  attempts: z.number().int(),
  fallbacks: z.number().int(),
});

/** The fields a completion and a streamed chunk share, and the shape of each choice around its message. */
const completionFields = { created: z.number().int(), model: z.string() };
const choiceFields = { index: z.number().int(), logprobs: z.object({}).passthrough().nullable() };

export const chatCompletionSchema = z.object({
  id: z.string().describe('The Gatehouse request id (also in the x-request-id header)'),
  object: z.literal('chat.completion'),
  ...completionFields,
  choices: z.array(
    z.object({
      ...choiceFields,
      message: z.object({
        role: z.literal('assistant'),
        content: z.string(),
        refusal: z.string().nullable(),
      }),
      finish_reason: z.literal('stop'),
    }),
  ),
  usage: usageSchema,
  system_fingerprint: z.string().nullable(),
  gatehouse: gatehouseDetailsSchema,
});
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;

export const chatCompletionChunkSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  ...completionFields,
  choices: z.array(
    z.object({
      ...choiceFields,
      delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
      finish_reason: z.literal('stop').nullable(),
    }),
  ),
  usage: usageSchema.nullable().optional(),
  gatehouse: gatehouseDetailsSchema.optional(),
});
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;

function usageOf(result: LlmResult): ChatCompletion['usage'] {
  const { inputTokens, outputTokens, cacheReadTokens } = result.usage;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    prompt_tokens_details: { cached_tokens: cacheReadTokens },
  };
}

function detailsOf(result: LlmResult): ChatCompletion['gatehouse'] {
  return {
    requestId: result.requestId,
    workflowId: result.workflowId,
    route: result.route,
    citations: result.citations,
    costUsd: result.costUsd,
    promptVersion: result.promptVersion,
    policyVersion: result.policyVersion,
    dataClass: result.dataClass.effective,
    attempts: result.attempts.length,
    fallbacks: result.fallbacks.length,
  };
}

/** A finished request as OpenAI's chat completion; `model` echoes what the caller asked for. */
export function chatCompletionOf(result: LlmResult, model: string, created: number): ChatCompletion {
  return {
    id: result.requestId,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: result.output, refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: usageOf(result),
    system_fingerprint: null,
    gatehouse: detailsOf(result),
  };
}

/** The chunks of a streamed completion: the role first, then text, then the finish (and usage if asked). */
export const chatCompletionChunks = {
  start(id: string, model: string, created: number): ChatCompletionChunk {
    return chunk(id, model, created, { role: 'assistant', content: '' }, null);
  },
  text(id: string, model: string, created: number, content: string): ChatCompletionChunk {
    return chunk(id, model, created, { content }, null);
  },
  finish(result: LlmResult, model: string, created: number): ChatCompletionChunk {
    return { ...chunk(result.requestId, model, created, {}, 'stop'), gatehouse: detailsOf(result) };
  },
  /** OpenAI's `stream_options.include_usage` chunk: no choices, only usage. */
  usage(result: LlmResult, model: string, created: number): ChatCompletionChunk {
    return {
      id: result.requestId,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [],
      usage: usageOf(result),
    };
  },
};

function chunk(
  id: string,
  model: string,
  created: number,
  delta: ChatCompletionChunk['choices'][number]['delta'],
  finishReason: 'stop' | null,
): ChatCompletionChunk {
  return {
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
  };
}
