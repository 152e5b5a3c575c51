import type { Knex } from 'knex';
import type { RequestFeedback } from '../domain/feedback-contract';
import { isPostgres, toIsoTimestamp } from './knex-client';
import { columnsAsFields } from './row-fields';

export type { RequestFeedback } from '../domain/feedback-contract';

interface FeedbackRow {
  id: string;
  tenant_id: string;
  workflow_id: string;
  request_id: string;
  principal_id: string;
  score: number | string;
  comment: string | null;
  route_id: string | null;
  prompt_ref: string | null;
  retrieved_document_ids: string;
  created_at: unknown;
}

function toFeedback(row: FeedbackRow): RequestFeedback {
  return {
    ...columnsAsFields(row, [
      'id',
      'tenant_id',
      'workflow_id',
      'request_id',
      'principal_id',
      'comment',
      'route_id',
      'prompt_ref',
    ]),
    score: Number(row.score),
    retrievedDocumentIds: JSON.parse(row.retrieved_document_ids) as string[],
    createdAt: toIsoTimestamp(row.created_at),
  };
}

/** A feedback id already stored with other content: never silently ignored. */
export class FeedbackConflictError extends Error {
  override readonly name = 'FeedbackConflictError';
}

/**
 * Stores one feedback item and returns it as stored. Storing the same item again (an activity retried)
 * returns the first one; a different item under the same id throws `FeedbackConflictError`.
 */
export async function recordFeedback(
  db: Knex,
  feedback: Omit<RequestFeedback, 'createdAt'> & { createdAt?: string },
): Promise<RequestFeedback> {
  const row = {
    id: feedback.id,
    tenant_id: feedback.tenantId,
    workflow_id: feedback.workflowId,
    request_id: feedback.requestId,
    principal_id: feedback.principalId,
    score: feedback.score,
    comment: feedback.comment,
    route_id: feedback.routeId,
    prompt_ref: feedback.promptRef,
    retrieved_document_ids: JSON.stringify(feedback.retrievedDocumentIds),
    created_at: feedback.createdAt ?? new Date().toISOString(),
  };
  await db('request_feedback').insert(row).onConflict('id').ignore();
  const stored = (await db('request_feedback').where({ id: feedback.id }).first()) as FeedbackRow;
  const same =
    stored.tenant_id === row.tenant_id &&
    stored.workflow_id === row.workflow_id &&
    stored.principal_id === row.principal_id &&
    Number(stored.score) === row.score &&
    stored.comment === row.comment;
  if (!same) throw new FeedbackConflictError(`feedback ${feedback.id} is already stored with other content`);
  return toFeedback(stored);
}

/** The feedback item stored under an id, if any. */
export async function findFeedback(db: Knex, id: string): Promise<RequestFeedback | undefined> {
  const row = (await db('request_feedback').where({ id }).first()) as FeedbackRow | undefined;
  return row && toFeedback(row);
}

export async function listFeedback(
  db: Knex,
  filter: { tenantIds: string[]; since?: Date; workflowId?: string },
): Promise<RequestFeedback[]> {
  const query = db('request_feedback').whereIn('tenant_id', filter.tenantIds).orderBy('created_at');
  if (filter.workflowId !== undefined) query.andWhere({ workflow_id: filter.workflowId });
  if (filter.since !== undefined) {
    query.andWhere('created_at', '>=', isPostgres(db) ? filter.since : filter.since.toISOString());
  }
  return ((await query) as FeedbackRow[]).map(toFeedback);
}
