// Long by design: one protocol read two ways (JSON and server-sent events), with its error mapping.
import { z } from 'zod';
import {
  classifyClientSideFailure,
  classifyHttpStatus,
  classifyTransportError,
  parseRetryAfter,
} from '../domain/classify-provider-error';
import type { TokenUsage } from '../domain/cost';
import type { InferenceRequest } from '../domain/step-contracts';
import { extractCitations } from './extract-citations';
import { finishReasonsFrom } from './finish-reasons';
import { ClientSideFailureError, ProviderError, type ModelProvider } from './model-provider';

export interface OpenAiCompatibleProviderOptions {
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Sent as a bearer token; self-hosted servers often need none. */
  apiKey?: string;
}

/** https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices */
export const OPENAI_FINISH_REASONS = finishReasonsFrom({
  stop: ['stop'],
  length: ['length'],
  'content-filter': ['content_filter'],
  other: ['tool_calls', 'function_call'],
});

// Minimal and lenient: vLLM, TGI, Ollama and LM Studio differ in what else they send and in null versus
// absent, so only the fields we read are checked.
// https://platform.openai.com/docs/api-reference/chat/object
const usageSchema = z.object({
  prompt_tokens: z.number().nullish(),
  completion_tokens: z.number().nullish(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().nullish() }).nullish(),
});

const chatCompletionSchema = z.object({
  choices: z
    .array(
      z.object({ message: z.object({ content: z.string().nullish() }), finish_reason: z.string().nullish() }),
    )
    .min(1),
  usage: usageSchema.nullish(),
});

// https://platform.openai.com/docs/api-reference/chat-streaming/streaming
const chatCompletionChunkSchema = z.object({
  choices: z
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: usageSchema.nullish(),
  // vLLM and others report a failure inside an already-started stream this way.
  error: z
    .object({ message: z.string().nullish(), code: z.union([z.number(), z.string()]).nullish() })
    .nullish(),
});

type Usage = z.infer<typeof usageSchema>;

/** OpenAI counts cached prompt tokens inside prompt_tokens; we keep them apart so they are priced apart. */
function mapUsage(usage: Usage | null | undefined): TokenUsage {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    inputTokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
    outputTokens: usage?.completion_tokens ?? 0,
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
  };
}

