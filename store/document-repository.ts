// Long by design: the batched write path (documents, chunks, vectors, ACLs, the change log) is one transaction.
import type { Knex } from 'knex';
import { sha256Hex } from '../governance/sha256';
import { chunkTextWithOffsets, type TextChunk } from '../retrieval/chunk-text';
import { type Embedder, vectorFromBytes, vectorToBytes } from '../retrieval/embedder';
import { findInstructionSignals } from '../retrieval/instruction-signals';
import { normalizeText } from '../retrieval/normalize-text';
import { defaultEmbedder } from '../retrieval/static-embedder';
import { nowIso, serializeOn, serializeOnMany, toIsoTimestamp } from './knex-client';

export { extractSearchTerms } from '../retrieval/search-terms';

/** Ordered from least to most sensitive: a principal may read a class at or below its clearance. */
export const DATA_CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type DataClassification = (typeof DATA_CLASSIFICATIONS)[number];

/** The classifications a principal with `clearance` may read. */
export function classificationsUpTo(clearance: DataClassification): DataClassification[] {
  const rank = DATA_CLASSIFICATIONS.indexOf(clearance);
  if (rank < 0) throw new RangeError(`Unknown clearance: ${String(clearance)}`);
  return DATA_CLASSIFICATIONS.slice(0, rank + 1);
}

export interface UpsertDocumentInput {
  tenantId: string;
  externalId: string;
  title: string;
  text: string;
  aclGroups: string[];
  classification: DataClassification;
  /** Where the document came from (a file URL, a web address); metadata, changed without re-embedding. */
  sourceUri?: string;
  /** The source's own version label (a revision, a modification time); metadata like the URI. */
  sourceVersion?: string;
}

export interface UpsertDocumentResult {
  documentId: string;
  version: number;
  chunkCount: number;
  /** True when anything stored changed: content, title, classification or ACL. */
  changed: boolean;
  /** What changed: `content` (new chunks), `permissions` (classification or ACL only), or `none`. */
  change: 'content' | 'permissions' | 'none';
  /** Chunks whose vectors were computed for this write; the rest were reused or not needed. */
  embeddedChunks: number;
}

export interface UpsertOptions {
  /** Embeds new chunks; the offline default (minilm-l6-static) when omitted. */
  embedder?: Embedder;
  /**
   * Cuts a changed document's normalised text into chunks (offsets into that text); the sentence and
   * paragraph chunker by default. Documents whose content did not change are never chunked again.
   */
  chunker?: (text: string) => TextChunk[];
  /** Runs inside the write transaction with the batch's results, so a caller's bookkeeping commits with them. */
  withinTransaction?: (trx: Knex.Transaction, results: UpsertDocumentResult[]) => Promise<void>;
}

export interface DocumentSummary {
  documentId: string;
  externalId: string;
  version: number;
  title: string;
  classification: DataClassification;
  aclGroups: string[];
  sourceUri: string | null;
  sourceVersion: string | null;
  contentHash: string;
  /** Instruction-like signals ingestion found in the title or text (docs/decisions/0023); empty for prose. */
  instructionSignals: string[];
  chunkCount: number;
  createdAt: string;
  updatedAt: string;
}

interface DocumentRow {
  id: string;
  tenant_id: string;
  external_id: string;
  version: number;
  title: string;
  classification: DataClassification;
  content_hash: string;
  source_uri: string | null;
  source_version: string | null;
  instruction_signals?: string | null;
  created_at: unknown;
  updated_at: unknown;
}

const EMBED_BATCH = 64;

/** Document ids are tenant-scoped so the same external id in two tenants never collides. */
export function documentIdFor(tenantId: string, externalId: string): string {
  return `${tenantId}/${externalId}`;
}

interface PreparedChunk {
  text: string;
  start: number;
  end: number;
  contentHash: string;
}

