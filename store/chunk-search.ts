// Long by design: one search path (index sync, permission mask, candidates, the permission-filtered read, ranking) kept together so both permission checks are read side by side.
import type { Knex } from 'knex';
import type { ScoredSlot } from '../retrieval/chunk-index';
import type { Embedder } from '../retrieval/embedder';
import {
  fitToTokenBudget,
  fuseByReciprocalRank,
  removeNearDuplicates,
  RRF_K,
  splitSentencesForRanking,
} from '../retrieval/hybrid-ranking';
import { normalizeText } from '../retrieval/normalize-text';
import { queryTerms } from '../retrieval/search-terms';
import { defaultEmbedder } from '../retrieval/static-embedder';
import { embeddingModelOf, tenantChunkIndex } from './chunk-index-registry';
import { classificationsUpTo, type DataClassification } from './document-repository';

const MAX_TOP_K = 100;
// Each signal contributes this many candidates (at least) to fusion.
const CANDIDATES_PER_SIGNAL = 50;
const CHARS_PER_TOKEN = 4;

export type SearchMode = 'lexical' | 'vector' | 'hybrid';

export interface SearchChunksInput {
  tenantId: string;
  query: string;
  groups: string[];
  clearance: DataClassification;
  topK: number;
  /** `hybrid` (default): BM25 and vector candidates fused by reciprocal rank. */
  mode?: SearchMode;
  /**
   * Re-rank the fused candidates by their best-matching sentence (default false: on the evaluation set it
   * moved no question into the top 5 and costs ~8 ms; see decision record 0015).
   */
  rerank?: boolean;
  /** Drop hits that repeat a better hit's text (default true). */
  removeDuplicates?: boolean;
  /** Keep only as many hits as fit in this many tokens (estimated at 4 characters a token). */
  contextTokenBudget?: number;
}

export interface SearchOptions {
  /** Embeds the query; must be the model the chunks were embedded with (default minilm-l6-static). */
  embedder?: Embedder;
}

/** How a hit was ranked: each signal's score and 1-based rank where it found the chunk. */
export interface ScoreComponents {
  lexical?: number;
  lexicalRank?: number;
  vector?: number;
  vectorRank?: number;
  sentence?: number;
  sentenceRank?: number;
  /** Reciprocal-rank fusion of the ranks above: the order hits are returned in. */
  fused: number;
}

export interface ChunkSearchHit {
  chunkId: string;
  documentId: string;
  documentVersion: number;
  title: string;
  /** The document's classification: retrieval raises the request's effective data class to it. */
  classification: DataClassification;
  text: string;
  /** Where the document came from, quoted with the text as its provenance. */
  sourceUri: string | null;
  /** Instruction-like signals ingestion found in the document (docs/decisions/0023). */
  instructionSignals: string[];
  /** Offsets of the chunk in the document's normalised text (null for chunks stored before offsets were). */
  startOffset: number | null;
  endOffset: number | null;
  /** Higher is better: the fused score in hybrid mode, else the single signal's score. */
  score: number;
  scores: ScoreComponents;
}

export interface SearchChunksResult {
  hits: ChunkSearchHit[];
  /** The embedding model and version the vector side used. */
  embeddingModel: string;
  embeddingVersion: string;
  /** Readable-or-not chunks of the tenant without a vector from that model: found lexically only. */
  staleChunks: number;
  /**
   * The ranking used: the one asked for, except that `vector` ranks hybrid while some chunks have no
   * vector from the search model (a tenant part-way through re-embedding), so those stay findable.
   */
  mode: SearchMode;
  lexicalCandidates: number;
  vectorCandidates: number;
  /** Where the time went: index sync, BM25, query embedding + vector scan, reading hits, then re-rank/dedupe/budget. */
  timingsMs: { sync: number; lexical: number; vector: number; fetch: number; rank: number };
}

/**
 * Searches the chunks the caller may read: BM25 and vector similarity, fused by reciprocal rank,
 * optionally re-ranked by each candidate's best sentence, near duplicates dropped. The permission filter (tenant,
 * a shared ACL group, classification within clearance) is applied before any chunk is scored, and again
 * in the query that reads the hits, so a document revoked a moment ago is not returned either.
 */
export async function searchChunks(
  db: Knex,
  input: SearchChunksInput,
  options: SearchOptions = {},
): Promise<ChunkSearchHit[]> {
  return (await searchChunksDetailed(db, input, options)).hits;
}

