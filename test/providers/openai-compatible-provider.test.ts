import {
  startOpenAiCompatibleEmulator,
  type OpenAiEmulator,
} from '../../emulators/openai-compatible-emulator';
import { ProviderError, type ModelProvider } from '../../providers/model-provider';
import {
  createOpenAiCompatibleProvider,
  OPENAI_FINISH_REASONS,
} from '../../providers/openai-compatible-provider';
import { buildInferenceRequest, buildRoute } from './build-inference-request';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

async function providerErrorOf(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

/** A fetch that answers every call with the given body, to cover what the emulator does not send. */
function fetchAnswering(chunks: string[], init: ResponseInit = { status: 200 }): typeof fetch {
  return async () => {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    });
    return new Response(body, init);
  };
}

describe('OpenAI-compatible provider against the emulator', () => {
  let emulator: OpenAiEmulator;
  let provider: ModelProvider;
  const route = () =>
    buildRoute({ provider: 'openai-compatible', model: MODEL, endpoint: emulator.endpoint });

  beforeAll(async () => {
    emulator = await startOpenAiCompatibleEmulator({ port: 0, models: [MODEL] });
    provider = createOpenAiCompatibleProvider({ apiKey: 'local-key' });
  });

  afterAll(() => emulator.close());

  beforeEach(() => emulator.reset());

  it('answers a plain chat completion with citations, finish reason and usage', async () => {
    const request = buildInferenceRequest(route());
    const response = await provider.generate(request);
    expect(response.text).toBe(
      'Refunds are paid within 14 days of the return. [refund-policy] Items can be returned for 30 days. [returns-faq]',
    );
    expect(response.citedDocumentIds).toEqual(['refund-policy', 'returns-faq']);
    expect(response.finishReason).toBe('stop');
    expect(response.usage.inputTokens).toBeGreaterThan(0);
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    expect(emulator.calls()).toEqual([
      expect.objectContaining({
        operation: 'chat-completions',
        model: MODEL,
        stream: false,
        maxTokens: 256,
        system: request.prompt.system,
        userText: request.prompt.user,
        authorization: 'Bearer local-key',
      }),
    ]);
  });

  it('streams deltas in order over SSE and takes usage from the final chunk', async () => {
    const plain = await provider.generate(buildInferenceRequest(route()));
    const deltas: string[] = [];
    const streamed = await provider.generate(buildInferenceRequest(route()), {
      onDelta: (text) => deltas.push(text),
    });
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(plain.text);
    expect(streamed).toMatchObject({
      text: plain.text,
      finishReason: 'stop',
      usage: plain.usage,
      citedDocumentIds: plain.citedDocumentIds,
    });
    expect(emulator.calls()[1]).toMatchObject({ stream: true, includeUsage: true });
  });

  it('always sends max_tokens, capped by the route, and maps a cut answer to length', async () => {
    const response = await provider.generate(buildInferenceRequest(route(), { maxOutputTokens: 4 }));
    expect(response.finishReason).toBe('length');
    await provider.generate(buildInferenceRequest(route(), { maxOutputTokens: 100_000 }));
    expect(emulator.calls().map((call) => call.maxTokens)).toEqual([4, 512]);
  });

  it('maps a content filter to content-filter', async () => {
    emulator.setScript(MODEL, { behaviours: ['content-filtered'] });
    expect((await provider.generate(buildInferenceRequest(route()))).finishReason).toBe('content-filter');
  });

  it.each([
    ['throttle', 'Inference.RateLimited', true, '429'],
    ['model-timeout', 'Inference.Timeout', true, '408'],
    ['unavailable', 'Inference.Unavailable', true, '503'],
    ['internal-error', 'Inference.Unavailable', true, '500'],
    ['validation', 'Inference.InvalidRequest', false, '400'],
  ] as const)('classifies %s as %s (retryable: %s)', async (behaviour, failureType, retryable, code) => {
    emulator.setScript(MODEL, { behaviours: [behaviour], retryAfterSeconds: 2 });
    for (const onDelta of [undefined, () => undefined]) {
      const error = await providerErrorOf(provider.generate(buildInferenceRequest(route()), { onDelta }));
      expect(error.classification).toMatchObject({ failureType, retryable, code });
      if (behaviour === 'throttle') expect(error.classification.nextRetryDelayMs).toBe(2000);
    }
    expect(emulator.callCount(MODEL, 'chat-completions')).toBe(2);
  });

  it('treats a malformed body, plain or streamed, as a retryable malformed response', async () => {
    emulator.setScript(MODEL, { behaviours: ['malformed'] });
    for (const onDelta of [undefined, () => undefined]) {
      const error = await providerErrorOf(provider.generate(buildInferenceRequest(route()), { onDelta }));
      expect(error.classification).toMatchObject({
        failureType: 'Inference.MalformedResponse',
        retryable: true,
      });
    }
  });

  it('reports a stream dropped after deltas as StreamInterrupted, with no usage it cannot know', async () => {
    emulator.setScript(MODEL, { behaviours: [{ streamErrorAfter: 3 }, 'ok'] });
    const deltas: string[] = [];
    const error = await providerErrorOf(
      provider.generate(buildInferenceRequest(route()), { onDelta: (text) => deltas.push(text) }),
    );
    expect(deltas).toEqual(['Refunds ', 'are ', 'paid ']);
    expect(error.classification).toMatchObject({
      failureType: 'Inference.StreamInterrupted',
      retryable: false,
      fallback: false,
    });
    // The server reported no usage before the stream broke; the infer activity estimates it (and says so).
    expect(error.partialUsage).toBeUndefined();
    // The emulator moved on to the next behaviour.
    await expect(provider.generate(buildInferenceRequest(route()))).resolves.toMatchObject({
      finishReason: 'stop',
    });
  });

  it('aborts a hanging call through the signal and adds scripted latency', async () => {
    emulator.setScript('slow', { latencyMs: 120 });
    const started = performance.now();
    await provider.generate(
      buildInferenceRequest(
        buildRoute({ provider: 'openai-compatible', model: 'slow', endpoint: emulator.endpoint }),
      ),
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);

    emulator.setScript(MODEL, { behaviours: ['hang'] });
    const error = await providerErrorOf(
      provider.generate(buildInferenceRequest(route()), { signal: AbortSignal.timeout(150) }),
    );
    expect(error.classification).toMatchObject({ failureType: 'Inference.Timeout', retryable: true });
  });

  it('lists models', async () => {
    const response = await fetch(`${emulator.endpoint}/models`);
    expect(await response.json()).toEqual({
      object: 'list',
      data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'gatehouse-emulator' }],
    });
    expect(emulator.callCount(undefined, 'list-models')).toBe(1);
  });

  it('reports a refused connection as retryable unavailability', async () => {
    const closed = await startOpenAiCompatibleEmulator();
    await closed.close();
    const error = await providerErrorOf(
      provider.generate(
        buildInferenceRequest(
          buildRoute({ provider: 'openai-compatible', model: MODEL, endpoint: closed.endpoint }),
        ),
      ),
    );
    expect(error.classification).toMatchObject({
      failureType: 'Inference.Unavailable',
      retryable: true,
      code: 'ECONNREFUSED',
    });
  });
});

