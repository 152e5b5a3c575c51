import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { startBedrockEmulator, type BedrockEmulator } from '../../emulators/bedrock-runtime-emulator';
import {
  startOpenAiCompatibleEmulator,
  type OpenAiEmulator,
} from '../../emulators/openai-compatible-emulator';
import { createBedrockEmbedder, TITAN_TEXT_EMBEDDINGS_V2 } from '../../retrieval/bedrock-embedder';
import { EmbeddingError, type Embedder } from '../../retrieval/embedder';
import {
  createOpenAiCompatibleEmbedder,
  EmbeddingHttpError,
} from '../../retrieval/openai-compatible-embedder';
import { StaticEmbedder } from '../../retrieval/static-embedder';

const dot = (left: Float32Array, right: Float32Array) =>
  left.reduce((sum, value, index) => sum + value * (right[index] as number), 0);

async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/** What every embedder promises: one unit vector of the declared size per text, in order, deterministic. */
async function expectEmbedderContract(embedder: Embedder): Promise<void> {
  const texts = [
    'refunds are paid within 14 days',
    'the weather in lisbon tomorrow',
    'refunds within 14 days',
    '',
  ];
  const vectors = await embedder.embed(texts);
  expect(vectors).toHaveLength(texts.length);
  for (const vector of vectors.slice(0, 3)) {
    expect(vector).toBeInstanceOf(Float32Array);
    expect(vector).toHaveLength(embedder.dimensions);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
  }
  const [first, unrelated, related] = vectors as [Float32Array, Float32Array, Float32Array];
  expect(dot(first, related)).toBeGreaterThan(dot(first, unrelated));
  const again = await embedder.embed([texts[0] as string]);
  expect([...(again[0] as Float32Array)]).toEqual([...first]);
  expect(await embedder.embed([])).toEqual([]);
  expect(embedder.model).not.toBe('');
  expect(embedder.version).not.toBe('');
}

describe('embedders', () => {
  let bedrock: BedrockEmulator;
  let openAi: OpenAiEmulator;
  let client: BedrockRuntimeClient;

  beforeAll(async () => {
    bedrock = await startBedrockEmulator();
    openAi = await startOpenAiCompatibleEmulator();
    client = new BedrockRuntimeClient({
      endpoint: bedrock.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await bedrock.close();
    await openAi.close();
  });
  beforeEach(() => {
    bedrock.reset();
    openAi.reset();
  });

  it('the offline default honours the contract and knows that a kitten is closer to a cat than stocks are', async () => {
    const embedder = StaticEmbedder.load();
    expect({ model: embedder.model, version: embedder.version, dimensions: embedder.dimensions }).toEqual({
      model: 'minilm-l6-static',
      version: '1',
      dimensions: 128,
    });
    await expectEmbedderContract(embedder);
    const [cat, kitten, stocks] = await embedder.embed([
      'the cat sat on the mat',
      'a kitten rested on the rug',
      'stock markets fell sharply today',
    ]);
    expect(dot(cat!, kitten!)).toBeGreaterThan(dot(cat!, stocks!) + 0.3);
    // A text longer than the token cap costs bounded work and still embeds.
    const huge = await embedder.embed(['word '.repeat(100_000)]);
    expect(Math.hypot(...huge[0]!)).toBeCloseTo(1, 5);
  });

  it('bedrock: Titan v2 through InvokeModel, one call per text, normalised at the requested size', async () => {
    const embedder = createBedrockEmbedder({ client, dimensions: 256, concurrency: 2 });
    expect(embedder).toMatchObject({
      model: TITAN_TEXT_EMBEDDINGS_V2,
      version: '256-normalized',
      dimensions: 256,
    });
    await expectEmbedderContract(embedder);
    expect(bedrock.callCount(TITAN_TEXT_EMBEDDINGS_V2, 'invoke-model')).toBe(4 + 1);
  });

  it('bedrock: a throttled call surfaces as the SDK error Temporal classifies, not as a retry', async () => {
    const embedder = createBedrockEmbedder({ client, dimensions: 512 });
    bedrock.setScript(TITAN_TEXT_EMBEDDINGS_V2, { behaviours: ['throttle'], retryAfterSeconds: 3 });
    const error = await rejection(embedder.embed(['anything']));
    expect(error.name).toBe('ThrottlingException');
    expect(bedrock.callCount(TITAN_TEXT_EMBEDDINGS_V2, 'invoke-model')).toBe(1);
    bedrock.setScript(TITAN_TEXT_EMBEDDINGS_V2, { behaviours: ['malformed'] });
    expect((await rejection(embedder.embed(['anything']))).message).toMatch(/./);
    expect(() => createBedrockEmbedder({ client, dimensions: 300 as 256 })).toThrow(/256, 512 or 1024/);
  });

  it('openai-compatible: /v1/embeddings in batches, vectors put back in input order', async () => {
    const embedder = createOpenAiCompatibleEmbedder({
      endpoint: openAi.endpoint,
      model: 'bge-small',
      dimensions: 384,
      batchSize: 3,
      apiKey: 'secret',
    });
    await expectEmbedderContract(embedder);
    const calls = openAi.calls().filter((call) => call.operation === 'embeddings');
    expect(calls.length).toBe(2 + 1 + 0);
    expect(calls[0]?.authorization).toBe('Bearer secret');
  });

  it('openai-compatible: wrong sizes, HTTP errors and broken bodies are errors that say what happened', async () => {
    const wrongSize = createOpenAiCompatibleEmbedder({
      endpoint: openAi.endpoint,
      model: 'bge-small',
      dimensions: 768,
    });
    expect((await rejection(wrongSize.embed(['x']))).message).toMatch(/384-dimensional vector, expected 768/);
    const embedder = createOpenAiCompatibleEmbedder({
      endpoint: openAi.endpoint,
      model: 'e5',
      dimensions: 384,
    });
    openAi.setScript('e5', { behaviours: ['throttle', 'malformed'], retryAfterSeconds: 2 });
    const throttled = await rejection(embedder.embed(['x']));
    expect(throttled).toBeInstanceOf(EmbeddingHttpError);
    expect(throttled).toMatchObject({ status: 429, retryAfter: '2' });
    expect(await rejection(embedder.embed(['x']))).toBeInstanceOf(EmbeddingError);
    const shortened = createOpenAiCompatibleEmbedder({
      endpoint: openAi.endpoint,
      model: 'text-embedding-3-small',
      dimensions: 64,
      requestDimensions: true,
    });
    expect((await shortened.embed(['x']))[0]).toHaveLength(64);
  });
});