/** `searchChunks` with what a benchmark or an operator wants to know: stale chunks, timings, candidates. */
export async function searchChunksDetailed(
  db: Knex,
  input: SearchChunksInput,
  options: SearchOptions = {},
): Promise<SearchChunksResult> {
  const embedder = options.embedder ?? defaultEmbedder();
  const asked = input.mode ?? 'hybrid';
  const timingsMs = { sync: 0, lexical: 0, vector: 0, fetch: 0, rank: 0 };
  const empty: SearchChunksResult = {
    hits: [],
    embeddingModel: embedder.model,
    embeddingVersion: embedder.version,
    staleChunks: 0,
    mode: asked,
    lexicalCandidates: 0,
    vectorCandidates: 0,
    timingsMs,
  };
  const allowed = classificationsUpTo(input.clearance);
  const terms = queryTerms(input.query);
  const groups = [...new Set(input.groups)];
  const topK = Math.min(Math.max(Math.trunc(input.topK), 0), MAX_TOP_K);
  const queryText = normalizeText(input.query);
  const hasQuery = asked === 'lexical' ? terms.length > 0 : queryText !== '';
  if (!hasQuery || groups.length === 0 || topK === 0) return empty;

  let started = performance.now();
  const { index } = await tenantChunkIndex(db, input.tenantId, embeddingModelOf(embedder));
  timingsMs.sync = performance.now() - started;
  const mode: SearchMode = asked === 'vector' && index.chunksWithoutVector > 0 ? 'hybrid' : asked;
  const readable = index.readableMask(groups, input.clearance);
  const perSignal = Math.max(CANDIDATES_PER_SIGNAL, topK * 2);

  started = performance.now();
  const lexical = mode === 'vector' ? [] : index.searchLexical(terms, readable, perSignal);
  timingsMs.lexical = performance.now() - started;
  started = performance.now();
  let vector: ScoredSlot[] = [];
  if (mode !== 'lexical') {
    const [queryVector] = await embedder.embed([queryText]);
    vector = index.searchVector(queryVector as Float32Array, readable, perSignal);
  }
  timingsMs.vector = performance.now() - started;

  const lists = [
    { name: 'lexical', scored: lexical },
    { name: 'vector', scored: vector },
  ].filter((list) => list.scored.length > 0);
  const signalScores = new Map<string, Partial<ScoreComponents>>();
  for (const list of lists) {
    list.scored.forEach((entry, position) => {
      const chunkId = index.chunkIdAt(entry.slot);
      const components = signalScores.get(chunkId) ?? {};
      if (list.name === 'lexical')
        Object.assign(components, { lexical: entry.score, lexicalRank: position + 1 });
      else Object.assign(components, { vector: entry.score, vectorRank: position + 1 });
      signalScores.set(chunkId, components);
    });
  }
  let fused = fuseByReciprocalRank(
    lists.map((list) => ({ name: list.name, keys: list.scored.map((entry) => index.chunkIdAt(entry.slot)) })),
  );
  const rerank = input.rerank ?? false;
  // Fetch enough for re-ranking and for duplicates to be dropped without leaving the list short.
  fused = fused.slice(0, rerank ? perSignal : topK * 2);

  started = performance.now();
  const rows = await readableChunks(
    db,
    input.tenantId,
    allowed,
    groups,
    fused.map((candidate) => candidate.key),
  );
  timingsMs.fetch = performance.now() - started;

  started = performance.now();
  let ranked = fused
    .filter((candidate) => rows.has(candidate.key))
    .map((candidate) => ({
      candidate,
      row: rows.get(candidate.key) as HitRow,
      scores: { ...signalScores.get(candidate.key), fused: candidate.fused } as ScoreComponents,
    }));
  if (rerank && ranked.length > 1 && mode !== 'lexical') {
    ranked = await rerankBySentence(embedder, queryText, ranked);
  }
  if (input.removeDuplicates ?? true) ranked = removeNearDuplicates(ranked, (entry) => entry.row.text);
  ranked = ranked.slice(0, topK);
  if (input.contextTokenBudget !== undefined) {
    ranked = fitToTokenBudget(
      ranked,
      (entry) => Math.ceil(entry.row.text.length / CHARS_PER_TOKEN),
      input.contextTokenBudget,
    );
  }
  timingsMs.rank = performance.now() - started;

  const hits = ranked.map(({ row, scores }) => ({
    chunkId: row.chunk_id,
    documentId: row.document_id,
    documentVersion: Number(row.document_version),
    title: row.title,
    text: row.text,
    classification: row.classification,
    sourceUri: row.source_uri,
    instructionSignals: row.instruction_signals,
    startOffset: row.start_offset === null ? null : Number(row.start_offset),
    endOffset: row.end_offset === null ? null : Number(row.end_offset),
    score:
      mode === 'hybrid'
        ? scores.fused
        : ((mode === 'lexical' ? scores.lexical : scores.vector) ?? scores.fused),
    scores,
  }));
  return {
    ...empty,
    hits,
    staleChunks: index.chunksWithoutVector,
    mode,
    lexicalCandidates: lexical.length,
    vectorCandidates: vector.length,
  };
}