interface PreparedDocument {
  input: UpsertDocumentInput;
  documentId: string;
  title: string;
  contentHash: string;
  aclGroups: string[];
  sourceUri: string | null;
  sourceVersion: string | null;
  /** JSON array of the instruction-like signals in the title and text. */
  instructionSignals: string;
  /** Cut on first use: only documents whose content changed are chunked. */
  readonly chunks: PreparedChunk[];
  /** Filled before the transaction for documents whose content changed. */
  vectors?: Float32Array[];
  /** How many of `vectors` were computed rather than reused. */
  embeddedChunks?: number;
}

/**
 * Stores a document's current version: the text is normalised and hashed; the version increases only
 * when the content or title changed, and then the chunks are replaced and embedded. Classification and
 * ACL are metadata and are updated in place, without re-embedding. One transaction.
 */
export async function upsertDocument(
  db: Knex,
  input: UpsertDocumentInput,
  options: UpsertOptions = {},
): Promise<UpsertDocumentResult> {
  return (await upsertDocuments(db, [input], options))[0] as UpsertDocumentResult;
}

/**
 * `upsertDocument` for a batch, in one transaction: embeddings are computed before it opens (remote
 * embedders never hold a transaction), vectors of unchanged chunk text are reused, and every change is
 * appended to the tenant's retrieval change log so searches see it on their next query.
 */
export async function upsertDocuments(
  db: Knex,
  inputs: readonly UpsertDocumentInput[],
  options: UpsertOptions = {},
): Promise<UpsertDocumentResult[]> {
  const embedder = options.embedder ?? defaultEmbedder();
  const chunker = options.chunker ?? ((text: string) => chunkTextWithOffsets(text));
  const prepared = inputs.map((input) => prepareDocument(input, chunker));
  const ids = new Set<string>();
  for (const document of prepared) {
    if (ids.has(document.documentId))
      throw new RangeError(`document ${document.documentId} appears twice in one batch`);
    ids.add(document.documentId);
  }
  const existing = new Map(
    (
      (await db('documents')
        .whereIn('id', [...ids])
        .select('id', 'content_hash', 'title')) as Array<{ id: string; content_hash: string; title: string }>
    ).map((row) => [row.id, row]),
  );
  const toEmbed = prepared.filter((document) => {
    const row = existing.get(document.documentId);
    return row === undefined || row.content_hash !== document.contentHash || row.title !== document.title;
  });
  await embedDocuments(db, embedder, toEmbed);

  const results = new Map<string, UpsertDocumentResult>();
  await db.transaction(async (trx) => {
    const written = await writeDocuments(trx, embedder, prepared);
    const changes = written
      .filter((entry) => entry.change !== undefined)
      .map((entry) => ({
        tenant_id: entry.tenantId,
        document_id: entry.result.documentId,
        kind: entry.change as string,
        changed_at: nowIso(),
      }));
    for (const entry of written) results.set(entry.result.documentId, entry.result);
    await appendChanges(trx, changes);
    await options.withinTransaction?.(
      trx,
      prepared.map((document) => results.get(document.documentId) as UpsertDocumentResult),
    );
  });
  return prepared.map((document) => results.get(document.documentId) as UpsertDocumentResult);
}

/**
 * Deletes a document with its chunks, vectors and ACL; searches stop returning it on their next query.
 * `withinTransaction` runs in the same transaction with whether the document existed.
 */
export async function deleteDocument(
  db: Knex,
  tenantId: string,
  externalId: string,
  withinTransaction?: (trx: Knex.Transaction, existed: boolean) => Promise<void>,
): Promise<boolean> {
  const documentId = documentIdFor(tenantId, externalId);
  return db.transaction(async (trx) => {
    await serializeOn(trx, 'documents', documentId);
    const deleted = await trx('documents').where({ id: documentId, tenant_id: tenantId }).delete();
    if (deleted > 0) {
      await appendChanges(trx, [
        { tenant_id: tenantId, document_id: documentId, kind: 'deleted', changed_at: nowIso() },
      ]);
    }
    await withinTransaction?.(trx, deleted > 0);
    return deleted > 0;
  });
}

