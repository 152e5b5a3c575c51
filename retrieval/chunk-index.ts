// Long by design: one in-memory index (postings, vectors, permission masks) whose parts share its arrays.
import type { DataClass } from '../domain/data-class';
import { countIndexTerms } from './search-terms';

/** A document as the index holds it: who may read it and its chunks. */
export interface IndexedDocument {
  documentId: string;
  classification: DataClass;
  aclGroups: readonly string[];
  chunks: readonly IndexedChunk[];
}

export interface IndexedChunk {
  chunkId: string;
  title: string;
  text: string;
  /** The chunk's vector from the index's embedding model; absent when not (yet) embedded with it. */
  vector?: Float32Array;
}

/** A ranked candidate: the chunk's slot in the index and its score from one signal. */
export interface ScoredSlot {
  slot: number;
  score: number;
}

export interface ChunkIndexOptions {
  dimensions: number;
  /**
   * A posting list longer than this is not scanned to find candidates; its term only adds to the scores
   * of chunks a rarer term found. This bounds a query's cost however many chunks contain "table".
   */
  maxScannedPostings?: number;
}

const CLEARANCE_RANK: Record<DataClass, number> = { public: 0, internal: 1, confidential: 2, restricted: 3 };
/**
 * BM25 parameters: term-frequency saturation `k1` and length normalisation `b` are Robertson &
 * Zaragoza's defaults; a title word counts as much as `titleWeight` body words.
 */
const BM25 = { k1: 1.2, b: 0.75, titleWeight: 2.5 } as const;
const DEFAULT_MAX_SCANNED_POSTINGS = 4096;
const MASK_CACHE_SIZE = 64;

interface Posting {
  slots: Int32Array;
  weights: Float32Array;
  length: number;
}

interface DocumentEntry {
  slot: number;
  chunkSlots: number[];
}

/**
 * An in-memory BM25 and vector index over one tenant's chunks, for one embedding model. Every search
 * takes a mask of the documents the caller may read and skips every other chunk before computing any
 * score, so a chunk the caller may not read is never scored, ranked or counted. Chunk slots are never
 * reused; removed chunks are skipped and their postings dropped when a term's list is next compacted.
 */
export class ChunkIndex {
  readonly dimensions: number;
  private readonly maxScannedPostings: number;

  // Per chunk slot.
  private chunkIds: string[] = [];
  private chunkDocumentSlot = new Int32Array(1024);
  private chunkAlive = new Uint8Array(1024);
  private chunkLength = new Float32Array(1024);
  private chunkTerms: Array<Int32Array | undefined> = [];
  private chunkTermWeights: Array<Float32Array | undefined> = [];
  private chunkHasVector = new Uint8Array(1024);
  private vectors: Float32Array;

  // Per document slot.
  private readonly documents = new Map<string, DocumentEntry>();
  private documentClearanceRank = new Int8Array(256);
  private documentGroups: Array<ReadonlySet<string> | undefined> = [];
  private documentAlive = new Uint8Array(256);
  private documentSlots = 0;

  // Per term.
  private readonly termIds = new Map<string, number>();
  private postings: Posting[] = [];
  private documentFrequency = new Int32Array(1024);
  private deadPostings = new Int32Array(1024);

  private liveChunks = 0;
  private vectorChunks = 0;
  private totalLength = 0;
  private readonly maskCache = new Map<string, Uint8Array>();

  constructor(options: ChunkIndexOptions) {
    this.dimensions = options.dimensions;
    this.maxScannedPostings = options.maxScannedPostings ?? DEFAULT_MAX_SCANNED_POSTINGS;
    this.vectors = new Float32Array(1024 * options.dimensions);
  }

  /** Chunks currently indexed. */
  get chunkCount(): number {
    return this.liveChunks;
  }

  /** Chunks indexed without a vector from this index's model (searchable lexically only). */
  get chunksWithoutVector(): number {
    return this.liveChunks - this.vectorChunks;
  }

  get documentCount(): number {
    return this.documents.size;
  }

  chunkIdAt(slot: number): string {
    const id = this.chunkIds[slot];
    if (id === undefined) throw new RangeError(`no chunk at slot ${slot}`);
    return id;
  }

