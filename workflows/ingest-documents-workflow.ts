import {
  ApplicationFailure,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  isCancellation,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { stepsWith } from './activity-options';
import { FAILURE_TYPES } from '../domain/failure-types';
import {
  addIngestionTotals,
  emptyIngestionTotals,
  INGESTION_PROGRESS_QUERY,
  ingestionInputProblem,
  type IngestionInput,
  type IngestionProgress,
  type IngestionResult,
} from '../domain/ingestion-contract';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attribute-keys';

export const ingestionProgressQuery = defineQuery<IngestionProgress>(INGESTION_PROGRESS_QUERY);

/**
 * A batch embeds and writes its documents in groups and heartbeats between groups and before every
 * embedding call: a dead worker is noticed within the heartbeat timeout and the retry skips what the
 * dead attempt committed.
 */
const ingestionSteps = stepsWith({
  timeout: '30m',
  heartbeat: '20s',
  attempts: 20,
  firstRetry: '1s',
  longestWait: '1m',
});

const cleanupSteps = stepsWith({
  timeout: '10m',
  heartbeat: '2m',
  attempts: 20,
  firstRetry: '1s',
  longestWait: '1m',
});

/**
 * Ingests a staged set of documents (DESIGN.md §1 "Ingestion"): batches of staged ordinals, one
 * activity each, in order; then, when asked, prunes the source's documents the set no longer holds;
 * then drops the staging. Progress is a query; a long ingestion continues as new with its totals
 * before its history grows large.
 */
export async function ingestDocumentsWorkflow(input: IngestionInput): Promise<IngestionResult> {
  try {
    return await ingest(input);
  } catch (error) {
    // Operators filter on Outcome: a run that ends any other way than continuing must not stay `running`.
    if (!(error instanceof ContinueAsNew)) {
      upsertSearchAttributes([
        { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: isCancellation(error) ? 'cancelled' : 'failed' },
      ]);
    }
    throw error;
  }
}

async function ingest(input: IngestionInput): Promise<IngestionResult> {
  const problem = ingestionInputProblem(input);
  if (problem !== undefined)
    throw ApplicationFailure.nonRetryable(`invalid ingestion: ${problem}`, FAILURE_TYPES.requestInvalid);
  const { ingestionId, tenantId, itemCount, batchSize } = input;
  const startedAt = input.resume?.startedAt ?? Date.now();
  let nextOrdinal = input.resume?.nextOrdinal ?? 0;
  let totals = input.resume?.totals ?? emptyIngestionTotals();
  let phase: IngestionProgress['phase'] = 'ingesting';
  const progress = (): IngestionProgress => ({
    ingestionId,
    tenantId,
    total: itemCount,
    done: nextOrdinal,
    batches: { done: Math.ceil(nextOrdinal / batchSize), total: Math.ceil(itemCount / batchSize) },
    totals,
    phase,
  });
  setHandler(ingestionProgressQuery, progress);
  if (input.resume === undefined) {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE_KEYS.tenantId, value: tenantId },
      { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'running' },
    ]);
  }

  while (nextOrdinal < itemCount) {
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof ingestDocumentsWorkflow>({
        ...input,
        resume: { nextOrdinal, totals, startedAt },
      });
    }
    const toOrdinal = Math.min(nextOrdinal + batchSize, itemCount);
    const batch = await ingestionSteps.ingestDocumentBatch({
      ingestionId,
      tenantId,
      fromOrdinal: nextOrdinal,
      toOrdinal,
      targetTokens: input.targetTokens,
      overlapTokens: input.overlapTokens,
    });
    if (batch.documents !== toOrdinal - nextOrdinal) {
      throw ApplicationFailure.nonRetryable(
        `ingestion ${ingestionId}: ${batch.documents} of staged documents ${nextOrdinal}-${toOrdinal - 1} were ingested`,
        FAILURE_TYPES.internal,
      );
    }
    totals = addIngestionTotals(totals, batch.totals);
    nextOrdinal = toOrdinal;
  }

  if (input.pruneSourcePrefix !== undefined) {
    phase = 'pruning';
    const { pruned } = await cleanupSteps.pruneIngestedSource({
      ingestionId,
      tenantId,
      sourcePrefix: input.pruneSourcePrefix,
    });
    totals = { ...totals, pruned };
  }
  phase = 'finishing';
  await cleanupSteps.finishIngestion({ ingestionId });
  phase = 'done';
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'succeeded' }]);
  return { ...progress(), elapsedMs: Date.now() - startedAt };
}
