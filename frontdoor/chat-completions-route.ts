import type { FastifyReply } from 'fastify';
import type { Caller, SubmittedRequest } from '../client/gatehouse-client';
import { callerOf } from './authenticate-caller';
import { chatCompletionRequestSchema, mapChatCompletionRequest } from './chat-completion-request';
import {
  chatCompletionChunks,
  chatCompletionChunkSchema,
  chatCompletionOf,
  chatCompletionSchema,
} from './chat-completion-response';
import { openEventStream } from './event-stream';
import type { FrontDoorApp, FrontDoorContext } from './front-door-context';
import { chatHeadersSchema, readGatehouseHeaders } from './gatehouse-headers';
import { describeError, openAiErrorBodySchema } from './openai-error';
import { mediaResponse } from './zod-route-schemas';

/** Headers that tie an HTTP response to its request: sent with answers and failures alike. */
function requestHeaders(submitted: SubmittedRequest, ignoredMessages: number): Record<string, string> {
  return {
    // OpenAI clients expose x-request-id as the response's request id (`_request_id`).
    'x-request-id': submitted.requestId,
    'x-gatehouse-workflow-id': submitted.workflowId,
    ...(ignoredMessages > 0 ? { 'x-gatehouse-ignored-messages': String(ignoredMessages) } : {}),
  };
}

/**
 * Streams a request's text as OpenAI chat completion chunks while the workflow runs. Text that reached the
 * caller is final (the workflow allows no fallback after it); the recorded result ends the stream with its
 * usage and Gatehouse details, or a failure ends it with OpenAI's in-stream error object.
 */
async function streamCompletion(
  context: FrontDoorContext,
  reply: FastifyReply,
  request: {
    submitted: SubmittedRequest;
    caller: Caller;
    model: string;
    created: number;
    includeUsage: boolean;
    headers: Record<string, string>;
  },
): Promise<void> {
  const { submitted, caller, model, created } = request;
  const events = openEventStream(reply, request.headers);
  events.send(chatCompletionChunks.start(submitted.requestId, model, created));
  let delivered = '';
  try {
    for await (const piece of context.gatehouse.stream(submitted.workflowId, caller, {
      pollIntervalMs: context.streamPollIntervalMs,
      signal: events.signal,
    })) {
      delivered += piece;
      events.send(chatCompletionChunks.text(submitted.requestId, model, created, piece));
    }
    if (events.signal.aborted) return;
    const result = await context.gatehouse.result(submitted.workflowId, caller);
    // A request that finished between two polls may not have shown its last text; the result has it all.
    if (result.output.length > delivered.length && result.output.startsWith(delivered)) {
      events.send(
        chatCompletionChunks.text(submitted.requestId, model, created, result.output.slice(delivered.length)),
      );
    }
    events.send(chatCompletionChunks.finish(result, model, created));
    if (request.includeUsage) events.send(chatCompletionChunks.usage(result, model, created));
    events.sendRaw('[DONE]');
  } catch (error) {
    const described = describeError(error);
    if (described.internal) context.logError('chat completion stream', error);
    events.send(described.body);
  } finally {
    events.end();
  }
}

export function registerChatCompletionsRoute(app: FrontDoorApp, context: FrontDoorContext): void {
  app.post(
    '/chat/completions',
    {
      schema: {
        summary: 'Create a chat completion (OpenAI-compatible); one Gatehouse request workflow',
        tags: ['OpenAI-compatible'],
        headers: chatHeadersSchema,
        body: chatCompletionRequestSchema,
        response: {
          200: mediaResponse(
            'The answer as a chat.completion; with "stream": true, chat.completion.chunk events ending in `data: [DONE]`',
            { 'application/json': chatCompletionSchema, 'text/event-stream': chatCompletionChunkSchema },
          ),
          default: openAiErrorBodySchema.describe(
            'OpenAI error format; `code` is the Gatehouse failure type',
          ),
        },
      },
    },
    async (request, reply) => {
      const { caller } = callerOf(request);
      const mapped = mapChatCompletionRequest(request.body, caller, readGatehouseHeaders(request.headers));
      const created = Math.floor(context.now() / 1000);
      const submitted = await context.gatehouse.submit(mapped.input);
      const headers = requestHeaders(submitted, mapped.ignoredMessages);
      if (mapped.input.stream) {
        await streamCompletion(context, reply, {
          submitted,
          caller,
          model: request.body.model,
          created,
          includeUsage: mapped.includeUsage,
          headers,
        });
        return reply;
      }
      // Set before waiting, so a failure's response also names the request it was.
      reply.headers(headers);
      const result = await context.gatehouse.result(submitted.workflowId, caller);
      return chatCompletionOf(result, request.body.model, created);
    },
  );
}