  /** Adds or replaces a document with its chunks. */
  putDocument(document: IndexedDocument): void {
    this.removeDocument(document.documentId);
    const documentSlot = this.documentSlots;
    this.documentSlots += 1;
    this.ensureDocumentCapacity(this.documentSlots);
    this.documentAlive[documentSlot] = 1;
    this.setPermissions(documentSlot, document);
    const entry: DocumentEntry = { slot: documentSlot, chunkSlots: [] };
    this.documents.set(document.documentId, entry);
    for (const chunk of document.chunks) entry.chunkSlots.push(this.addChunk(documentSlot, chunk));
    this.maskCache.clear();
  }

  /** Changes who may read a document without touching its chunks. Returns false for an unknown document. */
  updatePermissions(documentId: string, classification: DataClass, aclGroups: readonly string[]): boolean {
    const entry = this.documents.get(documentId);
    if (!entry) return false;
    this.setPermissions(entry.slot, { classification, aclGroups });
    this.maskCache.clear();
    return true;
  }

  removeDocument(documentId: string): void {
    const entry = this.documents.get(documentId);
    if (!entry) return;
    for (const slot of entry.chunkSlots) this.removeChunk(slot);
    this.documentAlive[entry.slot] = 0;
    this.documentGroups[entry.slot] = undefined;
    this.documents.delete(documentId);
    this.maskCache.clear();
  }

  /**
   * Which documents a caller with `groups` and `clearance` may read, as one byte per document slot. This
   * is the permission filter of every search; cached until the next change to the index.
   */
  readableMask(groups: readonly string[], clearance: DataClass): Uint8Array {
    const rank = CLEARANCE_RANK[clearance];
    const unique = [...new Set(groups)].sort();
    const key = `${rank}\u0000${unique.join('\u0000')}`;
    const cached = this.maskCache.get(key);
    if (cached) return cached;
    const mask = new Uint8Array(this.documentSlots);
    for (let slot = 0; slot < this.documentSlots; slot += 1) {
      if (!this.documentAlive[slot] || (this.documentClearanceRank[slot] as number) > rank) continue;
      const readers = this.documentGroups[slot];
      if (readers && unique.some((group) => readers.has(group))) mask[slot] = 1;
    }
    if (this.maskCache.size >= MASK_CACHE_SIZE) this.maskCache.clear();
    this.maskCache.set(key, mask);
    return mask;
  }

  /**
   * BM25 over the readable chunks, best first. Terms whose posting list is longer than
   * `maxScannedPostings` only score chunks that a rarer term found (unless every term is that common,
   * then the rarest one is scanned), so the cost is bounded by the rare terms' lists.
   */
  searchLexical(terms: readonly string[], readable: Uint8Array, limit: number): ScoredSlot[] {
    if (limit <= 0 || this.liveChunks === 0) return [];
    const known = [...new Set(terms)]
      .map((term) => this.termIds.get(term))
      .filter((id): id is number => id !== undefined && (this.documentFrequency[id] as number) > 0)
      .sort(
        (left, right) => (this.documentFrequency[left] as number) - (this.documentFrequency[right] as number),
      );
    if (known.length === 0) return [];
    const scanned = known.filter((id) => this.postingLength(id) <= this.maxScannedPostings);
    if (scanned.length === 0) scanned.push(known[0] as number);
    const probed = known.filter((id) => !scanned.includes(id));
    const averageLength = this.totalLength / this.liveChunks;
    const scores = new Map<number, number>();
    for (const termId of scanned) {
      const idf = this.idf(termId);
      const posting = this.postings[termId] as Posting;
      for (let index = 0; index < posting.length; index += 1) {
        const slot = posting.slots[index] as number;
        if (!this.chunkAlive[slot] || !readable[this.chunkDocumentSlot[slot] as number]) continue;
        const weight = posting.weights[index] as number;
        const score = idf * this.saturate(weight, this.chunkLength[slot] as number, averageLength);
        scores.set(slot, (scores.get(slot) ?? 0) + score);
      }
    }
    for (const termId of probed) {
      const idf = this.idf(termId);
      for (const [slot, score] of scores) {
        const weight = this.termWeight(slot, termId);
        if (weight > 0) {
          scores.set(
            slot,
            score + idf * this.saturate(weight, this.chunkLength[slot] as number, averageLength),
          );
        }
      }
    }
    return topScores(scores.entries(), limit);
  }