function prepareDocument(
  input: UpsertDocumentInput,
  chunker: (text: string) => TextChunk[],
): PreparedDocument {
  classificationsUpTo(input.classification);
  const documentId = documentIdFor(input.tenantId, input.externalId);
  const title = normalizeText(input.title);
  const text = normalizeText(input.text);
  let chunks: PreparedChunk[] | undefined;
  return {
    input,
    documentId,
    title,
    contentHash: sha256Hex(text),
    instructionSignals: JSON.stringify(findInstructionSignals(`${title}\n${text}`)),
    aclGroups: [...new Set(input.aclGroups)].sort(),
    sourceUri: input.sourceUri ?? null,
    sourceVersion: input.sourceVersion ?? null,
    get chunks() {
      chunks ??= chunker(text).map((chunk) => ({ ...chunk, contentHash: sha256Hex(chunk.text) }));
      return chunks;
    },
  };
}

/** What a chunk's vector is computed from: the title gives every chunk its document's topic. */
function embeddingText(title: string, text: string): string {
  return `${title}\n\n${text}`;
}

async function embedDocuments(db: Knex, embedder: Embedder, documents: PreparedDocument[]): Promise<void> {
  if (documents.length === 0) return;
  // Vectors of chunks whose text (and title) did not change are reused from the previous version.
  const reusable = new Map<string, Float32Array>();
  for (const batch of batches(
    documents.map((document) => document.documentId),
    500,
  )) {
    const rows = (await db('chunks as c')
      .join('chunk_embeddings as e', 'e.chunk_id', 'c.id')
      .whereIn('c.document_id', batch)
      .andWhere({ 'e.model': embedder.model, 'e.model_version': embedder.version })
      .select('c.document_id', 'c.title', 'c.content_hash', 'e.vector', 'e.dimensions')) as Array<{
      document_id: string;
      title: string;
      content_hash: string;
      vector: Uint8Array;
      dimensions: number;
    }>;
    for (const row of rows) {
      if (Number(row.dimensions) !== embedder.dimensions) continue;
      reusable.set(
        `${row.document_id}\u0000${row.title}\u0000${row.content_hash}`,
        vectorFromBytes(row.vector, embedder.dimensions),
      );
    }
  }
  const missing: Array<{ document: PreparedDocument; index: number; text: string }> = [];
  for (const document of documents) {
    document.vectors = document.chunks.map((chunk, index) => {
      const reused = reusable.get(`${document.documentId}\u0000${document.title}\u0000${chunk.contentHash}`);
      if (reused) return reused;
      document.embeddedChunks = (document.embeddedChunks ?? 0) + 1;
      missing.push({ document, index, text: embeddingText(document.title, chunk.text) });
      return new Float32Array(0);
    });
  }
  for (const batch of batches(missing, EMBED_BATCH)) {
    const vectors = await embedder.embed(batch.map((entry) => entry.text));
    batch.forEach((entry, position) => {
      (entry.document.vectors as Float32Array[])[entry.index] = vectors[position] as Float32Array;
    });
  }
}

interface WrittenDocument {
  tenantId: string;
  result: UpsertDocumentResult;
  change?: 'content' | 'permissions';
}

/**
 * Writes a batch in a constant number of statements (per table, not per document): the documents are
 * locked, their current rows and ACLs read at once, and new rows inserted in multi-row batches. Only a
 * content or classification change of an existing document is an UPDATE of its own.
 */