describe('OpenAI-compatible provider parsing', () => {
  const route = buildRoute({
    provider: 'openai-compatible',
    model: MODEL,
    endpoint: 'http://model.internal:8000/v1/',
  });

  it('posts to {endpoint}/chat/completions with JSON mode when asked', async () => {
    let seen: { url: string; body: Record<string, unknown> } | undefined;
    const provider = createOpenAiCompatibleProvider({
      fetch: async (url, init) => {
        seen = { url: String(url), body: JSON.parse(String(init?.body)) as Record<string, unknown> };
        return new Response(
          JSON.stringify({ choices: [{ message: { content: '{"answer":"x"}' }, finish_reason: 'stop' }] }),
        );
      },
    });
    const response = await provider.generate(buildInferenceRequest(route, { responseFormat: 'json' }));
    expect(seen?.url).toBe('http://model.internal:8000/v1/chat/completions');
    expect(seen?.body).toMatchObject({
      model: MODEL,
      max_tokens: 256,
      stream: false,
      response_format: { type: 'json_object' },
    });
    expect(response.usage).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  });

  it('keeps cached prompt tokens apart from input tokens', async () => {
    const provider = createOpenAiCompatibleProvider({
      fetch: fetchAnswering([
        JSON.stringify({
          choices: [{ message: { content: 'ok', extra: true }, finish_reason: 'stop', logprobs: null }],
          usage: {
            prompt_tokens: 1200,
            completion_tokens: 7,
            prompt_tokens_details: { cached_tokens: 1000 },
          },
        }),
      ]),
    });
    const response = await provider.generate(buildInferenceRequest(route));
    expect(response.usage).toEqual({
      inputTokens: 200,
      outputTokens: 7,
      cacheReadTokens: 1000,
      cacheWriteTokens: 0,
    });
  });

  it.each(Object.entries(OPENAI_FINISH_REASONS))(
    'maps finish_reason %s to %s',
    async (finishReason, expected) => {
      const provider = createOpenAiCompatibleProvider({
        fetch: fetchAnswering([
          JSON.stringify({ choices: [{ message: { content: 'x' }, finish_reason: finishReason }] }),
        ]),
      });
      expect((await provider.generate(buildInferenceRequest(route))).finishReason).toBe(expected);
    },
  );

  it('parses SSE split mid-line, with CRLF, comments, multi-line data and no [DONE]', async () => {
    const provider = createOpenAiCompatibleProvider({
      fetch: fetchAnswering([
        ': keep-alive\r\n\r\ndata: {"choices":[{"delta":{"content":"Ref',
        'unds [refund-policy]"}}]}\r\n\r\n',
        'data: {"choices":[{"delta":{"content":" take"},\ndata: "finish_reason":null}]}\n\n',
        'data: {"choices":[{"delta":{},"finish_reason":"stop"}],"usage":null}\n\n',
        'data: {"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":4}}\n\n',
      ]),
    });
    const deltas: string[] = [];
    const response = await provider.generate(buildInferenceRequest(route), {
      onDelta: (text) => deltas.push(text),
    });
    expect(deltas).toEqual(['Refunds [refund-policy]', ' take']);
    expect(response).toMatchObject({
      text: 'Refunds [refund-policy] take',
      citedDocumentIds: ['refund-policy'],
      finishReason: 'stop',
      usage: { inputTokens: 30, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
  });

  it('turns an in-band error event into a classified failure before any delta', async () => {
    const provider = createOpenAiCompatibleProvider({
      fetch: fetchAnswering(['data: {"error":{"message":"overloaded","code":503}}\n\n']),
    });
    const error = await providerErrorOf(
      provider.generate(buildInferenceRequest(route), { onDelta: () => undefined }),
    );
    expect(error.classification).toMatchObject({
      failureType: 'Inference.Unavailable',
      retryable: true,
      code: '503',
    });
    expect(error.message).toContain('overloaded');
  });

  it('reads retry-after-ms before retry-after and the error message from the body', async () => {
    const provider = createOpenAiCompatibleProvider({
      fetch: fetchAnswering(
        [JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_exceeded' } })],
        {
          status: 429,
          headers: { 'retry-after-ms': '1250', 'retry-after': '2' },
        },
      ),
    });
    const error = await providerErrorOf(provider.generate(buildInferenceRequest(route)));
    expect(error.classification).toMatchObject({
      failureType: 'Inference.RateLimited',
      nextRetryDelayMs: 1250,
    });
    expect(error.message).toContain('slow down');
  });

  it('rejects an empty choices list and a route without an endpoint', async () => {
    const empty = createOpenAiCompatibleProvider({
      fetch: fetchAnswering([JSON.stringify({ choices: [] })]),
    });
    expect(
      (await providerErrorOf(empty.generate(buildInferenceRequest(route)))).classification.failureType,
    ).toBe('Inference.MalformedResponse');
    const noEndpoint = buildRoute({ provider: 'openai-compatible', model: MODEL });
    const error = await providerErrorOf(
      createOpenAiCompatibleProvider().generate(buildInferenceRequest(noEndpoint)),
    );
    expect(error.classification).toMatchObject({
      failureType: 'Inference.InvalidRequest',
      retryable: false,
      code: 'MissingEndpoint',
    });
  });
});