  /** Cosine similarity (vectors are unit length) over the readable chunks that have a vector. */
  searchVector(query: Float32Array, readable: Uint8Array, limit: number): ScoredSlot[] {
    if (limit <= 0 || this.vectorChunks === 0) return [];
    if (query.length !== this.dimensions) {
      throw new RangeError(`query vector has ${query.length} dimensions, the index ${this.dimensions}`);
    }
    const dimensions = this.dimensions;
    const vectors = this.vectors;
    const best = new TopList(limit);
    const slots = this.chunkIds.length;
    for (let slot = 0; slot < slots; slot += 1) {
      if (!this.chunkHasVector[slot] || !readable[this.chunkDocumentSlot[slot] as number]) continue;
      let dot = 0;
      const offset = slot * dimensions;
      for (let dimension = 0; dimension < dimensions; dimension += 1) {
        dot += (query[dimension] as number) * (vectors[offset + dimension] as number);
      }
      best.offer(slot, dot);
    }
    return best.sorted();
  }

  private setPermissions(
    documentSlot: number,
    permissions: { classification: DataClass; aclGroups: readonly string[] },
  ): void {
    const rank = CLEARANCE_RANK[permissions.classification];
    if (rank === undefined)
      throw new RangeError(`unknown classification ${String(permissions.classification)}`);
    this.documentClearanceRank[documentSlot] = rank;
    this.documentGroups[documentSlot] = new Set(permissions.aclGroups);
  }

  private addChunk(documentSlot: number, chunk: IndexedChunk): number {
    const slot = this.chunkIds.length;
    this.ensureChunkCapacity(slot + 1);
    this.chunkIds.push(chunk.chunkId);
    this.chunkDocumentSlot[slot] = documentSlot;
    this.chunkAlive[slot] = 1;
    const counts = new Map<string, number>();
    countIndexTerms(chunk.title, counts);
    for (const term of counts.keys()) counts.set(term, (counts.get(term) as number) * BM25.titleWeight);
    countIndexTerms(chunk.text, counts);
    const termIds = new Int32Array(counts.size);
    const weights = new Float32Array(counts.size);
    let length = 0;
    const entries = [...counts.entries()].map(([term, weight]) => [this.termId(term), weight] as const);
    entries.sort((left, right) => left[0] - right[0]);
    entries.forEach(([termId, weight], index) => {
      termIds[index] = termId;
      weights[index] = weight;
      length += weight;
      this.appendPosting(termId, slot, weight);
      this.documentFrequency[termId] = (this.documentFrequency[termId] as number) + 1;
    });
    this.chunkTerms[slot] = termIds;
    this.chunkTermWeights[slot] = weights;
    this.chunkLength[slot] = length;
    this.totalLength += length;
    this.liveChunks += 1;
    if (chunk.vector) {
      if (chunk.vector.length !== this.dimensions) {
        throw new RangeError(
          `chunk ${chunk.chunkId} has a ${chunk.vector.length}-dimensional vector, the index ${this.dimensions}`,
        );
      }
      this.vectors.set(chunk.vector, slot * this.dimensions);
      this.chunkHasVector[slot] = 1;
      this.vectorChunks += 1;
    }
    return slot;
  }

  private removeChunk(slot: number): void {
    if (!this.chunkAlive[slot]) return;
    this.chunkAlive[slot] = 0;
    const termIds = this.chunkTerms[slot] as Int32Array;
    for (const termId of termIds) {
      this.documentFrequency[termId] = (this.documentFrequency[termId] as number) - 1;
      this.deadPostings[termId] = (this.deadPostings[termId] as number) + 1;
      // Compact a list once half of it is dead, so removal stays amortised O(1) per posting.
      if ((this.deadPostings[termId] as number) * 2 > (this.postings[termId] as Posting).length) {
        this.compactPosting(termId);
      }
    }
    this.chunkTerms[slot] = undefined;
    this.chunkTermWeights[slot] = undefined;
    this.totalLength -= this.chunkLength[slot] as number;
    this.liveChunks -= 1;
    if (this.chunkHasVector[slot]) {
      this.chunkHasVector[slot] = 0;
      this.vectorChunks -= 1;
    }
  }

