// Long by design: one wire protocol, five Bedrock operations and their scripted faults.
import { randomUUID } from 'node:crypto';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import {
  parseJsonObject,
  readBody,
  sendJson as sendJsonBody,
  startEmulatorServer,
  type EmulatorRequest,
  type EmulatorResponse,
  writeChunk,
} from './emulator-server';
import { CallLog } from './call-log';
import type { ModelEmulator } from './model-emulator';
import { evaluateGuardrail, type EmulatedGuardrail } from './emulated-guardrail';
import {
  retrieveFromKnowledgeBase,
  RetrieveValidationError,
  type EmulatedKnowledgeBaseDocument,
} from './emulated-knowledge-base';
import {
  answerFromPrompt,
  answerObeyingInstructions,
  CONTENT_FILTERED_ANSWER,
  countEmulatedTokens,
  createScriptBook,
  delay,
  hashedEmbedding,
  splitIntoDeltas,
  truncateToTokens,
  type Behaviour,
  type ModelScript,
} from './scripted-model';

export type { Behaviour, ModelScript } from './scripted-model';
export type { EmulatedKnowledgeBaseDocument } from './emulated-knowledge-base';
export type { EmulatedGuardrail, EmulatedPiiType } from './emulated-guardrail';

export type BedrockOperation =
  'converse' | 'converse-stream' | 'count-tokens' | 'invoke-model' | 'apply-guardrail' | 'retrieve';

export interface EmulatorCall {
  operation: BedrockOperation;
  /** The model id as the SDK sent it (URL-decoded); the guardrail id for ApplyGuardrail. */
  modelId: string;
  /** Epoch milliseconds when the request arrived. */
  at: number;
  behaviour: Behaviour;
  requestMetadata?: Record<string, string>;
  maxTokens?: number;
  system?: string;
  /** Text of the last user message (Converse, ConverseStream, and the Converse input of CountTokens). */
  userText?: string;
  /** Retrieve only: the request body as sent (query, numberOfResults, metadata filter). */
  retrieve?: Record<string, unknown>;
  /** ApplyGuardrail only: what was asked, and the response body sent back (when one was). */
  guardrail?: {
    version: string;
    source: unknown;
    /** Texts qualified `guard_content` (or unqualified): the ones checked. */
    guarded: string[];
    groundingSources: string[];
    query: string;
    response?: Record<string, unknown>;
  };
}

export interface BedrockEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default latency before every answer; a model's script can override it. */
  latencyMs?: number;
  /** Behaviour per model id (or guardrail id); ids without a script always answer 'ok'. */
  script?: Record<string, ModelScript>;
  /**
   * ApplyGuardrail (and Converse with a guardrailConfig) intervenes when the text contains one of these
   * words (case-insensitive); applies to guardrail ids without a configuration in `guardrails`.
   */
  guardrailBlockedWords?: readonly string[];
  /**
   * Guardrails by id: what each one blocks or masks. Their failures are scripted like a model's, with
   * `script` (or `setScript`) under the guardrail id: 'throttle', 'unavailable', 'internal-error', 'hang'.
   */
  guardrails?: Record<string, EmulatedGuardrail>;
  /**
   * Knowledge bases by id, for the Bedrock Agent Runtime's Retrieve operation (point a
   * `BedrockAgentRuntimeClient` at `endpoint`); failures are scripted under the knowledge base id.
   */
  knowledgeBases?: Record<string, EmulatedKnowledgeBaseDocument[]>;
}

/** `endpoint` is what `new BedrockRuntimeClient({ endpoint })` takes. */
export interface BedrockEmulator extends ModelEmulator<EmulatorCall, BedrockOperation> {
  /** Configures (or replaces) what the guardrail with this id enforces. */
  setGuardrail(guardrailId: string, guardrail: EmulatedGuardrail): void;
}

export const DEFAULT_GUARDRAIL_BLOCKED_WORDS = ['forbidden'] as const;

/**
 * Scripted failures as Bedrock sends them: the status and `x-amzn-errortype` header the SDK's restJson1
 * deserializer reads into `error.name`, and a `{"message"}` body.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
 */
