import { z } from 'zod';
import { checkEmbeddings, type Embedder, EmbeddingError, normalizeVector } from './embedder';

export interface OpenAiCompatibleEmbedderOptions {
  /** API base, e.g. `http://vllm:8000/v1` (the embedder posts to `<endpoint>/embeddings`). */
  endpoint: string;
  model: string;
  /** The model's output size; checked on every answer. */
  dimensions: number;
  /** Sent as `dimensions` for models that can shorten their output (OpenAI text-embedding-3). */
  requestDimensions?: boolean;
  apiKey?: string;
  /** Texts per request (default 64). */
  batchSize?: number;
  timeoutMs?: number;
  /** Changes when the server's model changes in a way its name does not show. */
  version?: string;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

// Lenient: vLLM, TGI, Ollama and LM Studio all answer with at least these fields.
// https://platform.openai.com/docs/api-reference/embeddings/object
const embeddingsResponseSchema = z.object({
  data: z.array(z.object({ index: z.number().int().nonnegative(), embedding: z.array(z.number()) })),
});

/** Raised for a non-2xx answer; `status` and `retryAfter` let the caller classify it like inference errors. */
export class EmbeddingHttpError extends EmbeddingError {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfter?: string,
  ) {
    super(message);
  }
}

/** Self-hosted embedding models behind an OpenAI-compatible `/v1/embeddings` endpoint. */
export function createOpenAiCompatibleEmbedder(options: OpenAiCompatibleEmbedderOptions): Embedder {
  const fetchImpl = options.fetch ?? fetch;
  const url = `${options.endpoint.replace(/\/+$/, '')}/embeddings`;
  const batchSize = Math.max(1, options.batchSize ?? 64);
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function embedBatch(texts: readonly string[]): Promise<Float32Array[]> {
    const response = await fetchImpl(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: options.model,
        input: texts,
        encoding_format: 'float',
        ...(options.requestDimensions ? { dimensions: options.dimensions } : {}),
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    if (!response.ok) {
      throw new EmbeddingHttpError(
        `${url} answered ${response.status}: ${body.slice(0, 200)}`,
        response.status,
        response.headers.get('retry-after') ?? undefined,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new EmbeddingError(`${url} answered with a body that is not JSON`);
    }
    const parsed = embeddingsResponseSchema.safeParse(json);
    if (!parsed.success) throw new EmbeddingError(`${url} answered without a data[].embedding list`);
    const vectors = new Array<Float32Array>(texts.length);
    for (const entry of parsed.data.data) {
      if (entry.index >= texts.length)
        throw new EmbeddingError(`${url} answered index ${entry.index} for ${texts.length} inputs`);
      vectors[entry.index] = normalizeVector(Float32Array.from(entry.embedding));
    }
    if (vectors.some((vector) => vector === undefined) || parsed.data.data.length !== texts.length) {
      throw new EmbeddingError(
        `${url} answered ${parsed.data.data.length} embeddings for ${texts.length} inputs`,
      );
    }
    return vectors;
  }

  const embedder: Embedder = {
    model: options.model,
    version: options.version ?? `${options.dimensions}`,
    dimensions: options.dimensions,
    async embed(texts) {
      const vectors: Float32Array[] = [];
      for (let index = 0; index < texts.length; index += batchSize) {
        // Servers refuse empty strings; a single space embeds as "nothing".
        const batch = texts.slice(index, index + batchSize).map((text) => (text === '' ? ' ' : text));
        vectors.push(...(await embedBatch(batch)));
      }
      checkEmbeddings(embedder, texts, vectors);
      return vectors;
    },
  };
  return embedder;
}