  private termId(term: string): number {
    let id = this.termIds.get(term);
    if (id === undefined) {
      id = this.postings.length;
      this.termIds.set(term, id);
      this.postings.push({ slots: new Int32Array(4), weights: new Float32Array(4), length: 0 });
      if (id >= this.documentFrequency.length) {
        this.documentFrequency = grow(this.documentFrequency, id + 1);
        this.deadPostings = grow(this.deadPostings, id + 1);
      }
    }
    return id;
  }

  private appendPosting(termId: number, slot: number, weight: number): void {
    const posting = this.postings[termId] as Posting;
    if (posting.length === posting.slots.length) {
      posting.slots = grow(posting.slots, posting.length + 1);
      posting.weights = grow(posting.weights, posting.length + 1);
    }
    posting.slots[posting.length] = slot;
    posting.weights[posting.length] = weight;
    posting.length += 1;
  }

  private compactPosting(termId: number): void {
    const posting = this.postings[termId] as Posting;
    let kept = 0;
    for (let index = 0; index < posting.length; index += 1) {
      const slot = posting.slots[index] as number;
      if (!this.chunkAlive[slot]) continue;
      posting.slots[kept] = slot;
      posting.weights[kept] = posting.weights[index] as number;
      kept += 1;
    }
    posting.length = kept;
    this.deadPostings[termId] = 0;
  }

  private postingLength(termId: number): number {
    return (this.postings[termId] as Posting).length - (this.deadPostings[termId] as number);
  }

  private idf(termId: number): number {
    const frequency = this.documentFrequency[termId] as number;
    return Math.log(1 + (this.liveChunks - frequency + 0.5) / (frequency + 0.5));
  }

  private saturate(weight: number, length: number, averageLength: number): number {
    const { k1, b } = BM25;
    return (weight * (k1 + 1)) / (weight + k1 * (1 - b + (b * length) / averageLength));
  }

  /** The weight of `termId` in a chunk: a binary search in the chunk's sorted term list. */
  private termWeight(slot: number, termId: number): number {
    const terms = this.chunkTerms[slot];
    const weights = this.chunkTermWeights[slot];
    if (!terms || !weights) return 0;
    let low = 0;
    let high = terms.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const value = terms[middle] as number;
      if (value === termId) return weights[middle] as number;
      if (value < termId) low = middle + 1;
      else high = middle - 1;
    }
    return 0;
  }

  private ensureChunkCapacity(size: number): void {
    if (size <= this.chunkAlive.length) return;
    this.chunkDocumentSlot = grow(this.chunkDocumentSlot, size);
    this.chunkAlive = grow(this.chunkAlive, size);
    this.chunkLength = grow(this.chunkLength, size);
    this.chunkHasVector = grow(this.chunkHasVector, size);
    const vectors = new Float32Array(this.chunkAlive.length * this.dimensions);
    vectors.set(this.vectors);
    this.vectors = vectors;
  }

  private ensureDocumentCapacity(size: number): void {
    if (size <= this.documentAlive.length) return;
    this.documentAlive = grow(this.documentAlive, size);
    this.documentClearanceRank = grow(this.documentClearanceRank, size);
  }
}

type TypedArray = Int32Array | Float32Array | Uint8Array | Int8Array;

function grow<T extends TypedArray>(array: T, minimum: number): T {
  const next = new (array.constructor as new (length: number) => T)(Math.max(minimum, array.length * 2));
  next.set(array as never);
  return next;
}

/** Keeps the `limit` best (slot, score) pairs seen; ties go to the lower slot (the older chunk). */
class TopList {
  private readonly slots: number[] = [];
  private readonly scores: number[] = [];
  constructor(private readonly limit: number) {}

  offer(slot: number, score: number): void {
    const size = this.scores.length;
    if (size === this.limit && score <= (this.scores[size - 1] as number)) return;
    let position = size;
    while (position > 0 && (this.scores[position - 1] as number) < score) position -= 1;
    this.scores.splice(position, 0, score);
    this.slots.splice(position, 0, slot);
    if (this.scores.length > this.limit) {
      this.scores.pop();
      this.slots.pop();
    }
  }

  sorted(): ScoredSlot[] {
    return this.slots.map((slot, index) => ({ slot, score: this.scores[index] as number }));
  }
}

function topScores(entries: Iterable<[number, number]>, limit: number): ScoredSlot[] {
  const best = new TopList(limit);
  for (const [slot, score] of entries) best.offer(slot, score);
  return best.sorted();
}
