import type { Knex } from 'knex';
import { addColumnsIfMissing } from './migration-sql';

/**
 * Audit rows say how their hash was made (docs/decisions/0016): rows of the first release stay
 * version 1 (unkeyed SHA-256) and keep verifying; new rows are version 2, HMAC-SHA-256 under the key
 * named in `hash_key_id`. Adding columns fires no row trigger, so the append-only guard stays as it is.
 */
export async function up(knex: Knex): Promise<void> {
  await addColumnsIfMissing(knex, 'audit_events', {
    hash_version: 'INTEGER NOT NULL DEFAULT 1',
    hash_key_id: 'TEXT NULL',
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE audit_events DROP COLUMN hash_key_id');
  await knex.raw('ALTER TABLE audit_events DROP COLUMN hash_version');
}
