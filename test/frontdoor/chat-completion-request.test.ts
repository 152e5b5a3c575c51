import {
  chatCompletionRequestSchema,
  mapChatCompletionRequest,
  type ChatCompletionRequest,
} from '../../frontdoor/chat-completion-request';
import { readGatehouseHeaders } from '../../frontdoor/gatehouse-headers';
import { FrontDoorError } from '../../frontdoor/openai-error';

const caller = { tenantId: 'demo', apiKey: 'test-key-0123456789abcdef' };

function body(fields: Record<string, unknown>): ChatCompletionRequest {
  return chatCompletionRequestSchema.parse({
    model: 'gatehouse-qa',
    messages: [{ role: 'user', content: 'What is the refund policy?' }],
    ...fields,
  });
}

function refusal(run: () => unknown): { code: string; message: string; param?: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof FrontDoorError)
      return { code: error.failureType, message: error.message, param: error.options.param };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('mapping a chat completion request to a Gatehouse request', () => {
  it.each([
    [
      'the last user message is the question; the others are counted as ignored',
      body({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'First question' },
          { role: 'assistant', content: 'First answer' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Second' },
              { type: 'text', text: 'question' },
            ],
          },
          { role: 'assistant', content: null },
        ],
      }),
      {},
      { question: 'Second\nquestion', taskType: 'qa' },
      4,
    ],
    [
      'max_completion_tokens wins over max_tokens; stream is passed on',
      body({ max_tokens: 100, max_completion_tokens: 50, stream: true }),
      {},
      { maxOutputTokens: 50, stream: true },
      0,
    ],
    [
      'json_schema becomes the output schema',
      body({
        response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'array' } } },
      }),
      {},
      { outputSchema: { type: 'array' } },
      0,
    ],
    [
      'json_object asks for any object',
      body({ response_format: { type: 'json_object' } }),
      {},
      { outputSchema: { type: 'object' } },
      0,
    ],
    [
      'text asks for no schema',
      body({ response_format: { type: 'text' } }),
      {},
      { outputSchema: undefined },
      0,
    ],
    [
      'headers give the request id, feature, data class, prompt, and a task type that wins over the model',
      body({ model: 'gpt-4o' }),
      {
        'idempotency-key': 'order-1',
        'x-gatehouse-feature': 'help-center',
        'x-gatehouse-data-class': 'confidential',
        'x-gatehouse-prompt': 'qa:canary',
        'x-gatehouse-task-type': 'summarize',
      },
      {
        requestId: 'order-1',
        feature: 'help-center',
        dataClass: 'confidential',
        prompt: { name: 'qa', label: 'canary' },
        taskType: 'summarize',
      },
      0,
    ],
    [
      'x-request-id is the request id without Idempotency-Key',
      body({}),
      { 'x-request-id': 'r-2' },
      { requestId: 'r-2' },
      0,
    ],
    [
      'a prompt version',
      body({}),
      { 'x-gatehouse-prompt': 'qa@3' },
      { prompt: { name: 'qa', version: 3 } },
      0,
    ],
  ])('%s', (_name, request, headers, expected, ignored) => {
    const mapped = mapChatCompletionRequest(request, caller, readGatehouseHeaders(headers));
    expect(mapped.input).toMatchObject({ tenantId: 'demo', apiKey: caller.apiKey, ...expected });
    expect(mapped.ignoredMessages).toBe(ignored);
  });

  it('asks for usage in the stream only when stream_options says so', () => {
    const headers = readGatehouseHeaders({});
    expect(mapChatCompletionRequest(body({ stream: true }), caller, headers).includeUsage).toBe(false);
    expect(
      mapChatCompletionRequest(
        body({ stream: true, stream_options: { include_usage: true } }),
        caller,
        headers,
      ).includeUsage,
    ).toBe(true);
  });

  it.each([
    [
      'no user message',
      body({ messages: [{ role: 'system', content: 'hi' }] }),
      {},
      'Request.Invalid',
      /no user message/,
    ],
    [
      'a model that names no task',
      body({ model: 'gpt-4o' }),
      {},
      'Request.ModelNotFound',
      /'gpt-4o' does not exist/,
    ],
    ['an empty task name', body({ model: 'gatehouse-' }), {}, 'Request.ModelNotFound', /does not exist/],
    ['more than one choice', body({ n: 3 }), {}, 'Request.Invalid', /one choice/],
    ['tools', body({ tools: [{ type: 'function' }] }), {}, 'Request.Invalid', /tool and function calling/],
    [
      'an image in the question',
      body({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }),
      {},
      'Request.Invalid',
      /only text is answered, not 'image_url'/,
    ],
    [
      'a malformed Idempotency-Key',
      body({}),
      { 'idempotency-key': 'a b' },
      'Request.Invalid',
      /^Idempotency-Key: /,
    ],
    [
      'Idempotency-Key and x-request-id that disagree',
      body({}),
      { 'idempotency-key': 'a', 'x-request-id': 'b' },
      'Request.Invalid',
      /differs from x-request-id/,
    ],
    [
      'an unknown data class',
      body({}),
      { 'x-gatehouse-data-class': 'secret' },
      'Request.Invalid',
      /x-gatehouse-data-class/,
    ],
    [
      'a malformed prompt reference',
      body({}),
      { 'x-gatehouse-prompt': 'QA!' },
      'Request.Invalid',
      /NAME@VERSION/,
    ],
    [
      'a malformed feature',
      body({}),
      { 'x-gatehouse-feature': 'Help Center' },
      'Request.Invalid',
      /x-gatehouse-feature/,
    ],
    ['a header sent twice', body({}), { 'x-gatehouse-feature': ['a', 'b'] }, 'Request.Invalid', /once/],
  ])('refuses %s', (_name, request, headers, code, message) => {
    const refused = refusal(() =>
      mapChatCompletionRequest(request, caller, readGatehouseHeaders(headers as Record<string, string>)),
    );
    expect(refused.code).toBe(code);
    expect(refused.message).toMatch(message);
  });

  it('accepts the sampling fields OpenAI clients send, leaving them to the route', () => {
    const parsed = chatCompletionRequestSchema.safeParse({
      model: 'gatehouse-qa',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
      top_p: 1,
      seed: 7,
      stop: ['\n'],
      user: 'someone',
      metadata: { a: 'b' },
    });
    expect(parsed.success).toBe(true);
  });
});