async function writeDocuments(
  trx: Knex.Transaction,
  embedder: Embedder,
  documents: PreparedDocument[],
): Promise<WrittenDocument[]> {
  const ids = documents.map((document) => document.documentId);
  await serializeOnMany(trx, 'documents', ids);
  const existing = new Map<string, DocumentRow>();
  const currentAcl = new Map<string, string[]>();
  for (const batch of batches(ids, 500)) {
    for (const row of (await trx('documents').whereIn('id', batch)) as DocumentRow[])
      existing.set(row.id, row);
    const acl = (await trx('document_acl')
      .whereIn('document_id', batch)
      .orderBy([{ column: 'document_id' }, { column: 'group_name' }])
      .select('document_id', 'group_name')) as Array<{ document_id: string; group_name: string }>;
    for (const row of acl)
      currentAcl.set(row.document_id, [...(currentAcl.get(row.document_id) ?? []), row.group_name]);
  }

  const now = nowIso();
  const written: WrittenDocument[] = [];
  const newDocuments: Array<Record<string, unknown>> = [];
  const aclReplaced: string[] = [];
  const aclRows: Array<{ document_id: string; group_name: string }> = [];
  const touched: string[] = [];
  const replaced: PreparedDocument[] = [];
  const unchanged: string[] = [];
  for (const document of documents) {
    const { documentId, title, contentHash, aclGroups, input, sourceUri, sourceVersion, instructionSignals } =
      document;
    const row = existing.get(documentId);
    const contentChanged = row === undefined || row.content_hash !== contentHash || row.title !== title;
    const version = row === undefined ? 1 : contentChanged ? row.version + 1 : row.version;
    const classificationChanged = row !== undefined && row.classification !== input.classification;
    // Provenance is metadata: a new source version with the same text updates the row, nothing else.
    const sourceChanged =
      row !== undefined &&
      ((row.source_uri ?? null) !== sourceUri || (row.source_version ?? null) !== sourceVersion);
    // What a new version (or new provenance) writes, on a new row and an existing one alike.
    const current = {
      version,
      title,
      classification: input.classification,
      content_hash: contentHash,
      source_uri: sourceUri,
      source_version: sourceVersion,
      instruction_signals: instructionSignals,
      updated_at: now,
    };
    if (row === undefined) {
      newDocuments.push({
        id: documentId,
        tenant_id: input.tenantId,
        external_id: input.externalId,
        ...current,
        created_at: now,
      });
    } else if (contentChanged || classificationChanged || sourceChanged) {
      await trx('documents').where({ id: documentId }).update(current);
    }
    const aclChanged = (currentAcl.get(documentId) ?? []).join('\n') !== aclGroups.join('\n');
    if (aclChanged) {
      aclReplaced.push(documentId);
      for (const group of aclGroups) aclRows.push({ document_id: documentId, group_name: group });
      if (row !== undefined && !contentChanged && !classificationChanged && !sourceChanged)
        touched.push(documentId);
    }
    if (contentChanged) {
      replaced.push(document);
      written.push({
        tenantId: input.tenantId,
        result: {
          documentId,
          version,
          chunkCount: document.chunks.length,
          changed: true,
          change: 'content',
          embeddedChunks: 0,
        },
        change: 'content',
      });
    } else {
      const permissionsChanged = classificationChanged || aclChanged;
      unchanged.push(documentId);
      written.push({
        tenantId: input.tenantId,
        result: {
          documentId,
          version,
          chunkCount: 0,
          changed: permissionsChanged,
          change: permissionsChanged ? 'permissions' : 'none',
          embeddedChunks: 0,
        },
        change: permissionsChanged ? 'permissions' : undefined,
      });
    }
  }

  for (const batch of batches(newDocuments, 200)) await trx('documents').insert(batch);
  for (const batch of batches(touched, 500))
    await trx('documents').whereIn('id', batch).update({ updated_at: now });
  for (const batch of batches(aclReplaced, 500))
    await trx('document_acl').whereIn('document_id', batch).delete();
  for (const batch of batches(aclRows, 500)) await trx('document_acl').insert(batch);

  // The content changed after the pre-transaction read said it had not: embed now (a rare race).
  const unembedded = replaced.filter((document) => document.vectors === undefined);
  if (unembedded.length > 0) await embedDocuments(trx, embedder, unembedded);
  const chunkRows: Array<Record<string, unknown>> = [];
  const embeddingRows: Array<Record<string, unknown>> = [];
  const versions = new Map(written.map((entry) => [entry.result.documentId, entry.result.version]));
  for (const document of replaced) {
    const version = versions.get(document.documentId) as number;
    document.chunks.forEach((chunk, ordinal) => {
      const id = `${document.documentId}#${version}:${ordinal}`;
      chunkRows.push({
        id,
        tenant_id: document.input.tenantId,
        document_id: document.documentId,
        document_version: version,
        ordinal,
        title: document.title,
        text: chunk.text,
        content_hash: chunk.contentHash,
        start_offset: chunk.start,
        end_offset: chunk.end,
      });
      embeddingRows.push({
        chunk_id: id,
        model: embedder.model,
        model_version: embedder.version,
        tenant_id: document.input.tenantId,
        document_id: document.documentId,
        dimensions: embedder.dimensions,
        vector: vectorToBytes((document.vectors as Float32Array[])[ordinal] as Float32Array),
        created_at: now,
      });
    });
  }
  const previouslyStored = replaced
    .filter((document) => existing.has(document.documentId))
    .map((document) => document.documentId);
  for (const batch of batches(previouslyStored, 500))
    await trx('chunks').whereIn('document_id', batch).delete();
  for (const batch of batches(chunkRows, 300)) await trx('chunks').insert(batch);
  for (const batch of batches(embeddingRows, 300)) await trx('chunk_embeddings').insert(batch);

  const counts = new Map<string, number>();
  for (const batch of batches(unchanged, 500)) {
    const rows = (await trx('chunks')
      .whereIn('document_id', batch)
      .groupBy('document_id')
      .select('document_id')
      .count({ count: '*' })) as Array<{ document_id: string; count: number | string }>;
    for (const row of rows) counts.set(row.document_id, Number(row.count));
  }
  for (const entry of written) {
    if (entry.change !== 'content') entry.result.chunkCount = counts.get(entry.result.documentId) ?? 0;
  }
  for (const document of replaced) {
    const entry = written.find((candidate) => candidate.result.documentId === document.documentId);
    if (entry) entry.result.embeddedChunks = document.embeddedChunks ?? 0;
  }
  return written;
}

