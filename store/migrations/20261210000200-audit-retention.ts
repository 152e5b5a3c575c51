import type { Knex } from 'knex';
import { columnTypes } from './migration-sql';

/**
 * Retention (docs/decisions/0016): `audit_retention` says up to which event a tenant's chain was pruned
 * and the hash of that event, the new start of the chain. The append-only guard then lets a DELETE
 * through only for rows at or below that point; everything after it stays undeletable. `audit verify`
 * accepts the start only where a signed checkpoint witnessed exactly that sequence number and hash.
 */
export async function up(knex: Knex): Promise<void> {
  const { postgres, timestamp } = columnTypes(knex);
  await knex.raw(`CREATE TABLE IF NOT EXISTS audit_retention (
    tenant_id TEXT PRIMARY KEY,
    pruned_through_seq INTEGER NOT NULL CHECK (pruned_through_seq > 0),
    pruned_through_hash TEXT NOT NULL,
    pruned_at ${timestamp} NOT NULL
  )`);
  if (postgres) {
    await knex.raw(`CREATE OR REPLACE FUNCTION gatehouse_audit_reject_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.seq <= COALESCE((SELECT pruned_through_seq FROM audit_retention WHERE tenant_id = OLD.tenant_id), 0) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only: DELETE is not allowed'
          USING ERRCODE = 'integrity_constraint_violation';
      END
      $$`);
    await knex.raw(`CREATE OR REPLACE TRIGGER audit_events_reject_delete
      BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION gatehouse_audit_reject_delete()`);
    return;
  }
  await knex.raw('DROP TRIGGER IF EXISTS audit_events_reject_delete');
  await knex.raw(`CREATE TRIGGER audit_events_reject_delete
    BEFORE DELETE ON audit_events
    WHEN OLD.seq > COALESCE((SELECT pruned_through_seq FROM audit_retention WHERE tenant_id = OLD.tenant_id), 0)
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE is not allowed'); END`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS audit_retention');
}
