import type { Knex } from 'knex';
import type { DataClass } from '../domain/data-class';
import { ChunkIndex, type IndexedChunk, type IndexedDocument } from '../retrieval/chunk-index';
import { type Embedder, vectorFromBytes } from '../retrieval/embedder';

/** Which embedding model's vectors an index holds. */
export interface EmbeddingModelRef {
  model: string;
  version: string;
  dimensions: number;
}

/** A tenant's index, brought up to date with the change log before every search. */
export interface TenantChunkIndex {
  index: ChunkIndex;
  /** The last change-log revision applied. */
  revision: number;
}

interface RegistryEntry {
  state?: TenantChunkIndex;
  /** Serialises loading and syncing, so concurrent searches never apply the same changes twice. */
  queue: Promise<unknown>;
}

// Indexes live as long as the knex handle they were read through.
const registries = new WeakMap<Knex, Map<string, RegistryEntry>>();
const PAGE_SIZE = 2000;
const IN_LIST_SIZE = 500;

interface ChangeRow {
  revision: number | string;
  document_id: string;
  kind: 'content' | 'permissions' | 'deleted';
}

/**
 * The tenant's index for `embedder`'s model, loaded on first use and then kept current by applying the
 * tenant's change log (retrieval_changes) since the last revision it saw: one indexed read per search
 * when nothing changed. Every worker keeps its own copy; the database stays the source of truth.
 */
export async function tenantChunkIndex(
  db: Knex,
  tenantId: string,
  embedder: EmbeddingModelRef,
): Promise<TenantChunkIndex> {
  let registry = registries.get(db);
  if (!registry) {
    registry = new Map();
    registries.set(db, registry);
  }
  const key = `${tenantId}\u0000${embedder.model}\u0000${embedder.version}`;
  let entry = registry.get(key);
  if (!entry) {
    entry = { queue: Promise.resolve() };
    registry.set(key, entry);
  }
  const current = entry;
  const next = current.queue.then(async () => {
    current.state =
      current.state === undefined
        ? await loadTenant(db, tenantId, embedder)
        : await applyChanges(db, tenantId, embedder, current.state);
    return current.state;
  });
  // A failed load or sync must not poison later searches: the next one starts from the last good state.
  current.queue = next.catch(() => undefined);
  return next;
}

/** Forgets every index read through `db` (tests, or after restoring a database underneath a worker). */
export function dropChunkIndexes(db: Knex): void {
  registries.delete(db);
}

async function loadTenant(db: Knex, tenantId: string, model: EmbeddingModelRef): Promise<TenantChunkIndex> {
  // The revision is read first: anything committed later is applied by the next sync, even if this load
  // already saw part of it (putDocument replaces, so applying twice is harmless).
  const revision = await latestRevision(db, tenantId);
  const index = new ChunkIndex({ dimensions: model.dimensions });
  const documents = (await db('documents')
    .where({ tenant_id: tenantId })
    .select('id', 'classification')) as Array<{ id: string; classification: DataClass }>;
  const groups = await aclGroupsOf(db, { tenantId });
  let after = { documentId: '', ordinal: -1 };
  let pending: IndexedDocument | undefined;
  const known = new Map(documents.map((row) => [row.id, row.classification]));
  const flush = () => {
    if (pending) index.putDocument(pending);
    pending = undefined;
  };
  // Keyset pages keep memory flat however large the tenant is.
  for (;;) {
    const rows = await chunkPage(db, tenantId, after, model);
    for (const row of rows) {
      const classification = known.get(row.document_id);
      if (classification === undefined) continue;
      if (pending?.documentId !== row.document_id) {
        flush();
        pending = {
          documentId: row.document_id,
          classification,
          aclGroups: groups.get(row.document_id) ?? [],
          chunks: [],
        };
      }
      (pending.chunks as IndexedChunk[]).push(toIndexedChunk(row, model));
    }
    if (rows.length < PAGE_SIZE) break;
    const last = rows[rows.length - 1] as ChunkRow;
    after = { documentId: last.document_id, ordinal: Number(last.ordinal) };
  }
  flush();
  // Documents without chunks (empty text) still exist; nothing to index for them.
  return { index, revision };
}

async function applyChanges(
  db: Knex,
  tenantId: string,
  model: EmbeddingModelRef,
  state: TenantChunkIndex,
): Promise<TenantChunkIndex> {
  const changes = (await db('retrieval_changes')
    .where('tenant_id', tenantId)
    .andWhere('revision', '>', state.revision)
    .orderBy('revision')
    .select('revision', 'document_id', 'kind')) as ChangeRow[];
  if (changes.length === 0) return state;
  const contentChanged = new Set<string>();
  const permissionsChanged = new Set<string>();
  for (const change of changes) {
    if (change.kind === 'permissions') permissionsChanged.add(change.document_id);
    else contentChanged.add(change.document_id);
  }
  for (const documentId of contentChanged) permissionsChanged.delete(documentId);
  for (const batch of inBatches([...contentChanged], IN_LIST_SIZE)) {
    await reloadDocuments(db, model, state.index, batch);
  }
  for (const batch of inBatches([...permissionsChanged], IN_LIST_SIZE)) {
    const rows = (await db('documents').whereIn('id', batch).select('id', 'classification')) as Array<{
      id: string;
      classification: DataClass;
    }>;
    const groups = await aclGroupsOf(db, { documentIds: batch });
    const found = new Set(rows.map((row) => row.id));
    for (const row of rows) {
      if (!state.index.updatePermissions(row.id, row.classification, groups.get(row.id) ?? [])) {
        await reloadDocuments(db, model, state.index, [row.id]);
      }
    }
    for (const documentId of batch) if (!found.has(documentId)) state.index.removeDocument(documentId);
  }
  return { index: state.index, revision: Number((changes[changes.length - 1] as ChangeRow).revision) };
}

