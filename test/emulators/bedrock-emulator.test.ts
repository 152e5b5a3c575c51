import {
  ApplyGuardrailCommand,
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  type ConverseCommandInput,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { classifyBedrockError, parseRetryAfter } from '../../domain/classify-provider-error';
import { startBedrockEmulator, type BedrockEmulator } from '../../emulators/bedrock-runtime-emulator';
import { countEmulatedTokens } from '../../emulators/scripted-model';
import { createBedrockProvider } from '../../providers/bedrock-provider';
import { ProviderError } from '../../providers/model-provider';
import { buildInferenceRequest, buildRoute } from '../providers/build-inference-request';

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const USER_TEXT =
  'Documents:\n<document id="refund-policy" version="2" title="Refund policy">\n' +
  'Refunds are paid within 14 days. Shipping is not refunded.\n</document>\n\nQuestion: How long do refunds take?';

function converseInput(modelId: string, overrides: Partial<ConverseCommandInput> = {}): ConverseCommandInput {
  return {
    modelId,
    system: [{ text: 'Cite as [documentId].' }],
    messages: [{ role: 'user', content: [{ text: USER_TEXT }] }],
    inferenceConfig: { maxTokens: 200 },
    requestMetadata: { tenantId: 'acme', workflowId: 'gatehouse/acme/r1' },
    ...overrides,
  };
}

async function caught(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

describe('Bedrock Runtime emulator through the real AWS SDK', () => {
  let emulator: BedrockEmulator;
  let client: BedrockRuntimeClient;

  beforeAll(async () => {
    emulator = await startBedrockEmulator({ port: 0, guardrailBlockedWords: ['forbidden'] });
    client = new BedrockRuntimeClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await emulator.close();
  });

  beforeEach(() => emulator.reset());

  it('answers Converse with a cited answer, stop reason and usage, and logs metadata and maxTokens', async () => {
    const output = await client.send(new ConverseCommand(converseInput(MODEL)));
    const text = 'Refunds are paid within 14 days. [refund-policy]';
    expect(output.output?.message?.content).toEqual([{ text }]);
    expect(output.stopReason).toBe('end_turn');
    const inputTokens = countEmulatedTokens(`Cite as [documentId].\n${USER_TEXT}`);
    expect(output.usage).toEqual({
      inputTokens,
      outputTokens: countEmulatedTokens(text),
      totalTokens: inputTokens + countEmulatedTokens(text),
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
    expect(output.metrics?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(emulator.calls()).toEqual([
      expect.objectContaining({
        operation: 'converse',
        modelId: MODEL,
        behaviour: 'ok',
        requestMetadata: { tenantId: 'acme', workflowId: 'gatehouse/acme/r1' },
        maxTokens: 200,
        system: 'Cite as [documentId].',
        userText: USER_TEXT,
      }),
    ]);
  });

  it('streams ConverseStream events in order with deltas that add up to the Converse answer', async () => {
    const plain = await client.send(new ConverseCommand(converseInput(MODEL)));
    const output = await client.send(new ConverseStreamCommand(converseInput(MODEL)));
    const events: ConverseStreamOutput[] = [];
    for await (const event of output.stream!) events.push(event);
    const kinds = events.map((event) => Object.keys(event).find((key) => key !== '$unknown'));
    const deltas = events.flatMap((event) =>
      event.contentBlockDelta?.delta?.text ? [event.contentBlockDelta.delta.text] : [],
    );
    expect(kinds[0]).toBe('messageStart');
    expect(kinds.slice(1, 1 + deltas.length).every((kind) => kind === 'contentBlockDelta')).toBe(true);
    expect(kinds.slice(1 + deltas.length)).toEqual(['contentBlockStop', 'messageStop', 'metadata']);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(plain.output?.message?.content?.[0]?.text);
    expect(events.at(-2)?.messageStop?.stopReason).toBe('end_turn');
    expect(events.at(-1)?.metadata?.usage).toEqual(plain.usage);
    expect(emulator.callCount(MODEL, 'converse-stream')).toBe(1);
  });

  it('truncates at maxTokens with stop reason max_tokens', async () => {
    const output = await client.send(
      new ConverseCommand(converseInput(MODEL, { inferenceConfig: { maxTokens: 4 } })),
    );
    expect(output.stopReason).toBe('max_tokens');
    expect(output.usage?.outputTokens).toBeLessThanOrEqual(4);
  });

  it('writes, then reads, the prompt cache at a cachePoint and reports both apart from input tokens', async () => {
    const cached = converseInput(MODEL, {
      system: [{ text: 'A long, stable system prompt worth caching.' }, { cachePoint: { type: 'default' } }],
    });
    const first = await client.send(new ConverseCommand(cached));
    const second = await client.send(new ConverseCommand(cached));
    const prefixTokens = countEmulatedTokens('A long, stable system prompt worth caching.');
    expect(first.usage).toMatchObject({ cacheWriteInputTokens: prefixTokens, cacheReadInputTokens: 0 });
    expect(second.usage).toMatchObject({ cacheWriteInputTokens: 0, cacheReadInputTokens: prefixTokens });
    expect(second.usage?.inputTokens).toBe(countEmulatedTokens(USER_TEXT));
  });

  it('counts tokens with CountTokens', async () => {
    const output = await client.send(
      new CountTokensCommand({
        modelId: MODEL,
        input: {
          converse: {
            system: [{ text: 'Be brief.' }],
            messages: [{ role: 'user', content: [{ text: 'one two three four five' }] }],
          },
        },
      }),
    );
    expect(output.inputTokens).toBe(countEmulatedTokens('Be brief. one two three four five'));
    expect(emulator.callCount(MODEL, 'count-tokens')).toBe(1);
  });

  it('applies a guardrail: intervenes on a blocked word, passes other text', async () => {
    const apply = (text: string) =>
      client.send(
        new ApplyGuardrailCommand({
          guardrailIdentifier: 'gr-123',
          guardrailVersion: 'DRAFT',
          source: 'OUTPUT',
          content: [{ text: { text } }],
        }),
      );
    const blocked = await apply('This mentions the Forbidden topic.');
    expect(blocked.action).toBe('GUARDRAIL_INTERVENED');
    expect(blocked.outputs?.[0]?.text).toMatch(/blocked/);
    expect(blocked.assessments?.[0]?.wordPolicy?.customWords?.[0]).toMatchObject({
      match: 'forbidden',
      action: 'BLOCKED',
    });
    const passed = await apply('Refunds are paid within 14 days.');
    expect(passed.action).toBe('NONE');
    expect(passed.outputs).toEqual([]);
    expect(emulator.callCount('gr-123', 'apply-guardrail')).toBe(2);
  });

  it('applies a configured guardrail per id, refuses malformed requests as Bedrock does, and resets', async () => {
    emulator.setGuardrail('masking01', { piiEntities: [{ type: 'EMAIL', action: 'ANONYMIZE' }] });
    const masked = await client.send(
      new ApplyGuardrailCommand({
        guardrailIdentifier: 'masking01',
        guardrailVersion: '2',
        source: 'OUTPUT',
        content: [
          { text: { text: 'Mail jane@example.com for details.', qualifiers: ['guard_content'] } },
          { text: { text: 'jane@example.com is in the source', qualifiers: ['grounding_source'] } },
        ],
      }),
    );
    expect(masked.action).toBe('GUARDRAIL_INTERVENED');
    expect(masked.outputs).toEqual([{ text: 'Mail {EMAIL} for details.' }]);
    expect(masked.assessments?.[0]?.sensitiveInformationPolicy?.piiEntities).toEqual([
      { match: 'jane@example.com', type: 'EMAIL', action: 'ANONYMIZED', detected: true },
    ]);
    expect(masked.assessments?.[0]?.appliedGuardrailDetails).toMatchObject({
      guardrailId: 'masking01',
      guardrailVersion: '2',
    });
    const refused = await caught(
      client.send(
        new ApplyGuardrailCommand({
          guardrailIdentifier: 'masking01',
          guardrailVersion: '2',
          source: 'OUTPUT',
          content: [{ text: { text: 'only context', qualifiers: ['grounding_source'] } }],
        }),
      ),
    );
    expect(refused.name).toBe('ValidationException');
    emulator.reset();
    const afterReset = await client.send(
      new ApplyGuardrailCommand({
        guardrailIdentifier: 'masking01',
        guardrailVersion: '2',
        source: 'OUTPUT',
        content: [{ text: { text: 'Mail jane@example.com for details.' } }],
      }),
    );
    expect(afterReset.action).toBe('NONE');
  });

  it('embeds text with Titan v2 through InvokeModel, deterministically and normalised', async () => {
    const embed = async (inputText: string, dimensions = 256) => {
      const output = await client.send(
        new InvokeModelCommand({
          modelId: 'amazon.titan-embed-text-v2:0',
          contentType: 'application/json',
          accept: 'application/json',
          body: JSON.stringify({ inputText, dimensions, normalize: true }),
        }),
      );
      return JSON.parse(new TextDecoder().decode(output.body)) as {
        embedding: number[];
        inputTextTokenCount: number;
      };
    };
    const first = await embed('refunds are paid within 14 days');
    const again = await embed('refunds are paid within 14 days');
    expect(first.embedding).toHaveLength(256);
    expect(first.embedding).toEqual(again.embedding);
    expect(Math.hypot(...first.embedding)).toBeCloseTo(1, 6);
    expect(first.inputTextTokenCount).toBe(countEmulatedTokens('refunds are paid within 14 days'));
    const related = await embed('refunds within 14 days');
    const unrelated = await embed('the weather in lisbon tomorrow');
    const dot = (left: number[], right: number[]) =>
      left.reduce((sum, value, index) => sum + value * (right[index] ?? 0), 0);
    expect(dot(first.embedding, related.embedding)).toBeGreaterThan(
      dot(first.embedding, unrelated.embedding),
    );
    const wrongModel = await caught(
      client.send(new InvokeModelCommand({ modelId: MODEL, body: JSON.stringify({ inputText: 'x' }) })),
    );
    expect(wrongModel.name).toBe('ValidationException');
  });

  it('surfaces a scripted 429 as ThrottlingException with Retry-After, classified retryable', async () => {
    emulator.setScript(MODEL, { behaviours: ['throttle', 'throttle', 'ok'], retryAfterSeconds: 2 });
    const error = await caught(client.send(new ConverseCommand(converseInput(MODEL))));
    expect(error.name).toBe('ThrottlingException');
    expect(error.$fault).toBe('client');
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(429);
    const retryAfter = (error.$response as { headers: Record<string, string> }).headers['retry-after'];
    expect(retryAfter).toBe('2');
    expect(
      classifyBedrockError({
        name: error.name,
        httpStatus: 429,
        retryAfterMs: parseRetryAfter(retryAfter, Date.now()),
      }),
    ).toMatchObject({
      failureType: 'Inference.RateLimited',
      retryable: true,
      nextRetryDelayMs: 2000,
    });
    // The queue is consumed in order and its last behaviour repeats.
    await expect(client.send(new ConverseCommand(converseInput(MODEL)))).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    await expect(client.send(new ConverseCommand(converseInput(MODEL)))).resolves.toMatchObject({
      stopReason: 'end_turn',
    });
    await expect(client.send(new ConverseCommand(converseInput(MODEL)))).resolves.toMatchObject({
      stopReason: 'end_turn',
    });
    expect(emulator.calls().map((call) => call.behaviour)).toEqual(['throttle', 'throttle', 'ok', 'ok']);
    // Refused calls are logged with what they asked for, too.
    expect(emulator.calls()[0]).toMatchObject({
      requestMetadata: { tenantId: 'acme', workflowId: 'gatehouse/acme/r1' },
      maxTokens: 200,
    });
    expect(emulator.callCount(MODEL)).toBe(4);
  });

  it.each([
    ['validation', 'ValidationException', 400, false],
    ['model-timeout', 'ModelTimeoutException', 408, true],
    ['unavailable', 'ServiceUnavailableException', 503, true],
    ['internal-error', 'InternalServerException', 500, true],
  ] as const)('surfaces %s as %s (HTTP %i), retryable: %s', async (behaviour, name, status, retryable) => {
    emulator.setScript(MODEL, { behaviours: [behaviour] });
    const error = await caught(client.send(new ConverseCommand(converseInput(MODEL))));
    expect(error.name).toBe(name);
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(status);
    expect(classifyBedrockError({ name: error.name, httpStatus: status }).retryable).toBe(retryable);
  });

  it('rejects requestMetadata that breaks Bedrock constraints, as Bedrock does', async () => {
    const error = await caught(
      client.send(
        new ConverseCommand(converseInput(MODEL, { requestMetadata: { tenantId: 'acme<script>' } })),
      ),
    );
    expect(error.name).toBe('ValidationException');
  });

  it('sends a mid-stream exception event that the SDK raises by name after the first deltas', async () => {
    emulator.setScript(MODEL, { behaviours: [{ streamErrorAfter: 2, exception: 'ThrottlingException' }] });
    const output = await client.send(new ConverseStreamCommand(converseInput(MODEL)));
    const deltas: string[] = [];
    const error = await caught(
      (async () => {
        for await (const event of output.stream!)
          if (event.contentBlockDelta?.delta?.text) deltas.push(event.contentBlockDelta.delta.text);
      })(),
    );
    expect(deltas).toEqual(['Refunds ', 'are ']);
    expect(error.name).toBe('ThrottlingException');
  });

  it('passes inference profile ids and application inference profile ARNs through intact', async () => {
    const profile = 'us.anthropic.claude-3-5-sonnet-20240620-v1:0';
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6';
    await client.send(new ConverseCommand(converseInput(profile)));
    await client.send(new ConverseStreamCommand(converseInput(arn)));
    expect(emulator.calls().map((call) => call.modelId)).toEqual([profile, arn]);
  });

  it('holds a hanging request until the client aborts, and adds scripted latency', async () => {
    emulator.setScript('slow-model.v1', { latencyMs: 150 });
    const started = performance.now();
    await client.send(new ConverseCommand(converseInput('slow-model.v1')));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);

    emulator.setScript('stuck-model.v1', { behaviours: ['hang'] });
    const error = await caught(
      client.send(new ConverseCommand(converseInput('stuck-model.v1')), {
        abortSignal: AbortSignal.timeout(200),
      }),
    );
    expect(error.name).toBe('AbortError');
    expect(emulator.callCount('stuck-model.v1')).toBe(1);
  });

  it('speaks HTTP/1.1 too, for clients other than the JavaScript SDK', async () => {
    const response = await fetch(`${emulator.endpoint}/model/${encodeURIComponent(MODEL)}/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(converseInput(MODEL)),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ stopReason: 'end_turn' });
    const missing = await fetch(`${emulator.endpoint}/nowhere`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });

  describe('through the Bedrock provider', () => {
    const provider = () =>
      createBedrockProvider({
        defaultRegion: 'us-east-1',
        endpoint: emulator.endpoint,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
    const request = () => buildInferenceRequest(buildRoute({ provider: 'bedrock', model: MODEL }));

    it('turns a malformed body into Inference.MalformedResponse, retryable', async () => {
      emulator.setScript(MODEL, { behaviours: ['malformed'] });
      for (const onDelta of [undefined, () => undefined]) {
        const error = await caught(provider().generate(request(), { onDelta }));
        expect(error).toBeInstanceOf(ProviderError);
        expect((error as unknown as ProviderError).classification).toMatchObject({
          failureType: 'Inference.MalformedResponse',
          retryable: true,
        });
      }
      expect(emulator.calls().map((call) => call.operation)).toEqual(['converse', 'converse-stream']);
    });

    it('turns a stream that fails after deltas into Inference.StreamInterrupted, with no usage it cannot know', async () => {
      emulator.setScript(MODEL, {
        behaviours: [{ streamErrorAfter: 3, exception: 'InternalServerException' }],
      });
      const deltas: string[] = [];
      const error = (await caught(
        provider().generate(request(), { onDelta: (text) => deltas.push(text) }),
      )) as unknown as ProviderError;
      expect(deltas).toHaveLength(3);
      expect(error.classification).toEqual({
        failureType: 'Inference.StreamInterrupted',
        retryable: false,
        fallback: false,
        code: 'InternalServerException',
      });
      // The server reported no usage before the stream broke; the infer activity estimates it (and says so).
      expect(error.partialUsage).toBeUndefined();
    });
  });
});
