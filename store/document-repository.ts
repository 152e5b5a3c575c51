import { sha256Hex } from '../governance/sha256';
import type { Knex } from 'knex';
import { chunkText } from '../retrieval/chunk-text';
import { normalizeText } from '../retrieval/normalize-text';
import { isPostgres, nowIso, serializeOn, toIsoTimestamp } from './knex-client';

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
}

export interface UpsertDocumentResult {
  documentId: string;
  version: number;
  chunkCount: number;
  /** True when anything stored changed: content, title, classification or ACL. */
  changed: boolean;
}

export interface SearchChunksInput {
  tenantId: string;
  query: string;
  groups: string[];
  clearance: DataClassification;
  topK: number;
}

export interface ChunkSearchHit {
  chunkId: string;
  documentId: string;
  documentVersion: number;
  title: string;
  /** The document's classification: retrieval raises the request's effective data class to it. */
  classification: DataClassification;
  text: string;
  /** Higher is better on both dialects (negated bm25 on SQLite, ts_rank on PostgreSQL). */
  score: number;
}

export interface DocumentSummary {
  documentId: string;
  externalId: string;
  version: number;
  title: string;
  classification: DataClassification;
  aclGroups: string[];
  contentHash: string;
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
  created_at: unknown;
  updated_at: unknown;
}

const MAX_TOP_K = 100;
// A title word says what the whole document is about, so it counts more than one in the body
// (PostgreSQL gets the same effect from setweight 'A' vs 'B' in the generated tsvector).
const TITLE_WEIGHT = 2.5;
const MAX_QUERY_TERMS = 32;

// Function words that carry no topic: dropped so that "What is the refund policy?" searches for
// "refund" OR "policy" instead of matching every chunk that contains "the".
const STOP_WORDS = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each few for from further had has have ' +
    'having he her here hers herself him himself his how i if in into is it its itself just me more most ' +
    'my myself no nor not now of off on once only or other our ours ourselves out over own same she ' +
    'should so some such than that the their theirs them themselves then there these they this those ' +
    'through to too under until up very was we were what when where which while who whom why will with ' +
    'would you your yours yourself yourselves tell explain describe please'
  ).split(' '),
);

/** Document ids are tenant-scoped so the same external id in two tenants never collides. */
export function documentIdFor(tenantId: string, externalId: string): string {
  return `${tenantId}/${externalId}`;
}

/**
 * Reduces free text to distinct lowercase words (letters and digits only), minus stop words. The
 * result carries no full-text syntax, so it is safe to embed in an FTS5 or tsquery expression.
 */
export function extractSearchTerms(query: string): string[] {
  const words =
    normalizeText(query)
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms = new Set<string>();
  for (const word of words) {
    if (STOP_WORDS.has(word) || (word.length < 2 && !/\p{N}/u.test(word))) continue;
    terms.add(word);
    if (terms.size === MAX_QUERY_TERMS) break;
  }
  return [...terms];
}

/**
 * Stores a document's current version: the text is normalised and hashed; the version increases only
 * when the content or title changed, and then the chunks (and their full-text entries) are replaced.
 * Classification and ACL are metadata and are updated in place. One transaction for all of it.
 */
export async function upsertDocument(db: Knex, input: UpsertDocumentInput): Promise<UpsertDocumentResult> {
  classificationsUpTo(input.classification);
  const documentId = documentIdFor(input.tenantId, input.externalId);
  const title = normalizeText(input.title);
  const text = normalizeText(input.text);
  const contentHash = sha256Hex(text);
  const aclGroups = [...new Set(input.aclGroups)].sort();

  return db.transaction(async (trx) => {
    await serializeOn(trx, 'documents', documentId);
    const existing = (await trx<DocumentRow>('documents').where({ id: documentId }).first()) as
      DocumentRow | undefined;
    const now = nowIso();
    const contentChanged =
      existing === undefined || existing.content_hash !== contentHash || existing.title !== title;
    const version = existing === undefined ? 1 : contentChanged ? existing.version + 1 : existing.version;
    let changed = contentChanged;

    if (existing === undefined) {
      await trx('documents').insert({
        id: documentId,
        tenant_id: input.tenantId,
        external_id: input.externalId,
        version,
        title,
        classification: input.classification,
        content_hash: contentHash,
        created_at: now,
        updated_at: now,
      });
    } else if (contentChanged || existing.classification !== input.classification) {
      changed = true;
      await trx('documents').where({ id: documentId }).update({
        version,
        title,
        classification: input.classification,
        content_hash: contentHash,
        updated_at: now,
      });
    }

    const currentAcl = (
      (await trx('document_acl').where({ document_id: documentId }).orderBy('group_name')) as Array<{
        group_name: string;
      }>
    ).map((row) => row.group_name);
    if (currentAcl.join('\n') !== aclGroups.join('\n')) {
      changed = true;
      await trx('document_acl').where({ document_id: documentId }).delete();
      if (aclGroups.length > 0) {
        await trx('document_acl').insert(
          aclGroups.map((group) => ({ document_id: documentId, group_name: group })),
        );
      }
      if (existing !== undefined && !contentChanged && existing.classification === input.classification) {
        await trx('documents').where({ id: documentId }).update({ updated_at: now });
      }
    }

    if (!contentChanged) {
      const counted = (await trx('chunks')
        .where({ document_id: documentId })
        .count({ count: '*' })
        .first()) as { count: number | string } | undefined;
      return { documentId, version, chunkCount: Number(counted?.count ?? 0), changed };
    }

    const chunks = chunkText(text).map((chunk, ordinal) => ({
      id: `${documentId}#${version}:${ordinal}`,
      tenant_id: input.tenantId,
      document_id: documentId,
      document_version: version,
      ordinal,
      title,
      text: chunk,
      content_hash: sha256Hex(chunk),
    }));
    await trx('chunks').where({ document_id: documentId }).delete();
    if (!isPostgres(trx)) await trx('chunks_fts').where({ document_id: documentId }).delete();
    for (const batch of batches(chunks, 100)) {
      await trx('chunks').insert(batch);
      if (!isPostgres(trx)) {
        await trx('chunks_fts').insert(
          batch.map((chunk) => ({
            title: chunk.title,
            text: chunk.text,
            chunk_id: chunk.id,
            document_id: chunk.document_id,
            tenant_id: chunk.tenant_id,
          })),
        );
      }
    }
    return { documentId, version, chunkCount: chunks.length, changed };
  });
}

