import type { Knex } from 'knex';
import { addColumnsIfMissing, columnTypes } from './migration-sql';
import { keyIdForKeyHash } from '../../governance/caller-proof';

/**
 * Side effects attributed to the run that performed them (docs/decisions/0002): the ledger says who and
 * what each attempt served and whether its usage was measured; reservations belong to one run, one row
 * per attempt they cover, and expire; principals are found by key id, so no key hash enters history.
 */
export async function up(knex: Knex): Promise<void> {
  const { timestamp, flag } = columnTypes(knex);

  await addColumnsIfMissing(knex, 'principals', { key_id: 'TEXT NULL' });
  const principals = (await knex('principals').select('id', 'api_key_hash')) as Array<{
    id: string;
    api_key_hash: string;
  }>;
  for (const principal of principals) {
    await knex('principals')
      .where({ id: principal.id })
      .update({ key_id: keyIdForKeyHash(principal.api_key_hash) });
  }
  await knex.raw('CREATE UNIQUE INDEX IF NOT EXISTS principals_key_id_idx ON principals (key_id)');

  await addColumnsIfMissing(knex, 'usage_ledger', {
    principal_id: 'TEXT NULL',
    feature: 'TEXT NULL',
    task_type: 'TEXT NULL',
    prompt_ref: 'TEXT NULL',
    usage_estimated: flag,
  });

  await addColumnsIfMissing(knex, 'budget_reservations', {
    workflow_id: 'TEXT NULL',
    run_id: 'TEXT NULL',
    expires_at: `${timestamp} NULL`,
    overrun_micro_usd: 'BIGINT NOT NULL DEFAULT 0',
    release_reason: 'TEXT NULL',
  });
  await knex.raw(
    'CREATE INDEX IF NOT EXISTS budget_reservations_run_idx ON budget_reservations (workflow_id, run_id)',
  );
  await knex.raw(
    'CREATE INDEX IF NOT EXISTS budget_reservations_expiry_idx ON budget_reservations (state, expires_at)',
  );

  await addColumnsIfMissing(knex, 'budgets', { overrun_micro_usd: 'BIGINT NOT NULL DEFAULT 0' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS principals_key_id_idx');
  await knex.raw('DROP INDEX IF EXISTS budget_reservations_run_idx');
  await knex.raw('DROP INDEX IF EXISTS budget_reservations_expiry_idx');
}
