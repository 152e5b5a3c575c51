/**
 * Turns texts into vectors for similarity search. Every implementation names its model and version;
 * each stored chunk vector carries both, so vectors from different models are never compared.
 */
export interface Embedder {
  /** Stable model name, e.g. `minilm-l6-static`, `amazon.titan-embed-text-v2:0`. */
  readonly model: string;
  /** Bumped whenever the same model name would produce different vectors (settings, dimensions). */
  readonly version: string;
  readonly dimensions: number;
  /** One unit-length vector per text, in input order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** Scales a vector to unit length in place (a zero vector stays zero) and returns it. */
export function normalizeVector(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let index = 0; index < vector.length; index += 1) sum += (vector[index] as number) ** 2;
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  for (let index = 0; index < vector.length; index += 1) vector[index] = (vector[index] as number) * scale;
  return vector;
}

/** Raised when an embedding service answers with something that is not the vectors asked for. */
export class EmbeddingError extends Error {
  override readonly name = 'EmbeddingError';
}

/** Checks what an embedder returned: one finite vector of the declared size per text. */
export function checkEmbeddings(embedder: Embedder, texts: readonly string[], vectors: Float32Array[]): void {
  if (vectors.length !== texts.length) {
    throw new EmbeddingError(
      `${embedder.model} returned ${vectors.length} vectors for ${texts.length} texts`,
    );
  }
  for (const vector of vectors) {
    if (vector.length !== embedder.dimensions) {
      throw new EmbeddingError(
        `${embedder.model} returned a ${vector.length}-dimensional vector, expected ${embedder.dimensions}`,
      );
    }
    if (!vector.every(Number.isFinite))
      throw new EmbeddingError(`${embedder.model} returned a non-finite value`);
  }
}

/** Vectors travel to and from the database as little-endian float32 bytes. */
export function vectorToBytes(vector: Float32Array): Buffer {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index += 1)
    bytes.writeFloatLE(vector[index] as number, index * 4);
  return bytes;
}

export function vectorFromBytes(bytes: Uint8Array, dimensions: number): Float32Array {
  if (bytes.byteLength !== dimensions * 4) {
    throw new EmbeddingError(`stored vector has ${bytes.byteLength} bytes, expected ${dimensions * 4}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(dimensions);
  for (let index = 0; index < dimensions; index += 1) vector[index] = view.getFloat32(index * 4, true);
  return vector;
}
