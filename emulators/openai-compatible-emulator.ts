// Long by design: one wire protocol (chat completions, streaming, embeddings, models) and its scripted faults.
import { randomUUID } from 'node:crypto';
import {
  parseJsonObject,
  readBody,
  sendJson,
  startEmulatorServer,
  type EmulatorRequest,
  type EmulatorResponse,
  writeChunk,
} from './emulator-server';
import { CallLog } from './call-log';
import type { ModelEmulator } from './model-emulator';
import * as scripted from './scripted-model';
import type { Behaviour, ModelScript } from './scripted-model';

export type { Behaviour, ModelScript } from './scripted-model';

export type OpenAiOperation = 'chat-completions' | 'list-models' | 'embeddings';

export interface OpenAiEmulatorCall {
  operation: OpenAiOperation;
  /** The `model` of the request; empty for list-models. */
  model: string;
  /** Epoch milliseconds when the request arrived. */
  at: number;
  behaviour: Behaviour;
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
  system?: string;
  /** Text of the last user message. */
  userText?: string;
  authorization?: string;
  /** The usage the emulator reported for an answered call: what a provider would bill. */
  usage?: { promptTokens: number; completionTokens: number };
  /** Epoch ms when the client went away before the answer was complete (e.g. a cancelled call). */
  disconnectedAt?: number;
}

export interface OpenAiEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  latencyMs?: number;
  /** Behaviour per model name; models without a script always answer 'ok'. */
  script?: Record<string, ModelScript>;
  /** Listed by GET /v1/models (scripted models are listed too). */
  models?: readonly string[];
}

/** `endpoint` is the API base, e.g. `http://127.0.0.1:PORT/v1`: a route's `endpoint`. */
export type OpenAiEmulator = ModelEmulator<OpenAiEmulatorCall, OpenAiOperation>;

/**
 * Scripted failures with the status and error body shape of the OpenAI API, which vLLM, TGI and Ollama
 * imitate. https://platform.openai.com/docs/guides/error-codes/api-errors
 */
const ERROR_BEHAVIOURS: Partial<
  Record<Exclude<Behaviour, object>, { status: number; type: string; message: string }>
> = {
  throttle: { status: 429, type: 'rate_limit_exceeded', message: 'Rate limit reached, please retry later.' },
  'model-timeout': { status: 408, type: 'timeout', message: 'The model timed out.' },
  unavailable: { status: 503, type: 'service_unavailable', message: 'The server is overloaded.' },
  'internal-error': { status: 500, type: 'server_error', message: 'The server had an error.' },
  validation: { status: 400, type: 'invalid_request_error', message: 'The request is invalid.' },
};

const DEFAULT_EMBEDDING_DIMENSIONS = 384;

interface ParsedChat {
  model: string;
  system: string;
  userText: string;
  allText: string;
  maxTokens?: number;
  stream: boolean;
  includeUsage: boolean;
}

/**
 * A local OpenAI-compatible server — chat completions (plain JSON and SSE streaming) and embeddings — with the same
 * scripted behaviours as the Bedrock emulator, for self-hosted routes in tests and benchmarks. Usage is
 * counted as words × 1.3 (see scripted.countEmulatedTokens).
 */
