import type { Knex } from 'knex';
import { isPostgres } from '../knex-client';

/**
 * Feedback on a request from its caller: a score (-1, 0 or 1) and an optional comment, with what the
 * request was served by — route, prompt version, retrieved documents — copied from its record when the
 * feedback arrives, so reports group by them without joining the audit trail. One request may collect
 * several feedback items; each is also an audit event.
 */
export async function up(knex: Knex): Promise<void> {
  const timestamp = isPostgres(knex) ? 'TIMESTAMPTZ' : 'TEXT';
  await knex.raw(`CREATE TABLE IF NOT EXISTS request_feedback (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score IN (-1, 0, 1)),
    comment TEXT NULL,
    route_id TEXT NULL,
    prompt_ref TEXT NULL,
    retrieved_document_ids TEXT NOT NULL DEFAULT '[]',
    created_at ${timestamp} NOT NULL
  )`);
  await knex.raw(
    'CREATE INDEX IF NOT EXISTS request_feedback_tenant_time_idx ON request_feedback (tenant_id, created_at)',
  );
  await knex.raw(
    'CREATE INDEX IF NOT EXISTS request_feedback_workflow_idx ON request_feedback (workflow_id)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS request_feedback');
}