interface HitRow {
  chunk_id: string;
  document_id: string;
  document_version: number;
  title: string;
  text: string;
  classification: DataClassification;
  source_uri: string | null;
  instruction_signals: string[];
  start_offset: number | null;
  end_offset: number | null;
}

/**
 * Reads candidate chunks through the same permission filter the index applied. Two primary-key reads
 * rather than one join: with the tenant's equality also in the WHERE, SQLite (which keeps no statistics
 * unless ANALYZE runs) walked every chunk of the tenant instead of looking up the twenty it was asked for.
 */
async function readableChunks(
  db: Knex,
  tenantId: string,
  allowed: DataClassification[],
  groups: string[],
  chunkIds: string[],
): Promise<Map<string, HitRow>> {
  if (chunkIds.length === 0) return new Map();
  const chunks = (await db('chunks')
    .whereIn('id', chunkIds)
    .select(
      'id',
      'tenant_id',
      'document_id',
      'document_version',
      'text',
      'start_offset',
      'end_offset',
    )) as Array<{
    id: string;
    tenant_id: string;
    document_id: string;
    document_version: number;
    text: string;
    start_offset: number | null;
    end_offset: number | null;
  }>;
  const ownChunks = chunks.filter((chunk) => chunk.tenant_id === tenantId);
  if (ownChunks.length === 0) return new Map();
  const documents = (await db('documents as d')
    .whereIn('d.id', [...new Set(ownChunks.map((chunk) => chunk.document_id))])
    .andWhere('d.tenant_id', tenantId)
    .whereIn('d.classification', allowed)
    .whereExists((acl) =>
      acl
        .select(db.raw('1'))
        .from('document_acl as a')
        .whereRaw('a.document_id = d.id')
        .whereIn('a.group_name', groups),
    )
    .select('d.id', 'd.title', 'd.classification', 'd.source_uri', 'd.instruction_signals')) as Array<{
    id: string;
    title: string;
    classification: DataClassification;
    source_uri: string | null;
    instruction_signals: string | null;
  }>;
  const readable = new Map(documents.map((document) => [document.id, document]));
  const rows = new Map<string, HitRow>();
  for (const chunk of ownChunks) {
    const document = readable.get(chunk.document_id);
    if (!document) continue;
    rows.set(chunk.id, {
      chunk_id: chunk.id,
      document_id: chunk.document_id,
      document_version: chunk.document_version,
      title: document.title,
      text: chunk.text,
      classification: document.classification,
      source_uri: document.source_uri ?? null,
      instruction_signals: JSON.parse(document.instruction_signals ?? '[]') as string[],
      start_offset: chunk.start_offset,
      end_offset: chunk.end_offset,
    });
  }
  return rows;
}

/**
 * A chunk's vector averages all of its sentences; the one sentence that answers the question is diluted.
 * This scores each candidate by its best sentence and fuses that ranking in as a third list.
 */
async function rerankBySentence<
  T extends { candidate: { key: string; fused: number }; row: HitRow; scores: ScoreComponents },
>(embedder: Embedder, query: string, ranked: T[]): Promise<T[]> {
  const sentences = ranked.map((entry) => splitSentencesForRanking(entry.row.text));
  const flat = sentences.flat();
  const [queryVector, ...sentenceVectors] = await embedder.embed([query, ...flat]);
  let offset = 0;
  const best = sentences.map((list) => {
    let top = -1;
    for (let index = 0; index < list.length; index += 1) {
      top = Math.max(top, dot(queryVector as Float32Array, sentenceVectors[offset + index] as Float32Array));
    }
    offset += list.length;
    return top;
  });
  const order = ranked
    .map((_, index) => index)
    .sort((left, right) => (best[right] as number) - (best[left] as number));
  const sentenceRank = new Map(order.map((index, position) => [index, position + 1]));
  const rescored = ranked.map((entry, index) => {
    const rank = sentenceRank.get(index) as number;
    const scores = {
      ...entry.scores,
      sentence: best[index] as number,
      sentenceRank: rank,
      fused: entry.scores.fused + 1 / (RRF_K + rank),
    };
    return { ...entry, scores };
  });
  return rescored.sort((left, right) => right.scores.fused - left.scores.fused);
}

function dot(left: Float32Array, right: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < left.length; index += 1)
    sum += (left[index] as number) * (right[index] as number);
  return sum;
}