async function reloadDocuments(
  db: Knex,
  model: EmbeddingModelRef,
  index: ChunkIndex,
  ids: string[],
): Promise<void> {
  const documents = (await db('documents').whereIn('id', ids).select('id', 'classification')) as Array<{
    id: string;
    classification: DataClass;
  }>;
  const groups = await aclGroupsOf(db, { documentIds: ids });
  const chunks = await attachVectors(
    db,
    model,
    (await db('chunks as c')
      .whereIn('c.document_id', ids)
      .orderBy([{ column: 'c.document_id' }, { column: 'c.ordinal' }])
      .select('c.id', 'c.document_id', 'c.ordinal', 'c.title', 'c.text')) as ChunkRow[],
  );
  const byDocument = new Map<string, IndexedChunk[]>();
  for (const row of chunks) {
    const list = byDocument.get(row.document_id) ?? [];
    list.push(toIndexedChunk(row, model));
    byDocument.set(row.document_id, list);
  }
  for (const id of ids) index.removeDocument(id);
  for (const document of documents) {
    index.putDocument({
      documentId: document.id,
      classification: document.classification,
      aclGroups: groups.get(document.id) ?? [],
      chunks: byDocument.get(document.id) ?? [],
    });
  }
}

interface ChunkRow {
  id: string;
  document_id: string;
  ordinal: number;
  title: string;
  text: string;
  vector: Uint8Array | null;
  dimensions: number | null;
}

async function chunkPage(
  db: Knex,
  tenantId: string,
  after: { documentId: string; ordinal: number },
  model: EmbeddingModelRef,
): Promise<ChunkRow[]> {
  // Keyset pages in (document, ordinal) order, so a document's chunks arrive together and in order.
  const rows = (await db('chunks as c')
    .where('c.tenant_id', tenantId)
    // A row-value comparison, which both dialects answer from the (tenant, document, ordinal) index.
    .andWhereRaw('(c.document_id, c.ordinal) > (?, ?)', [after.documentId, after.ordinal])
    .orderBy([{ column: 'c.document_id' }, { column: 'c.ordinal' }])
    .limit(PAGE_SIZE)
    .select('c.id', 'c.document_id', 'c.ordinal', 'c.title', 'c.text')) as ChunkRow[];
  return attachVectors(db, model, rows);
}

/**
 * Adds each chunk's vector for `model`, read by document id in a second query: a join would leave the
 * plan to table statistics, and right after a bulk load PostgreSQL has none and picks a nested loop.
 */
async function attachVectors(db: Knex, model: EmbeddingModelRef, rows: ChunkRow[]): Promise<ChunkRow[]> {
  const vectors = new Map<string, { vector: Uint8Array; dimensions: number }>();
  for (const batch of inBatches([...new Set(rows.map((row) => row.document_id))], IN_LIST_SIZE)) {
    const found = (await db('chunk_embeddings')
      .whereIn('document_id', batch)
      .andWhere({ model: model.model, model_version: model.version })
      .select('chunk_id', 'vector', 'dimensions')) as Array<{
      chunk_id: string;
      vector: Uint8Array;
      dimensions: number;
    }>;
    for (const row of found) vectors.set(row.chunk_id, row);
  }
  return rows.map((row) => {
    const vector = vectors.get(row.id);
    return { ...row, vector: vector?.vector ?? null, dimensions: vector?.dimensions ?? null };
  });
}

function toIndexedChunk(row: ChunkRow, model: EmbeddingModelRef): IndexedChunk {
  const chunk: IndexedChunk = { chunkId: row.id, title: row.title, text: row.text };
  // A vector of another size under the same model and version would be a bug upstream; index it lexically.
  if (row.vector && Number(row.dimensions) === model.dimensions) {
    chunk.vector = vectorFromBytes(row.vector, model.dimensions);
  }
  return chunk;
}

async function aclGroupsOf(
  db: Knex,
  scope: { tenantId: string } | { documentIds: string[] },
): Promise<Map<string, string[]>> {
  const query = db('document_acl as a').select('a.document_id', 'a.group_name');
  if ('tenantId' in scope) {
    query.join('documents as d', 'd.id', 'a.document_id').where('d.tenant_id', scope.tenantId);
  } else {
    query.whereIn('a.document_id', scope.documentIds);
  }
  const groups = new Map<string, string[]>();
  for (const row of (await query) as Array<{ document_id: string; group_name: string }>) {
    const list = groups.get(row.document_id) ?? [];
    list.push(row.group_name);
    groups.set(row.document_id, list);
  }
  return groups;
}

async function latestRevision(db: Knex, tenantId: string): Promise<number> {
  const row = (await db('retrieval_changes')
    .where('tenant_id', tenantId)
    .max({ revision: 'revision' })
    .first()) as { revision: number | string | null } | undefined;
  return Number(row?.revision ?? 0);
}

function inBatches<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size));
  return result;
}

/** The model a search or an upsert uses when the caller names none. */
export function embeddingModelOf(embedder: Embedder): EmbeddingModelRef {
  return { model: embedder.model, version: embedder.version, dimensions: embedder.dimensions };
}
