/**
 * The contract of `ingestDocumentsWorkflow`. Documents never travel through its history: the client
 * stages them in the store under an ingestion id, and the workflow hands activities ordinal ranges of
 * that staging (ids and counts only, a few hundred bytes per batch whatever the documents' size).
 * Plain types and a hand-written check: the workflow imports this module, and it stays light.
 */

export const INGESTION_PROGRESS_QUERY = 'ingestionProgress';
export const DEFAULT_INGESTION_BATCH_SIZE = 128;
export const MAX_INGESTION_BATCH_SIZE = 500;
/** The longest document ingestion accepts, in characters: larger files are split before ingesting. */
export const MAX_DOCUMENT_CHARS = 2_000_000;

/** How a staged document was ingested; recorded with the document in one transaction. */
export const INGESTION_OUTCOMES = [
  'created',
  'updated',
  'permissions',
  'unchanged',
  'deleted',
  'absent',
] as const;
export type IngestionOutcome = (typeof INGESTION_OUTCOMES)[number];

export interface IngestionInput {
  ingestionId: string;
  tenantId: string;
  /** Staged documents, ordinals 0 … itemCount - 1. */
  itemCount: number;
  batchSize: number;
  /** Chunking: token target and overlap per chunk. */
  targetTokens?: number;
  overlapTokens?: number;
  /**
   * Delete the tenant's documents whose source URI starts with this prefix and that the ingestion did not
   * stage (files removed from a directory since the last ingestion).
   */
  pruneSourcePrefix?: string;
  /** Where a continued run picks up: the next ordinal and the totals so far. */
  resume?: { nextOrdinal: number; totals: IngestionTotals; startedAt: number };
}

/** Counts of documents by outcome, and of chunks written and embedded. */
export interface IngestionTotals {
  created: number;
  updated: number;
  permissions: number;
  unchanged: number;
  deleted: number;
  /** Deletions of documents that did not exist: nothing to do. */
  absent: number;
  /** Chunks written for new or changed documents. */
  chunksWritten: number;
  /** Chunks whose vectors were computed (not reused from the document's previous version). */
  chunksEmbedded: number;
  /** Documents deleted because their source no longer has them (`pruneSourcePrefix`). */
  pruned: number;
}

export interface IngestionProgress {
  ingestionId: string;
  tenantId: string;
  total: number;
  /** Documents ingested so far (any outcome). */
  done: number;
  batches: { done: number; total: number };
  totals: IngestionTotals;
  phase: 'ingesting' | 'pruning' | 'finishing' | 'done';
}

export interface IngestionResult extends IngestionProgress {
  /** Wall time of the ingestion (all runs), from the workflow's clock. */
  elapsedMs: number;
}

/** What one batch activity is asked to do: staged ordinals [fromOrdinal, toOrdinal). */
export interface IngestBatchInput {
  ingestionId: string;
  tenantId: string;
  fromOrdinal: number;
  toOrdinal: number;
  targetTokens?: number;
  overlapTokens?: number;
}

export interface IngestBatchResult {
  /** Outcomes of the range's documents, including those a killed earlier attempt already ingested. */
  totals: IngestionTotals;
  documents: number;
}

export function emptyIngestionTotals(): IngestionTotals {
  return {
    created: 0,
    updated: 0,
    permissions: 0,
    unchanged: 0,
    deleted: 0,
    absent: 0,
    chunksWritten: 0,
    chunksEmbedded: 0,
    pruned: 0,
  };
}

export function addIngestionTotals(left: IngestionTotals, right: IngestionTotals): IngestionTotals {
  const sum = emptyIngestionTotals();
  for (const key of Object.keys(sum) as Array<keyof IngestionTotals>) sum[key] = left[key] + right[key];
  return sum;
}

/** `gatehouse-ingest/<tenant>/<ingestion id>`: one workflow per ingestion; the tenant is part of the id. */
export function ingestionWorkflowId(tenantId: string, ingestionId: string): string {
  return `gatehouse-ingest/${tenantId}/${ingestionId}`;
}

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;
const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The first problem with an ingestion input, or undefined when it is well formed. */
export function ingestionInputProblem(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return 'the input must be an object';
  const value = input as Partial<Record<keyof IngestionInput, unknown>>;
  if (typeof value.ingestionId !== 'string' || !ID_PATTERN.test(value.ingestionId))
    return 'ingestionId: 1-100 letters, digits, dots, dashes, colons or underscores';
  if (typeof value.tenantId !== 'string' || !TENANT_PATTERN.test(value.tenantId))
    return 'tenantId: 1-63 lower-case letters, digits and dashes';
  if (!isWhole(value.itemCount, 0)) return 'itemCount: a whole number ≥ 0';
  if (!isWhole(value.batchSize, 1) || (value.batchSize as number) > MAX_INGESTION_BATCH_SIZE)
    return `batchSize: a whole number from 1 to ${MAX_INGESTION_BATCH_SIZE}`;
  if (value.targetTokens !== undefined && !isWhole(value.targetTokens, 16))
    return 'targetTokens: a whole number ≥ 16';
  if (value.overlapTokens !== undefined && !isWhole(value.overlapTokens, 0))
    return 'overlapTokens: a whole number ≥ 0';
  if (
    value.pruneSourcePrefix !== undefined &&
    (typeof value.pruneSourcePrefix !== 'string' || value.pruneSourcePrefix === '')
  )
    return 'pruneSourcePrefix: a non-empty string';
  return undefined;
}

function isWhole(value: unknown, minimum: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= minimum;
}
