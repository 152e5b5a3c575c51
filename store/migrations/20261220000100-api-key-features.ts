import type { Knex } from 'knex';
import { addColumnsIfMissing } from './migration-sql';

/**
 * The features an API key is bound to (docs/decisions/0029): a JSON array of feature names, NULL for an
 * unbound key. Every key made before it is unbound, and its attested content hash stays what it was.
 */
export async function up(knex: Knex): Promise<void> {
  await addColumnsIfMissing(knex, 'api_keys', { features: 'TEXT NULL' });
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('api_keys', 'features')) {
    await knex.raw('ALTER TABLE api_keys DROP COLUMN features');
  }
}
