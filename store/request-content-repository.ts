import type { Knex } from 'knex';
import { isPostgres, nowIso, toSafeInteger } from './knex-client';
import { columnsAsFields } from './row-fields';

/** One stored content as the repository returns it; `sealed` is the codec's ciphertext, never plaintext. */
export interface StoredContent {
  contentId: string;
  tenantId: string;
  workflowId: string;
  /** The step that wrote it (`assemble-prompt`). */
  step: string;
  sha256: string;
  bytes: number;
  tokens: number;
  sealed: Buffer;
}

interface StoredContentRow {
  content_id: string;
  tenant_id: string;
  workflow_id: string;
  step: string;
  sha256: string;
  bytes: number | string;
  tokens: number | string;
  sealed: Buffer | Uint8Array;
}

/** A write under an existing content id with other facts: never ignored (DESIGN.md §2, idempotency). */
export class ContentConflictError extends Error {
  override readonly name = 'ContentConflictError';
}

function toStoredContent(row: StoredContentRow): StoredContent {
  return {
    ...columnsAsFields(row, ['content_id', 'tenant_id', 'workflow_id', 'step', 'sha256']),
    bytes: toSafeInteger(row.bytes),
    tokens: toSafeInteger(row.tokens),
    sealed: Buffer.from(row.sealed),
  };
}

/**
 * Writes a content once. The id is derived from the request and the plaintext's hash, so a retried or
 * reset step that renders the same text finds its row and writes nothing ('present'); a row under the
 * same id that names another tenant, request or hash is a conflict and throws.
 */
export async function putRequestContent(db: Knex, content: StoredContent): Promise<'written' | 'present'> {
  const inserted = (await db('request_contents')
    .insert({
      content_id: content.contentId,
      tenant_id: content.tenantId,
      workflow_id: content.workflowId,
      step: content.step,
      sha256: content.sha256,
      bytes: content.bytes,
      tokens: content.tokens,
      sealed: content.sealed,
      created_at: nowIso(),
    })
    .onConflict('content_id')
    .ignore()
    .returning('content_id')) as unknown[];
  if (inserted.length > 0) return 'written';
  const existing = await getRequestContent(db, content.contentId);
  if (
    existing === undefined ||
    existing.tenantId !== content.tenantId ||
    existing.workflowId !== content.workflowId ||
    existing.sha256 !== content.sha256 ||
    existing.bytes !== content.bytes
  ) {
    throw new ContentConflictError(
      `content '${content.contentId}' is already stored with other facts (tenant, request or hash differ); refusing to overwrite it`,
    );
  }
  return 'present';
}

export async function getRequestContent(db: Knex, contentId: string): Promise<StoredContent | undefined> {
  const row = (await db('request_contents').where({ content_id: contentId }).first()) as
    StoredContentRow | undefined;
  return row === undefined ? undefined : toStoredContent(row);
}

/** Retention: deletes the tenant's contents written before `before`; returns how many went. */
export async function deleteRequestContentsBefore(db: Knex, tenantId: string, before: Date): Promise<number> {
  const deleted: number = await db('request_contents')
    .where({ tenant_id: tenantId })
    .andWhere('created_at', '<', isPostgres(db) ? before : before.toISOString())
    .delete();
  return deleted;
}