interface CompletionResult {
  text: string;
  finishReason: string | undefined;
  usage: Usage | null | undefined;
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Chat completions on any OpenAI-compatible server (vLLM, TGI, Ollama, LM Studio): the route's endpoint
 * is the API base, e.g. `http://host:8000/v1`. Streams with SSE when the caller wants deltas.
 */
export function createOpenAiCompatibleProvider(options: OpenAiCompatibleProviderOptions = {}): ModelProvider {
  const fetchImpl = options.fetch ?? fetch;

  async function post(
    request: InferenceRequest,
    endpoint: string,
    stream: boolean,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const { route } = request;
    const body: Record<string, unknown> = {
      model: route.model,
      messages: [
        ...(request.prompt.system ? [{ role: 'system', content: request.prompt.system }] : []),
        { role: 'user', content: request.prompt.user },
      ],
      max_tokens: Math.min(request.maxOutputTokens, route.maxOutputTokens),
      stream,
    };
    if (stream) body['stream_options'] = { include_usage: true };
    if (request.responseFormat === 'json') body['response_format'] = { type: 'json_object' };
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
    };
    if (options.apiKey) headers['authorization'] = `Bearer ${options.apiKey}`;
    const response = await fetchImpl(`${endpoint.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw new HttpStatusError(
        response.status,
        retryAfterOf(response.headers),
        errorMessageOf(text) ?? response.statusText,
      );
    }
    return response;
  }

  return {
    name: 'openai-compatible',
    // Parameter types come from ModelProvider, the one home of the provider contract.
    async generate(request, generateOptions = {}) {
      const { route } = request;
      const endpoint = endpointOf(route);
      const { onDelta, signal } = generateOptions;
      const started = performance.now();
      let delivered = '';
      let streamUsage: Usage | null | undefined;
      try {
        let result: CompletionResult;
        if (onDelta) {
          result = await readStream(
            await post(request, endpoint, true, signal),
            (text) => {
              delivered += text;
              onDelta(text);
            },
            (usage) => {
              streamUsage = usage;
            },
          );
        } else {
          result = await readCompletion(await post(request, endpoint, false, signal));
        }
        return {
          text: result.text,
          citedDocumentIds: extractCitations(result.text, request.chunks),
          finishReason: OPENAI_FINISH_REASONS[result.finishReason ?? ''] ?? 'other',
          usage: mapUsage(result.usage),
          latencyMs: performance.now() - started,
        };
      } catch (error) {
        if (!delivered) throw toProviderError(error, route.model);
        // What the server said it used, when it said so; otherwise the infer activity estimates it.
        throw new ProviderError(
          `openai-compatible ${route.model}: the stream broke after text was delivered: ${factsOf(error).message}`,
          classifyClientSideFailure('streamInterrupted', factsOf(error).name),
          streamUsage ? mapUsage(streamUsage) : undefined,
        );
      }
    },
  };
}

async function readCompletion(response: Response): Promise<CompletionResult> {
  const text = await response.text();
  const parsed = chatCompletionSchema.safeParse(parseJson(text));
  if (!parsed.success) {
    throw new ClientSideFailureError(
      'malformedResponse',
      'InvalidBody',
      `unreadable chat completion: ${parsed.error.issues[0]?.message ?? 'not JSON'}`,
    );
  }
  const choice = parsed.data.choices[0];
  return {
    text: choice?.message.content ?? '',
    finishReason: choice?.finish_reason ?? undefined,
    usage: parsed.data.usage,
  };
}

/**
 * Server-sent events: `data:` lines (several form one event), a blank line ends an event, `:` lines are
 * comments, `data: [DONE]` ends the stream. https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
async function readStream(
  response: Response,
  onText: (text: string) => void,
  onUsage: (usage: Usage) => void,
): Promise<CompletionResult> {
  if (!response.body)
    throw new ClientSideFailureError('malformedResponse', 'MissingBody', 'the stream has no body');
  const decoder = new TextDecoder();
  let buffered = '';
  let eventData: string[] = [];
  let text = '';
  let finishReason: string | undefined;
  let usage: Usage | null | undefined;
  let done = false;

  const dispatch = () => {
    const data = eventData.join('\n');
    eventData = [];
    if (data === '') return;
    if (data === '[DONE]') {
      done = true;
      return;
    }
    const parsed = chatCompletionChunkSchema.safeParse(parseJson(data));
    if (!parsed.success)
      throw new ClientSideFailureError('malformedResponse', 'InvalidChunk', 'unreadable stream chunk');
    const chunk = parsed.data;
    if (chunk.error) {
      const status = typeof chunk.error.code === 'number' ? chunk.error.code : 500;
      throw new HttpStatusError(status, undefined, chunk.error.message ?? 'error event in the stream');
    }
    if (chunk.usage) {
      usage = chunk.usage;
      onUsage(chunk.usage);
    }
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta?.content;
      if (delta) {
        text += delta;
        onText(delta);
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  };

  const consumeLine = (line: string) => {
    if (line === '') dispatch();
    else if (line.startsWith('data:')) eventData.push(line.slice(5).replace(/^ /, ''));
  };

  for await (const bytes of response.body) {
    buffered += decoder.decode(bytes, { stream: true });
    let newline = buffered.search(/\r?\n/);
    while (newline >= 0 && !done) {
      consumeLine(buffered.slice(0, newline));
      buffered = buffered.slice(buffered[newline] === '\r' ? newline + 2 : newline + 1);
      newline = buffered.search(/\r?\n/);
    }
    if (done) break;
  }
  if (!done) {
    consumeLine(buffered + decoder.decode());
    dispatch();
  }
  // Some servers omit [DONE]; a finish reason still proves the answer is complete.
  if (!done && finishReason === undefined) {
    throw new ClientSideFailureError(
      text ? 'streamInterrupted' : 'malformedResponse',
      'IncompleteStream',
      'the stream ended before a finish reason or [DONE]',
    );
  }
  return { text, finishReason, usage };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `retry-after-ms` (sent by OpenAI) is more precise than `retry-after`, so it wins when present. */
function retryAfterOf(headers: Headers): number | undefined {
  const milliseconds = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(milliseconds) && milliseconds >= 0)
    return milliseconds;
  return parseRetryAfter(headers.get('retry-after'), Date.now());
}

function errorMessageOf(body: string): string | undefined {
  const parsed = z
    .object({
      error: z.union([z.string(), z.object({ message: z.string() })]).optional(),
      message: z.string().optional(),
    })
    .safeParse(parseJson(body));
  if (!parsed.success) return body.slice(0, 200) || undefined;
  const { error, message } = parsed.data;
  return typeof error === 'string' ? error : (error?.message ?? message);
}

interface ErrorFacts {
  name: string;
  message: string;
  /** A Node system or undici error code, from the error or (as fetch reports it) from its cause. */
  code?: string;
}

/**
 * Read by shape rather than `instanceof`: fetch rejects with errors and DOMExceptions that may come from
 * another realm (a test runner's sandbox, for one), where `instanceof Error` is false.
 */
function factsOf(error: unknown): ErrorFacts {
  const record = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const cause =
    typeof record['cause'] === 'object' && record['cause'] !== null
      ? (record['cause'] as Record<string, unknown>)
      : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const message = text(record['message']) ?? String(error);
  const causeMessage = text(cause['message']);
  return {
    name: text(record['name']) ?? 'Error',
    message: causeMessage ? `${message}: ${causeMessage}` : message,
    code: text(cause['code']) ?? text(record['code']),
  };
}

function toProviderError(error: unknown, model: string): ProviderError {
  if (error instanceof HttpStatusError) {
    return new ProviderError(
      `openai-compatible ${model}: HTTP ${error.status}: ${error.message}`,
      classifyHttpStatus(error.status, error.retryAfterMs),
    );
  }
  const facts = factsOf(error);
  const message = `openai-compatible ${model}: ${facts.message}`;
  if (error instanceof ClientSideFailureError) {
    return new ProviderError(message, classifyClientSideFailure(error.failure, error.code));
  }
  // fetch rejects with TypeError('fetch failed') whose cause carries the code, or with the abort reason.
  return new ProviderError(message, classifyTransportError(facts.code ?? facts.name));
}

/** The route's API base URL: openai-compatible routes cannot be called without one. */
function endpointOf(route: InferenceRequest['route']): string {
  if (route.endpoint) return route.endpoint;
  throw new ProviderError(
    `route '${route.id}' has no endpoint; openai-compatible routes need the API base URL`,
    classifyClientSideFailure('invalidRoute', 'MissingEndpoint'),
  );
}
