import type { Knex } from 'knex';

/**
 * The prompt registry: a version may carry its variables' description (JSON, checked before rendering),
 * and the `canary` label carries the share of `production` traffic it takes. Adding columns fires no row
 * trigger, so published versions stay immutable.
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('prompt_templates', 'variables_schema'))) {
    await knex.raw('ALTER TABLE prompt_templates ADD COLUMN variables_schema TEXT NULL');
  }
  if (!(await knex.schema.hasColumn('prompt_labels', 'canary_percent'))) {
    await knex.raw(
      'ALTER TABLE prompt_labels ADD COLUMN canary_percent INTEGER NULL CHECK (canary_percent BETWEEN 0 AND 100)',
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE prompt_labels DROP COLUMN canary_percent');
  await knex.raw('ALTER TABLE prompt_templates DROP COLUMN variables_schema');
}
