import type { Knex } from 'knex';
import { isPostgres } from '../knex-client';

/**
 * API keys beside each principal's own key: several per principal, each with scopes, an expiry and a
 * revocation time, so keys can be handed out narrowly and rotated with a grace period. Raw keys are
 * never stored, only their hash; the key id (derived from the hash) is unique across tenants like the
 * principals' key ids.
 */
export async function up(knex: Knex): Promise<void> {
  const timestamp = isPostgres(knex) ? 'TIMESTAMPTZ' : 'TEXT';
  await knex.raw(`CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    principal_id TEXT NOT NULL REFERENCES principals (id),
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at ${timestamp} NULL,
    revoked_at ${timestamp} NULL,
    replaced_by TEXT NULL,
    created_at ${timestamp} NOT NULL
  )`);
  await knex.raw('CREATE INDEX IF NOT EXISTS api_keys_tenant_idx ON api_keys (tenant_id, principal_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS api_keys');
}
