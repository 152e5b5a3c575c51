import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type Embedder, normalizeVector } from './embedder';
import { readWordPieceVocabulary, wordPieceIds, type WordPieceVocabulary } from './wordpiece-tokenizer';

/** The token table shipped with the project (see retrieval/models/minilm-l6-static/manifest.json). */
export const DEFAULT_STATIC_MODEL_DIRECTORY = path.join(__dirname, 'models', 'minilm-l6-static');

// Enough for a whole chunk; the cap bounds the work one oversized text can cause.
const MAX_TOKENS_PER_TEXT = 2048;

const manifestSchema = z.object({
  model: z.string().min(1),
  version: z.string().min(1),
  dimensions: z.number().int().positive(),
  tokens: z.number().int().positive(),
});

/**
 * The offline default embedder: all-MiniLM-L6-v2 distilled into one vector per WordPiece token
 * (scripts/distill-static-embedder.py). A text's vector is the normalised mean of its tokens' rows, so
 * embedding costs microseconds and needs no model download; it captures word similarity (markup ~
 * markdown, pool ~ reuse) but not word order.
 */
export class StaticEmbedder implements Embedder {
  readonly model: string;
  readonly version: string;
  readonly dimensions: number;
  private readonly table: Float32Array;

  private constructor(
    manifest: z.infer<typeof manifestSchema>,
    table: Float32Array,
    private readonly vocabulary: WordPieceVocabulary,
  ) {
    this.model = manifest.model;
    this.version = manifest.version;
    this.dimensions = manifest.dimensions;
    this.table = table;
  }

  /** Reads the table from `directory` (manifest.json, vocab.txt, vectors.bin); throws naming what is wrong. */
  static load(directory: string = DEFAULT_STATIC_MODEL_DIRECTORY): StaticEmbedder {
    const manifest = manifestSchema.parse(
      JSON.parse(readFileSync(path.join(directory, 'manifest.json'), 'utf8')) as unknown,
    );
    const vocabulary = readWordPieceVocabulary(readFileSync(path.join(directory, 'vocab.txt'), 'utf8'));
    const bytes = readFileSync(path.join(directory, 'vectors.bin'));
    const expected = manifest.tokens * 4 + manifest.tokens * manifest.dimensions;
    if (bytes.byteLength !== expected) {
      throw new Error(
        `${directory}/vectors.bin has ${bytes.byteLength} bytes, the manifest implies ${expected}`,
      );
    }
    // Dequantise once at load: float rows make every later embedding a plain sum.
    const table = new Float32Array(manifest.tokens * manifest.dimensions);
    const rows = new Int8Array(
      bytes.buffer,
      bytes.byteOffset + manifest.tokens * 4,
      manifest.tokens * manifest.dimensions,
    );
    for (let token = 0; token < manifest.tokens; token += 1) {
      const scale = bytes.readFloatLE(token * 4);
      const offset = token * manifest.dimensions;
      for (let dimension = 0; dimension < manifest.dimensions; dimension += 1) {
        table[offset + dimension] = (rows[offset + dimension] as number) * scale;
      }
    }
    return new StaticEmbedder(manifest, table, vocabulary);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((text) => this.embedOne(text));
  }

  /** Synchronous form for callers that embed in a tight loop. */
  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    const dimensions = this.dimensions;
    const table = this.table;
    for (const id of wordPieceIds(text, this.vocabulary, MAX_TOKENS_PER_TEXT)) {
      // Four dimensions a step: each dimension still adds the rows in token order, as float32, so the
      // vector is the same bit for bit; the loop overhead is a quarter.
      const offset = id * dimensions;
      let dimension = 0;
      for (; dimension + 4 <= dimensions; dimension += 4) {
        vector[dimension] = (vector[dimension] as number) + (table[offset + dimension] as number);
        vector[dimension + 1] = (vector[dimension + 1] as number) + (table[offset + dimension + 1] as number);
        vector[dimension + 2] = (vector[dimension + 2] as number) + (table[offset + dimension + 2] as number);
        vector[dimension + 3] = (vector[dimension + 3] as number) + (table[offset + dimension + 3] as number);
      }
      for (; dimension < dimensions; dimension += 1) {
        vector[dimension] = (vector[dimension] as number) + (table[offset + dimension] as number);
      }
    }
    return normalizeVector(vector);
  }
}

let shared: StaticEmbedder | undefined;

/** The process-wide default embedder, loaded on first use (about 10 ms, 16 MB). */
export function defaultEmbedder(): StaticEmbedder {
  shared ??= StaticEmbedder.load();
  return shared;
}
