import type { Knex } from 'knex';
import {
  emptyIngestionTotals,
  type IngestionOutcome,
  type IngestionTotals,
} from '../domain/ingestion-contract';
import { stagedDocumentSchema, type StagedDocument } from '../domain/staged-document';
import { nowIso } from './knex-client';

const INSERT_BATCH = 200;

export interface StageIngestionInput {
  ingestionId: string;
  tenantId: string;
  /** What was ingested, for operators (a directory or file path). */
  source: string;
  documents: readonly StagedDocument[];
}

export interface StagedItem {
  ordinal: number;
  document: StagedDocument;
  /** Set once the document was ingested, in the same transaction as its write. */
  outcome: IngestionOutcome | null;
}

export interface ItemOutcome {
  ordinal: number;
  outcome: IngestionOutcome;
  chunkCount: number;
  embeddedChunks: number;
}

/** Raised when staged rows are not what the ingestion expects (another tenant's, or unreadable). */
export class StagedIngestionError extends Error {
  override readonly name = 'StagedIngestionError';
}

/**
 * Stages an ingestion's documents (ordinals in the given order) in one transaction, so a workflow
 * started afterwards finds all of them or the start never happens. External ids are unique per ingestion.
 */
export async function stageIngestion(db: Knex, input: StageIngestionInput): Promise<void> {
  const seen = new Set<string>();
  for (const document of input.documents) {
    if (seen.has(document.externalId))
      throw new RangeError(`document '${document.externalId}' appears twice in one ingestion`);
    seen.add(document.externalId);
  }
  await db.transaction(async (trx) => {
    await trx('ingestions').insert({
      id: input.ingestionId,
      tenant_id: input.tenantId,
      source: input.source,
      item_count: input.documents.length,
      created_at: nowIso(),
    });
    const rows = input.documents.map((document, ordinal) => ({
      ingestion_id: input.ingestionId,
      ordinal,
      external_id: document.externalId,
      payload: JSON.stringify(document),
    }));
    for (let index = 0; index < rows.length; index += INSERT_BATCH)
      await trx('ingestion_items').insert(rows.slice(index, index + INSERT_BATCH));
  });
}

/** The staged documents with ordinals in [fromOrdinal, toOrdinal), checked to belong to `tenantId`. */
export async function readStagedItems(
  db: Knex,
  ingestion: { ingestionId: string; tenantId: string },
  fromOrdinal: number,
  toOrdinal: number,
): Promise<StagedItem[]> {
  await requireIngestion(db, ingestion);
  const rows = (await db('ingestion_items')
    .where('ingestion_id', ingestion.ingestionId)
    .andWhere('ordinal', '>=', fromOrdinal)
    .andWhere('ordinal', '<', toOrdinal)
    .orderBy('ordinal')
    .select('ordinal', 'payload', 'outcome')) as Array<{
    ordinal: number | string;
    payload: string;
    outcome: IngestionOutcome | null;
  }>;
  return rows.map((row) => {
    const parsed = stagedDocumentSchema.safeParse(JSON.parse(row.payload));
    if (!parsed.success) {
      throw new StagedIngestionError(
        `staged document ${String(row.ordinal)} of ingestion ${ingestion.ingestionId} is invalid: ${parsed.error.issues[0]?.message ?? 'unknown problem'}`,
      );
    }
    return { ordinal: Number(row.ordinal), document: parsed.data, outcome: row.outcome };
  });
}

/** Records how documents were ingested; called inside the transaction that wrote them. */
export async function recordItemOutcomes(
  trx: Knex.Transaction,
  ingestionId: string,
  outcomes: readonly ItemOutcome[],
): Promise<void> {
  for (const entry of outcomes) {
    await trx('ingestion_items').where({ ingestion_id: ingestionId, ordinal: entry.ordinal }).update({
      outcome: entry.outcome,
      chunk_count: entry.chunkCount,
      embedded_chunks: entry.embeddedChunks,
    });
  }
}

/** Totals over the recorded outcomes of ordinals [fromOrdinal, toOrdinal). */
export async function ingestionTotals(
  db: Knex,
  ingestionId: string,
  fromOrdinal: number,
  toOrdinal: number,
): Promise<{ totals: IngestionTotals; documents: number }> {
  const rows = (await db('ingestion_items')
    .where('ingestion_id', ingestionId)
    .andWhere('ordinal', '>=', fromOrdinal)
    .andWhere('ordinal', '<', toOrdinal)
    .whereNotNull('outcome')
    .groupBy('outcome')
    .select('outcome')
    .count({ documents: '*' })
    .sum({ chunks: 'chunk_count', embedded: 'embedded_chunks' })) as Array<{
    outcome: IngestionOutcome;
    documents: number | string;
    chunks: number | string | null;
    embedded: number | string | null;
  }>;
  const totals = emptyIngestionTotals();
  let documents = 0;
  for (const row of rows) {
    totals[row.outcome] += Number(row.documents);
    documents += Number(row.documents);
    if (row.outcome === 'created' || row.outcome === 'updated')
      totals.chunksWritten += Number(row.chunks ?? 0);
    totals.chunksEmbedded += Number(row.embedded ?? 0);
  }
  return { totals, documents };
}

/** External ids of every document the ingestion staged (upserts and deletions). */
export async function stagedExternalIds(
  db: Knex,
  ingestion: { ingestionId: string; tenantId: string },
): Promise<Set<string>> {
  await requireIngestion(db, ingestion);
  const rows = (await db('ingestion_items')
    .where('ingestion_id', ingestion.ingestionId)
    .select('external_id')) as Array<{ external_id: string }>;
  return new Set(rows.map((row) => row.external_id));
}

/** External ids of the tenant's documents whose source URI starts with `prefix`. */
export async function documentsUnderSource(db: Knex, tenantId: string, prefix: string): Promise<string[]> {
  const rows = (await db('documents')
    .where('tenant_id', tenantId)
    .whereRaw('substr(source_uri, 1, ?) = ?', [prefix.length, prefix])
    .orderBy('external_id')
    .select('external_id')) as Array<{ external_id: string }>;
  return rows.map((row) => row.external_id);
}

/** True while an ingestion's documents are staged (it is running, or its start failed without cleanup). */
export async function isIngestionStaged(db: Knex, ingestionId: string): Promise<boolean> {
  return (await db('ingestions').where('id', ingestionId).first('id')) !== undefined;
}

/** Removes an ingestion's staged content once it is done; true when there was something to remove. */
export async function dropIngestion(db: Knex, ingestionId: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    await trx('ingestion_items').where('ingestion_id', ingestionId).delete();
    return (await trx('ingestions').where('id', ingestionId).delete()) > 0;
  });
}

async function requireIngestion(
  db: Knex,
  ingestion: { ingestionId: string; tenantId: string },
): Promise<void> {
  const row = (await db('ingestions').where('id', ingestion.ingestionId).first('tenant_id')) as
    { tenant_id: string } | undefined;
  if (row === undefined)
    throw new StagedIngestionError(`ingestion ${ingestion.ingestionId} has no staged documents`);
  if (row.tenant_id !== ingestion.tenantId)
    throw new StagedIngestionError(`ingestion ${ingestion.ingestionId} belongs to another tenant`);
}
