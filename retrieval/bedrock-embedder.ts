import {
  BedrockRuntimeClient,
  InvokeModelCommand,
  type BedrockRuntimeClientConfig,
} from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';
import { checkEmbeddings, type Embedder, EmbeddingError } from './embedder';

export const TITAN_TEXT_EMBEDDINGS_V2 = 'amazon.titan-embed-text-v2:0';
const TITAN_DIMENSIONS = [256, 512, 1024] as const;
// Titan v2 takes one text per call and at most 50,000 characters of it.
const TITAN_MAX_INPUT_CHARS = 50_000;

export interface BedrockEmbedderOptions {
  /** A client built with `maxAttempts: 1` (Temporal owns retries); or `region` (+ `endpoint`) to build one. */
  client?: BedrockRuntimeClient;
  region?: string;
  endpoint?: string;
  credentials?: BedrockRuntimeClientConfig['credentials'];
  /** Default Titan Text Embeddings v2. */
  modelId?: string;
  /** 256, 512 or 1024 (default 512: a good recall/size balance per AWS's own benchmarks). */
  dimensions?: (typeof TITAN_DIMENSIONS)[number];
  /** InvokeModel calls in flight at once (default 8). */
  concurrency?: number;
}

// Lenient: only what we use. https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html
const titanResponseSchema = z.object({
  embedding: z.array(z.number()),
  inputTextTokenCount: z.number().optional(),
});

/**
 * Titan Text Embeddings v2 through Bedrock Runtime InvokeModel, normalised vectors. Errors are the AWS
 * SDK's own (classified by name in domain/classify-provider-error.ts); the SDK never retries.
 */
export function createBedrockEmbedder(options: BedrockEmbedderOptions = {}): Embedder {
  const modelId = options.modelId ?? TITAN_TEXT_EMBEDDINGS_V2;
  const dimensions = options.dimensions ?? 512;
  if (!TITAN_DIMENSIONS.includes(dimensions)) {
    throw new RangeError(`Titan v2 dimensions must be 256, 512 or 1024, not ${String(dimensions)}`);
  }
  const client =
    options.client ??
    new BedrockRuntimeClient({
      region: options.region,
      endpoint: options.endpoint,
      credentials: options.credentials,
      maxAttempts: 1,
    });
  const concurrency = Math.max(1, options.concurrency ?? 8);

  async function embedOne(text: string): Promise<Float32Array> {
    // An empty text is refused by Titan; a single space embeds as "nothing".
    const inputText = (text === '' ? ' ' : text).slice(0, TITAN_MAX_INPUT_CHARS);
    const output = await client.send(
      new InvokeModelCommand({
        modelId,
        contentType: 'application/json',
        accept: 'application/json',
        body: JSON.stringify({ inputText, dimensions, normalize: true }),
      }),
    );
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(output.body));
    } catch {
      throw new EmbeddingError(`${modelId} answered with a body that is not JSON`);
    }
    const parsed = titanResponseSchema.safeParse(json);
    if (!parsed.success) throw new EmbeddingError(`${modelId} answered without an embedding array`);
    return Float32Array.from(parsed.data.embedding);
  }

  const embedder: Embedder = {
    model: modelId,
    version: `${dimensions}-normalized`,
    dimensions,
    async embed(texts) {
      const vectors = new Array<Float32Array>(texts.length);
      let next = 0;
      const workers = Array.from({ length: Math.min(concurrency, texts.length) }, async () => {
        while (next < texts.length) {
          const index = next;
          next += 1;
          vectors[index] = await embedOne(texts[index] as string);
        }
      });
      await Promise.all(workers);
      checkEmbeddings(embedder, texts, vectors);
      return vectors;
    },
  };
  return embedder;
}