export async function startOpenAiCompatibleEmulator(
  options: OpenAiEmulatorOptions = {},
): Promise<OpenAiEmulator> {
  const scripts = scripted.createScriptBook(options.script ?? {}, options.latencyMs ?? 0);
  const log = new CallLog<OpenAiEmulatorCall>((call) => call.model);

  async function handle(request: EmulatorRequest, response: EmulatorResponse): Promise<void> {
    const { pathname } = new URL(request.url ?? '/', 'http://emulator');
    const body = await readBody(request);
    const authorization = request.headers['authorization'];
    if (request.method === 'GET' && pathname === '/v1/models') {
      log.record({
        operation: 'list-models',
        model: '',
        at: Date.now(),
        behaviour: 'ok',
        stream: false,
        includeUsage: false,
        authorization,
      });
      const ids = new Set([...(options.models ?? []), ...Object.keys(options.script ?? {})]);
      sendJson(response, 200, {
        object: 'list',
        data: [...ids].map((id) => ({ id, object: 'model', created: 0, owned_by: 'gatehouse-emulator' })),
      });
      return;
    }
    if (request.method === 'POST' && pathname === '/v1/embeddings') {
      await handleEmbeddings(parseJsonObject(body), authorization, response);
      return;
    }
    if (request.method !== 'POST' || pathname !== '/v1/chat/completions') {
      sendError(response, 404, 'not_found', `no route for ${request.method} ${pathname}`);
      return;
    }
    const parsed = parseChat(parseJsonObject(body));
    if (!parsed) {
      sendError(response, 400, 'invalid_request_error', 'model and messages are required');
      return;
    }
    const { behaviour, latencyMs, script } = scripts.next(parsed.model);
    const call: OpenAiEmulatorCall = {
      operation: 'chat-completions',
      model: parsed.model,
      at: Date.now(),
      behaviour,
      stream: parsed.stream,
      includeUsage: parsed.includeUsage,
      maxTokens: parsed.maxTokens,
      system: parsed.system,
      userText: parsed.userText,
      authorization,
    };
    log.record(call);
    response.on('close', () => {
      if (!response.writableFinished) call.disconnectedAt ??= Date.now();
    });
    if (await answeredWithScriptedFault(response, behaviour, latencyMs, script)) return;
    if (behaviour === 'malformed') {
      response.writeHead(200, { 'content-type': parsed.stream ? 'text/event-stream' : 'application/json' });
      response.end(
        parsed.stream
          ? 'data: {"choices": [{"delta": {"content": "cut\n\n'
          : '{"choices": [{"message": {"content": "cut',
      );
      return;
    }
    const answer = answerFor(parsed, behaviour, script);
    const usage = {
      prompt_tokens: scripted.countEmulatedTokens(parsed.allText),
      completion_tokens: scripted.countEmulatedTokens(answer.text),
      total_tokens: scripted.countEmulatedTokens(parsed.allText) + scripted.countEmulatedTokens(answer.text),
    };
    call.usage = { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    if (!parsed.stream) {
      sendJson(response, 200, {
        id,
        object: 'chat.completion',
        created,
        model: parsed.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer.text },
            finish_reason: answer.finishReason,
          },
        ],
        usage,
      });
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      writeChunk(
        response,
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: parsed.model, choices, ...extra })}\n\n`,
      );
    await chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
    const failAfter = typeof behaviour === 'object' ? behaviour.streamErrorAfter : undefined;
    for (const [index, text] of scripted.splitIntoDeltas(answer.text).entries()) {
      if (index === failAfter) break;
      if (index > 0) await scripted.delay(script.deltaIntervalMs ?? 0);
      await chunk([{ index: 0, delta: { content: text }, finish_reason: null }]);
    }
    if (failAfter !== undefined) {
      // OpenAI-compatible servers have no in-band error frame everyone agrees on; a dropped connection is
      // what a crashed or restarted server looks like.
      response.destroy();
      return;
    }
    await chunk([{ index: 0, delta: {}, finish_reason: answer.finishReason }]);
    if (parsed.includeUsage) await chunk([], { usage });
    response.end('data: [DONE]\n\n');
  }

  /**
   * POST /v1/embeddings: `input` is a string or an array of strings; `dimensions` is optional
   * (default 384). Vectors are deterministic word hashes, normalised, in input order with their index.
   * https://platform.openai.com/docs/api-reference/embeddings/create
   */
  async function handleEmbeddings(
    json: Record<string, unknown> | undefined,
    authorization: string | undefined,
    response: EmulatorResponse,
  ): Promise<void> {
    const model = json?.['model'];
    const input = json?.['input'];
    const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input : undefined;
    if (
      typeof model !== 'string' ||
      !texts ||
      texts.length === 0 ||
      !texts.every((text) => typeof text === 'string')
    ) {
      sendError(
        response,
        400,
        'invalid_request_error',
        'model and input (a string or an array of strings) are required',
      );
      return;
    }
    const dimensions = json?.['dimensions'] ?? DEFAULT_EMBEDDING_DIMENSIONS;
    if (
      typeof dimensions !== 'number' ||
      !Number.isInteger(dimensions) ||
      dimensions < 1 ||
      dimensions > 4096
    ) {
      sendError(response, 400, 'invalid_request_error', 'dimensions must be an integer from 1 to 4096');
      return;
    }
    const { behaviour, latencyMs, script } = scripts.next(model);
    log.record({
      operation: 'embeddings',
      model,
      at: Date.now(),
      behaviour,
      stream: false,
      includeUsage: false,
      authorization,
    });
    if (await answeredWithScriptedFault(response, behaviour, latencyMs, script)) return;
    if (behaviour === 'malformed') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"object": "list", "data": [{"object": "embedding", "embedding": [0.1, ');
      return;
    }
    const tokens = (texts as string[]).reduce((sum, text) => sum + scripted.countEmulatedTokens(text), 0);
    sendJson(response, 200, {
      object: 'list',
      data: (texts as string[]).map((text, index) => ({
        object: 'embedding',
        index,
        embedding: scripted.hashedEmbedding(text, dimensions, true),
      })),
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  const server = await startEmulatorServer(handle, options.port ?? 0);
  return {
    endpoint: `http://127.0.0.1:${server.port}/v1`,
    port: server.port,
    calls: () => log.all(),
    callCount: (model, operation) => log.count(model, operation),
    setScript: (model, script) => scripts.set(model, script),
    reset() {
      log.clear();
      scripts.reset();
    },
    close: () => server.close(),
  };
}