/**
 * Full-text search over the chunks the caller may read. The permission filter (tenant, at least one
 * shared ACL group, classification within clearance) sits in the same WHERE as the text match, so a
 * chunk the caller may not read is never a candidate, never ranked and never counted.
 */
export async function searchChunks(db: Knex, input: SearchChunksInput): Promise<ChunkSearchHit[]> {
  const terms = extractSearchTerms(input.query);
  const groups = [...new Set(input.groups)];
  const topK = Math.min(Math.max(Math.trunc(input.topK), 0), MAX_TOP_K);
  if (terms.length === 0 || groups.length === 0 || topK === 0) return [];
  const allowed = classificationsUpTo(input.clearance);
  const groupPlaceholders = groups.map(() => '?').join(', ');
  const classificationPlaceholders = allowed.map(() => '?').join(', ');
  const permissionFilter = `
      c.tenant_id = ?
      AND d.tenant_id = ?
      AND d.classification IN (${classificationPlaceholders})
      AND EXISTS (
        SELECT 1 FROM document_acl a
        WHERE a.document_id = d.id AND a.group_name IN (${groupPlaceholders})
      )`;
  const permissionBindings = [input.tenantId, input.tenantId, ...allowed, ...groups];

  let rows: Array<Record<string, unknown>>;
  if (isPostgres(db)) {
    // Terms are bare words, so joining them with | cannot smuggle tsquery operators in.
    const result = await db.raw(
      `SELECT c.id AS chunk_id, c.document_id, c.document_version, d.title, d.classification, c.text,
              ts_rank(c.search_vector, q.query) AS score
       FROM chunks c
       JOIN documents d ON d.id = c.document_id
       CROSS JOIN (SELECT to_tsquery('english', ?) AS query) q
       WHERE c.search_vector @@ q.query AND ${permissionFilter}
       ORDER BY score DESC, c.id
       LIMIT ?`,
      [terms.join(' | '), ...permissionBindings, topK],
    );
    rows = (result as { rows: Array<Record<string, unknown>> }).rows;
  } else {
    // Each term is quoted: FTS5 treats a quoted string as a plain phrase, never as syntax.
    const match = terms.map((term) => `"${term}"`).join(' OR ');
    rows = (await db.raw(
      `SELECT c.id AS chunk_id, c.document_id, c.document_version, d.title, d.classification, c.text,
              -bm25(chunks_fts, ${TITLE_WEIGHT}, 1.0) AS score
       FROM chunks_fts
       JOIN chunks c ON c.id = chunks_fts.chunk_id
       JOIN documents d ON d.id = c.document_id
       WHERE chunks_fts MATCH ? AND chunks_fts.tenant_id = ? AND ${permissionFilter}
       ORDER BY score DESC, c.id
       LIMIT ?`,
      [match, input.tenantId, ...permissionBindings, topK],
    )) as Array<Record<string, unknown>>;
  }
  return rows.map((row) => ({
    chunkId: String(row.chunk_id),
    documentId: String(row.document_id),
    documentVersion: Number(row.document_version),
    title: String(row.title),
    classification: row.classification as DataClassification,
    text: String(row.text),
    score: Number(row.score),
  }));
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
    contentHash: row.content_hash,
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
