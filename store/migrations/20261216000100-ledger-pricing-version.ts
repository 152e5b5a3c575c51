import type { Knex } from 'knex';

/**
 * The pricing catalogue version (or `route-table <version>` for a route's own price) that priced each
 * ledger row (docs/decisions/0021). Rows written before it existed keep NULL: their price is unrecorded.
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('usage_ledger', 'pricing_version'))) {
    await knex.raw('ALTER TABLE usage_ledger ADD COLUMN pricing_version TEXT NULL');
  }
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('usage_ledger', 'pricing_version')) {
    await knex.raw('ALTER TABLE usage_ledger DROP COLUMN pricing_version');
  }
}