const ERROR_BEHAVIOURS: Partial<
  Record<Exclude<Behaviour, object>, { status: number; name: string; message: string }>
> = {
  throttle: {
    status: 429,
    name: 'ThrottlingException',
    message: 'Too many requests, please wait before trying again.',
  },
  'model-timeout': {
    status: 408,
    name: 'ModelTimeoutException',
    message: 'Model has timed out in processing the request. Try your request again.',
  },
  unavailable: {
    status: 503,
    name: 'ServiceUnavailableException',
    message: 'Bedrock is unable to process your request.',
  },
  'internal-error': {
    status: 500,
    name: 'InternalServerException',
    message: 'The server encountered an internal error.',
  },
  validation: { status: 400, name: 'ValidationException', message: 'The provided request is not valid.' },
};

// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-request-requestMetadata
const METADATA_PATTERN = /^[a-zA-Z0-9\s:_@$#=/+,.-]{0,256}$/;
const TITAN_EMBEDDING_DIMENSIONS = [256, 512, 1024];
const TITAN_MAX_INPUT_CHARS = 50_000;

interface ParsedConverse {
  system: string;
  userText: string;
  maxTokens?: number;
  requestMetadata?: Record<string, string>;
  guardrail: boolean;
  allText: string;
  /** Text before the first cachePoint block, when the request has one. */
  cachePrefix?: string;
  /** Why Bedrock would refuse the request with a ValidationException. */
  invalidReason?: string;
}

class EmulatedException extends Error {
  constructor(
    readonly status: number,
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A local Bedrock Runtime speaking the real wire protocol, so the unmodified AWS SDK talks to it through
 * `endpoint`: Converse, ConverseStream (AWS event-stream framing), CountTokens, ApplyGuardrail and
 * InvokeModel for Titan text embeddings, with scripted faults per model id. Authentication is not
 * checked. Usage is counted as words × 1.3 (see countEmulatedTokens).
 */
export async function startBedrockEmulator(options: BedrockEmulatorOptions = {}): Promise<BedrockEmulator> {
  const scripts = createScriptBook(options.script ?? {}, options.latencyMs ?? 0);
  const blockedWords = (options.guardrailBlockedWords ?? DEFAULT_GUARDRAIL_BLOCKED_WORDS).map((word) =>
    word.toLowerCase(),
  );
  const log = new CallLog<EmulatorCall>((call) => call.modelId);
  let guardrails = new Map(Object.entries(options.guardrails ?? {}));
  // Prompt-cache prefixes seen per model, so a repeated cachePoint prefix reads instead of writes.
  const cachedPrefixes = new Set<string>();
  const codec = new EventStreamCodec(toUtf8, fromUtf8);

  async function handle(request: EmulatorRequest, response: EmulatorResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://emulator');
    // The SDK percent-encodes the model id as one path label, so ARNs keep their '/' after decoding.
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const body = await readBody(request);
    const route = matchRoute(request.method ?? 'GET', segments);
    if (!route) {
      sendError(
        response,
        404,
        'UnknownOperationException',
        `no operation at ${request.method} ${url.pathname}`,
      );
      return;
    }
    const { operation, resourceId, qualifier } = route;
    const json = parseJsonObject(body);
    const isConverse = operation === 'converse' || operation === 'converse-stream';
    // CountTokens wraps a Converse request; its texts are logged too, so tests see what was counted.
    const counted =
      json && operation === 'count-tokens' ? objectAt(objectAt(json, 'input'), 'converse') : undefined;
    const parsed = json && isConverse ? parseConverse(json) : counted ? parseConverse(counted) : undefined;
    const guardrailRequest =
      json && operation === 'apply-guardrail' ? parseGuardrailRequest(json, qualifier ?? '') : undefined;
    const call = scripts.next(resourceId);
    const entry: EmulatorCall = {
      operation,
      modelId: resourceId,
      at: Date.now(),
      behaviour: call.behaviour,
      requestMetadata: parsed?.requestMetadata,
      maxTokens: parsed?.maxTokens,
      system: parsed?.system,
      userText: parsed?.userText,
      guardrail: guardrailRequest,
      ...(operation === 'retrieve' && json ? { retrieve: json } : {}),
    };
    log.record(entry);
    if (call.behaviour === 'hang') return;
    await delay(call.latencyMs);
    const scriptedError = typeof call.behaviour === 'string' ? ERROR_BEHAVIOURS[call.behaviour] : undefined;
    if (scriptedError) {
      const retryAfter =
        call.behaviour === 'throttle' ? String(call.script.retryAfterSeconds ?? 1) : undefined;
      sendError(response, scriptedError.status, scriptedError.name, scriptedError.message, retryAfter);
      return;
    }
    if (call.behaviour === 'malformed') {
      sendMalformed(response, operation);
      return;
    }
    if (!json) {
      sendError(response, 400, 'ValidationException', 'The request body is not a JSON object.');
      return;
    }
    try {
      switch (operation) {
        case 'converse':
        case 'converse-stream': {
          if (!parsed) return;
          if (parsed.invalidReason)
            throw new EmulatedException(400, 'ValidationException', parsed.invalidReason);
          if (operation === 'converse')
            sendConverse(response, resourceId, parsed, call.behaviour, call.script);
          else await streamConverse(response, resourceId, parsed, call.behaviour, call.script);
          return;
        }
        case 'count-tokens':
          sendJson(response, 200, { inputTokens: countTokensInput(json) });
          return;
        case 'invoke-model':
          sendEmbedding(response, resourceId, json);
          return;
        case 'retrieve': {
          const documents = options.knowledgeBases?.[resourceId];
          if (!documents) {
            throw new EmulatedException(
              404,
              'ResourceNotFoundException',
              `knowledge base ${resourceId} does not exist`,
            );
          }
          try {
            sendJson(response, 200, retrieveFromKnowledgeBase(documents, json));
          } catch (error) {
            if (!(error instanceof RetrieveValidationError)) throw error;
            throw new EmulatedException(400, 'ValidationException', error.message);
          }
          return;
        }
        case 'apply-guardrail': {
          const body = applyGuardrail(resourceId, guardrailRequest!);
          if (entry.guardrail) entry.guardrail.response = body;
          sendJson(response, 200, body);
          return;
        }
      }
    } catch (error) {
      if (!(error instanceof EmulatedException)) throw error;
      sendError(response, error.status, error.name, error.message);
    }
  }

  function answerFor(parsed: ParsedConverse, behaviour: Behaviour, script: ModelScript) {
    const blocked = parsed.guardrail && containsBlockedWord(parsed.userText);
    if (behaviour === 'content-filtered' || blocked) {
      return {
        text: CONTENT_FILTERED_ANSWER,
        stopReason: parsed.guardrail ? 'guardrail_intervened' : 'content_filtered',
      };
    }
    const full =
      script.answer ??
      (script.obeysEmbeddedInstructions
        ? answerObeyingInstructions(parsed.system, parsed.userText)
        : answerFromPrompt(parsed.userText));
    const { text, truncated } = truncateToTokens(full, parsed.maxTokens ?? Number.MAX_SAFE_INTEGER);
    return { text, stopReason: truncated ? 'max_tokens' : 'end_turn' };
  }

  function usageFor(modelId: string, parsed: ParsedConverse, answer: string) {
    const total = countEmulatedTokens(parsed.allText);
    let cacheReadInputTokens = 0;
    let cacheWriteInputTokens = 0;
    if (parsed.cachePrefix !== undefined) {
      const key = `${modelId}\u0000${parsed.cachePrefix}`;
      const prefixTokens = countEmulatedTokens(parsed.cachePrefix);
      if (cachedPrefixes.has(key)) cacheReadInputTokens = prefixTokens;
      else cacheWriteInputTokens = prefixTokens;
      cachedPrefixes.add(key);
    }
    const inputTokens = total - cacheReadInputTokens - cacheWriteInputTokens;
    const outputTokens = countEmulatedTokens(answer);
    return {
      inputTokens,
      outputTokens,
      totalTokens: inputTokens + outputTokens + cacheReadInputTokens + cacheWriteInputTokens,
      cacheReadInputTokens,
      cacheWriteInputTokens,
    };
  }

  function sendConverse(
    response: EmulatorResponse,
    modelId: string,
    parsed: ParsedConverse,
    behaviour: Behaviour,
    script: ModelScript,
  ): void {
    const started = performance.now();
    const answer = answerFor(parsed, behaviour, script);
    sendJson(response, 200, {
      output: { message: { role: 'assistant', content: [{ text: answer.text }] } },
      stopReason: answer.stopReason,
      usage: usageFor(modelId, parsed, answer.text),
      metrics: { latencyMs: Math.round(performance.now() - started) },
    });
  }

  async function streamConverse(
    response: EmulatorResponse,
    modelId: string,
    parsed: ParsedConverse,
    behaviour: Behaviour,
    script: ModelScript,
  ): Promise<void> {
    const started = performance.now();
    const answer = answerFor(parsed, behaviour, script);
    const deltas = splitIntoDeltas(answer.text);
    const failAfter = typeof behaviour === 'object' ? behaviour.streamErrorAfter : undefined;
    response.writeHead(200, {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-requestid': randomUUID(),
    });
    const send = (eventType: string, payload: unknown) =>
      writeChunk(response, encodeEvent(eventType, payload));
    await send('messageStart', { role: 'assistant' });
    for (const [index, text] of deltas.entries()) {
      if (index === failAfter) break;
      if (index > 0) await delay(script.deltaIntervalMs ?? 0);
      await send('contentBlockDelta', { contentBlockIndex: 0, delta: { text } });
    }
    if (typeof behaviour === 'object') {
      const name = behaviour.exception ?? 'InternalServerException';
      response.end(
        encodeException(name, `The emulated stream failed after ${behaviour.streamErrorAfter} deltas.`),
      );
      return;
    }
    await send('contentBlockStop', { contentBlockIndex: 0 });
    await send('messageStop', { stopReason: answer.stopReason });
    await send('metadata', {
      usage: usageFor(modelId, parsed, answer.text),
      metrics: { latencyMs: Math.round(performance.now() - started) },
    });
    response.end();
  }

  function encodeEvent(eventType: string, payload: unknown): Uint8Array {
    const headers: MessageHeaders = {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
    };
    return codec.encode({ headers, body: fromUtf8(JSON.stringify(payload)) });
  }

  function encodeException(name: string, message: string): Uint8Array {
    // The ConverseStream union names its exception members in lower camel case (`throttlingException`);
    // the SDK matches `:exception-type` against those member names.
    const member = name.charAt(0).toLowerCase() + name.slice(1);
    const headers: MessageHeaders = {
      ':message-type': { type: 'string', value: 'exception' },
      ':exception-type': { type: 'string', value: member },
      ':content-type': { type: 'string', value: 'application/json' },
    };
    return codec.encode({ headers, body: fromUtf8(JSON.stringify({ message })) });
  }

  function containsBlockedWord(text: string): string | undefined {
    const words = new Set(text.toLowerCase().match(/[\p{L}\p{N}-]+/gu) ?? []);
    return blockedWords.find((word) => words.has(word));
  }

  function applyGuardrail(guardrailId: string, request: NonNullable<EmulatorCall['guardrail']>) {
    if (request.source !== 'INPUT' && request.source !== 'OUTPUT') {
      throw new EmulatedException(400, 'ValidationException', 'source must be INPUT or OUTPUT.');
    }
    if (request.guarded.length === 0) {
      throw new EmulatedException(400, 'ValidationException', 'content must hold text to guard.');
    }
    const config = guardrails.get(guardrailId) ?? { blockedWords };
    return evaluateGuardrail(config, {
      guardrailId,
      guardrailVersion: request.version,
      source: request.source,
      guarded: request.guarded,
      groundingSources: request.groundingSources,
      query: request.query,
    });
  }

  /**
   * Titan Text Embeddings v2 (InvokeModel): `inputText` (at most 50,000 characters), `dimensions` 256,
   * 512 or 1024, `normalize`, and `embeddingTypes` ["float"] and/or ["binary"], answered in
   * `embeddingsByType` as the real model does.
   * https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html
   */
  function sendEmbedding(response: EmulatorResponse, modelId: string, json: Record<string, unknown>): void {
    if (!/(^|[./])amazon\.titan-embed-text-v2/.test(modelId)) {
      throw new EmulatedException(
        400,
        'ValidationException',
        'The emulator serves InvokeModel for Titan Text Embeddings v2 only.',
      );
    }
    const inputText = json['inputText'];
    if (typeof inputText !== 'string' || inputText.length === 0) {
      throw new EmulatedException(400, 'ValidationException', 'inputText must be a non-empty string.');
    }
    if (inputText.length > TITAN_MAX_INPUT_CHARS) {
      throw new EmulatedException(
        400,
        'ValidationException',
        `inputText must be at most ${TITAN_MAX_INPUT_CHARS} characters.`,
      );
    }
    const dimensions = json['dimensions'] ?? 1024;
    if (typeof dimensions !== 'number' || !TITAN_EMBEDDING_DIMENSIONS.includes(dimensions)) {
      throw new EmulatedException(400, 'ValidationException', 'dimensions must be one of 256, 512 or 1024.');
    }
    const types = json['embeddingTypes'] ?? ['float'];
    if (
      !Array.isArray(types) ||
      types.length === 0 ||
      !types.every((type) => type === 'float' || type === 'binary')
    ) {
      throw new EmulatedException(
        400,
        'ValidationException',
        'embeddingTypes must list "float" and/or "binary".',
      );
    }
    const inputTextTokenCount = countEmulatedTokens(inputText);
    const embedding = hashedEmbedding(inputText, dimensions, json['normalize'] !== false);
    const embeddingsByType: Record<string, number[]> = {};
    if (types.includes('float')) embeddingsByType['float'] = embedding;
    if (types.includes('binary')) embeddingsByType['binary'] = embedding.map((value) => (value > 0 ? 1 : 0));
    sendJson(
      response,
      200,
      {
        ...(types.includes('float') ? { embedding } : {}),
        ...(json['embeddingTypes'] === undefined ? {} : { embeddingsByType }),
        inputTextTokenCount,
      },
      { 'x-amzn-bedrock-input-token-count': String(inputTextTokenCount) },
    );
  }

  function sendMalformed(response: EmulatorResponse, operation: BedrockOperation): void {
    if (operation === 'converse-stream') {
      // A frame whose prelude checksum is wrong: the SDK's event-stream decoder must reject it.
      response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
      response.end(Buffer.from([0, 0, 0, 32, 0, 0, 0, 0, 1, 2, 3, 4, ...new Array<number>(20).fill(0)]));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    response.end('{"output": {"message": {"role": "assistant", "content": [{"text": "cut off mid');
  }

  const server = await startEmulatorServer(handle, options.port ?? 0);
  const { port } = server;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    calls: () => log.all(),
    callCount: (modelId, operation) => log.count(modelId, operation),
    setScript: (modelId, script) => scripts.set(modelId, script),
    setGuardrail: (guardrailId, guardrail) => guardrails.set(guardrailId, guardrail),
    reset() {
      log.clear();
      guardrails = new Map(Object.entries(options.guardrails ?? {}));
      cachedPrefixes.clear();
      scripts.reset();
    },
    close: () => server.close(),
  };
}

function matchRoute(
  method: string,
  segments: string[],
): { operation: BedrockOperation; resourceId: string; qualifier?: string } | undefined {
  if (method !== 'POST') return undefined;
  const [first, id, third, fourth, fifth] = segments;
  // Bedrock Agent Runtime: POST /knowledgebases/{knowledgeBaseId}/retrieve
  if (first === 'knowledgebases' && id && third === 'retrieve' && segments.length === 3) {
    return { operation: 'retrieve', resourceId: id };
  }
  if (first === 'model' && id && segments.length === 3) {
    const operation = MODEL_OPERATIONS[third ?? ''];
    return operation ? { operation, resourceId: id } : undefined;
  }
  if (
    first === 'guardrail' &&
    id &&
    third === 'version' &&
    fourth &&
    fifth === 'apply' &&
    segments.length === 5
  ) {
    return { operation: 'apply-guardrail', resourceId: id, qualifier: fourth };
  }
  return undefined;
}

// REST paths of the Bedrock Runtime operations the emulator serves.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_Operations_Amazon_Bedrock_Runtime.html
const MODEL_OPERATIONS: Record<string, BedrockOperation> = {
  converse: 'converse',
  'converse-stream': 'converse-stream',
  'count-tokens': 'count-tokens',
  invoke: 'invoke-model',
};

function sendJson(
  response: EmulatorResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonBody(response, status, payload, { 'x-amzn-requestid': randomUUID(), ...headers });
}

function sendError(
  response: EmulatorResponse,
  status: number,
  name: string,
  message: string,
  retryAfter?: string,
): void {
  const headers: Record<string, string> = { 'x-amzn-errortype': name };
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
  sendJson(response, status, { message }, headers);
}

function objectAt(value: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const inner = (value as Record<string, unknown>)[key];
  return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : undefined;
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function blocksOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * Reads an ApplyGuardrail body without failing. Blocks qualified `grounding_source` or `query` feed the
 * contextual grounding check; the rest (`guard_content`, or no qualifier) are the texts guarded.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_GuardrailTextBlock.html
 */
function parseGuardrailRequest(
  json: Record<string, unknown>,
  version: string,
): NonNullable<EmulatorCall['guardrail']> {
  const guarded: string[] = [];
  const groundingSources: string[] = [];
  const queries: string[] = [];
  for (const block of blocksOf(json['content'])) {
    const textBlock = objectAt(block, 'text');
    const text = textOf(textBlock?.['text']);
    const qualifiers = blocksOf(textBlock?.['qualifiers']);
    if (qualifiers.includes('grounding_source')) groundingSources.push(text);
    else if (qualifiers.includes('query')) queries.push(text);
    else if (textBlock) guarded.push(text);
  }
  return { version, source: json['source'], guarded, groundingSources, query: queries.join('\n') };
}

/** Reads a Converse body without failing, so the call log has its fields even when the call is refused. */
function parseConverse(json: Record<string, unknown>): ParsedConverse {
  const messages = blocksOf(json['messages']);
  // Walk the prompt in order so the text before the first cachePoint is the cacheable prefix.
  const texts: string[] = [];
  let cachePrefix: string | undefined;
  const visit = (block: unknown) => {
    if (fieldOf(block, 'cachePoint') !== undefined) cachePrefix ??= texts.join('\n');
    if (fieldOf(block, 'text') !== undefined) texts.push(textOf(fieldOf(block, 'text')));
  };
  blocksOf(json['system']).forEach(visit);
  const system = texts.join('\n');
  let userText = '';
  for (const message of messages) {
    const content = blocksOf(fieldOf(message, 'content'));
    content.forEach(visit);
    if (fieldOf(message, 'role') === 'user')
      userText = content.map((block) => textOf(fieldOf(block, 'text'))).join('\n');
  }
  const maxTokens = objectAt(json, 'inferenceConfig')?.['maxTokens'];
  const requestMetadata = objectAt(json, 'requestMetadata') as Record<string, string> | undefined;
  const badEntry = Object.entries(requestMetadata ?? {}).find(
    ([key, value]) =>
      key.length === 0 ||
      !METADATA_PATTERN.test(key) ||
      typeof value !== 'string' ||
      !METADATA_PATTERN.test(value),
  );
  return {
    system,
    userText,
    maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
    requestMetadata,
    guardrail: objectAt(json, 'guardrailConfig') !== undefined,
    allText: texts.join('\n'),
    cachePrefix,
    invalidReason:
      messages.length === 0
        ? 'messages must not be empty.'
        : badEntry
          ? `requestMetadata entry '${badEntry[0]}' violates its constraints.`
          : undefined,
  };
}

function countTokensInput(json: Record<string, unknown>): number {
  const input = objectAt(json, 'input');
  const converse = objectAt(input, 'converse');
  if (converse) {
    const parsed = parseConverse(converse);
    if (parsed.invalidReason) throw new EmulatedException(400, 'ValidationException', parsed.invalidReason);
    return countEmulatedTokens(parsed.allText);
  }
  const invokeBody = objectAt(input, 'invokeModel')?.['body'];
  if (typeof invokeBody === 'string')
    return countEmulatedTokens(Buffer.from(invokeBody, 'base64').toString('utf8'));
  throw new EmulatedException(400, 'ValidationException', 'input must hold converse or invokeModel.');
}