function answerFor(parsed: ParsedChat, behaviour: Behaviour, script: ModelScript) {
  if (behaviour === 'content-filtered')
    return { text: scripted.CONTENT_FILTERED_ANSWER, finishReason: 'content_filter' };
  const full =
    script.answer ??
    (script.obeysEmbeddedInstructions
      ? scripted.answerObeyingInstructions(parsed.system, parsed.userText)
      : scripted.answerFromPrompt(parsed.userText));
  const { text, truncated } = scripted.truncateToTokens(full, parsed.maxTokens ?? Number.MAX_SAFE_INTEGER);
  return { text, finishReason: truncated ? 'length' : 'stop' };
}

/**
 * Waits the scripted latency, then answers with the scripted error (or never, for `hang`); true when the
 * call is answered so, false when the scripted behaviour is for the caller to carry out.
 */
async function answeredWithScriptedFault(
  response: EmulatorResponse,
  behaviour: Behaviour,
  latencyMs: number,
  script: ModelScript,
): Promise<boolean> {
  if (behaviour === 'hang') return true;
  await scripted.delay(latencyMs);
  const scriptedError = typeof behaviour === 'string' ? ERROR_BEHAVIOURS[behaviour] : undefined;
  if (!scriptedError) return false;
  const retryAfter = behaviour === 'throttle' ? String(script.retryAfterSeconds ?? 1) : undefined;
  sendError(response, scriptedError.status, scriptedError.type, scriptedError.message, retryAfter);
  return true;
}

function sendError(
  response: EmulatorResponse,
  status: number,
  type: string,
  message: string,
  retryAfter?: string,
): void {
  sendJson(
    response,
    status,
    { error: { message, type, code: type } },
    retryAfter === undefined ? {} : { 'retry-after': retryAfter },
  );
}

function parseChat(json: Record<string, unknown> | undefined): ParsedChat | undefined {
  const model = json?.['model'];
  const messages = json?.['messages'];
  if (typeof model !== 'string' || !Array.isArray(messages) || messages.length === 0) return undefined;
  const contentOf = (message: unknown) => {
    const content =
      typeof message === 'object' && message !== null
        ? (message as Record<string, unknown>)['content']
        : undefined;
    return typeof content === 'string' ? content : '';
  };
  const roleOf = (message: unknown) =>
    typeof message === 'object' && message !== null
      ? (message as Record<string, unknown>)['role']
      : undefined;
  const maxTokens = json?.['max_completion_tokens'] ?? json?.['max_tokens'];
  const streamOptions = json?.['stream_options'];
  return {
    model,
    system: messages
      .filter((message) => roleOf(message) === 'system')
      .map(contentOf)
      .join('\n'),
    userText: contentOf([...messages].reverse().find((message) => roleOf(message) === 'user')),
    allText: messages.map(contentOf).join('\n'),
    maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
    stream: json?.['stream'] === true,
    includeUsage:
      typeof streamOptions === 'object' &&
      streamOptions !== null &&
      (streamOptions as Record<string, unknown>)['include_usage'] === true,
  };
}
