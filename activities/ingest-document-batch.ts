import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import { FAILURE_TYPES } from '../domain/failure-types';
import type { IngestBatchInput, IngestBatchResult, IngestionOutcome } from '../domain/ingestion-contract';
import type { StagedDocument } from '../domain/staged-document';
import { chunkStructuredText } from '../retrieval/chunk-structured-text';
import { toIngestibleText } from '../retrieval/source-document';
import type { Embedder } from '../retrieval/embedder';
import { defaultEmbedder } from '../retrieval/static-embedder';
import {
  deleteDocument,
  upsertDocuments,
  type UpsertDocumentInput,
  type UpsertDocumentResult,
} from '../store/document-repository';
import {
  ingestionTotals,
  readStagedItems,
  recordItemOutcomes,
  StagedIngestionError,
  type StagedItem,
} from '../store/ingestion-repository';
import type { ActivityDependencies } from './activity-dependencies';

/** Documents written per transaction; the activity heartbeats between them. */
export const INGEST_WRITE_GROUP = 32;

function outcomeOf(result: UpsertDocumentResult): IngestionOutcome {
  if (result.change === 'content') return result.version === 1 ? 'created' : 'updated';
  return result.change === 'permissions' ? 'permissions' : 'unchanged';
}

function upsertInput(
  tenantId: string,
  document: Extract<StagedDocument, { kind: 'upsert' }>,
): UpsertDocumentInput {
  const fallbackTitle = document.externalId.replace(/^.*\//, '').replace(/\.[a-z0-9]+$/i, '');
  const { title, text } = toIngestibleText(document.content, document.format, fallbackTitle, document.title);
  return {
    tenantId,
    externalId: document.externalId,
    title,
    text,
    aclGroups: document.aclGroups,
    classification: document.classification,
    sourceUri: document.sourceUri,
    sourceVersion: document.sourceVersion,
  };
}

/**
 * Ingests staged documents [fromOrdinal, toOrdinal) of an ingestion: converts, chunks (structure-aware,
 * to the token target) and embeds new or changed ones, updates classification and ACL of unchanged ones
 * without re-embedding, deletes the deletions. Each group of documents commits together with its
 * outcome rows, so an attempt after a killed worker skips what was written and writes the rest once:
 * no chunk twice, none missing. Heartbeats between groups; a cancel stops it between groups.
 */
export function createIngestDocumentBatchActivity({
  db,
  embedder,
  tokenCounter,
}: Pick<ActivityDependencies, 'db' | 'embedder' | 'tokenCounter'>) {
  const baseEmbedder = embedder ?? defaultEmbedder();
  return async function ingestDocumentBatch(input: IngestBatchInput): Promise<IngestBatchResult> {
    const context = Context.current();
    // A remote embedder's calls are the slow part: beating before each keeps the heartbeat timeout short.
    const activeEmbedder: Embedder = {
      model: baseEmbedder.model,
      version: baseEmbedder.version,
      dimensions: baseEmbedder.dimensions,
      embed: (texts) => {
        context.heartbeat();
        return baseEmbedder.embed(texts);
      },
    };
    const ingestion = { ingestionId: input.ingestionId, tenantId: input.tenantId };
    const chunker = (text: string) =>
      chunkStructuredText(text, {
        targetTokens: input.targetTokens,
        overlapTokens: input.overlapTokens,
        countTokens: (piece) => tokenCounter.count(piece),
      });

    let alreadyIngested = 0;
    // One group of staged ordinals is read, written and committed at a time: memory stays bounded by a
    // group whatever the batch size, and a retry finds whole groups committed or not.
    for (let from = input.fromOrdinal; from < input.toOrdinal; from += INGEST_WRITE_GROUP) {
      if (context.cancellationSignal.aborted) throw new CancelledFailure('ingestion batch cancelled');
      context.heartbeat({ ordinal: from });
      const window = await readGroup(ingestion, from, Math.min(from + INGEST_WRITE_GROUP, input.toOrdinal));
      const group = window.filter((item) => item.outcome === null);
      alreadyIngested += window.length - group.length;
      if (group.length === 0) continue;
      const upserts = group.filter(
        (item): item is StagedItem & { document: Extract<StagedDocument, { kind: 'upsert' }> } =>
          item.document.kind === 'upsert',
      );
      if (upserts.length > 0) {
        await upsertDocuments(
          db,
          upserts.map((item) => upsertInput(input.tenantId, item.document)),
          {
            embedder: activeEmbedder,
            chunker,
            withinTransaction: (trx, results) =>
              recordItemOutcomes(
                trx,
                input.ingestionId,
                results.map((result, position) => ({
                  ordinal: (upserts[position] as StagedItem).ordinal,
                  outcome: outcomeOf(result),
                  chunkCount: result.chunkCount,
                  embeddedChunks: result.embeddedChunks,
                })),
              ),
          },
        );
      }
      for (const item of group) {
        if (item.document.kind !== 'delete') continue;
        await deleteDocument(db, input.tenantId, item.document.externalId, (trx, existed) =>
          recordItemOutcomes(trx, input.ingestionId, [
            {
              ordinal: item.ordinal,
              outcome: existed ? 'deleted' : 'absent',
              chunkCount: 0,
              embeddedChunks: 0,
            },
          ]),
        );
      }
    }
    if (alreadyIngested > 0) {
      log.info('ingestion batch resumed', {
        ingestionId: input.ingestionId,
        fromOrdinal: input.fromOrdinal,
        alreadyIngested,
      });
    }
    return ingestionTotals(db, input.ingestionId, input.fromOrdinal, input.toOrdinal);
  };

  async function readGroup(
    ingestion: { ingestionId: string; tenantId: string },
    from: number,
    to: number,
  ): Promise<StagedItem[]> {
    try {
      return await readStagedItems(db, ingestion, from, to);
    } catch (error) {
      if (error instanceof StagedIngestionError)
        throw ApplicationFailure.nonRetryable(error.message, FAILURE_TYPES.requestInvalid);
      throw error;
    }
  }
}