/**
 * Appends to the change log. On PostgreSQL a per-tenant lock is held from the insert to the commit, so
 * revisions become visible in revision order and a search index that has seen revision n never misses a
 * later-committed n - 1. SQLite has a single writer, which gives the same order.
 */
async function appendChanges(
  trx: Knex.Transaction,
  changes: Array<{ tenant_id: string; document_id: string; kind: string; changed_at: string }>,
): Promise<void> {
  const tenants = [...new Set(changes.map((change) => change.tenant_id))].sort();
  for (const tenantId of tenants) await serializeOn(trx, 'retrieval_changes', tenantId);
  for (const batch of batches(changes, 200)) await trx('retrieval_changes').insert(batch);
}

export async function listDocuments(db: Knex, tenantId: string): Promise<DocumentSummary[]> {
  const rows = (await db('documents as d')
    .where('d.tenant_id', tenantId)
    .select('d.*', db('chunks as c').count('*').whereRaw('c.document_id = d.id').as('chunk_count'))
    .orderBy('d.id')) as Array<DocumentRow & { chunk_count: number | string }>;
  const acl = (await db('document_acl as a')
    .join('documents as d', 'd.id', 'a.document_id')
    .where('d.tenant_id', tenantId)
    .orderBy('a.group_name')
    .select('a.document_id', 'a.group_name')) as Array<{ document_id: string; group_name: string }>;
  return rows.map((row) => ({
    documentId: row.id,
    externalId: row.external_id,
    version: row.version,
    title: row.title,
    classification: row.classification,
    aclGroups: acl.filter((entry) => entry.document_id === row.id).map((entry) => entry.group_name),
    sourceUri: row.source_uri ?? null,
    sourceVersion: row.source_version ?? null,
    contentHash: row.content_hash,
    instructionSignals: JSON.parse(row.instruction_signals ?? '[]') as string[],
    chunkCount: Number(row.chunk_count),
    createdAt: toIsoTimestamp(row.created_at),
    updatedAt: toIsoTimestamp(row.updated_at),
  }));
}

function batches<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size));
  return result;
}
