import type { Knex } from 'knex';

/** What a cost report can group by, and the ledger column each one is. */
export const USAGE_DIMENSIONS = {
  tenant: 'tenant_id',
  feature: 'feature',
  task: 'task_type',
  principal: 'principal_id',
  route: 'route_id',
  model: 'model',
  prompt: 'prompt_ref',
  outcome: 'outcome',
} as const;

export type UsageDimension = keyof typeof USAGE_DIMENSIONS;

export function isUsageDimension(value: string): value is UsageDimension {
  return Object.hasOwn(USAGE_DIMENSIONS, value);
}

/** One group of ledger rows: the dimension values (null where the row had none) and the sums. */
export interface UsageGroup {
  keys: Partial<Record<UsageDimension, string | null>>;
  requests: number;
  attempts: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Integer micro-USD, summed in the database. */
  costMicroUsd: number;
}

const SUMS = {
  inputTokens: 'input_tokens',
  outputTokens: 'output_tokens',
  cacheReadTokens: 'cache_read_tokens',
  cacheWriteTokens: 'cache_write_tokens',
  costMicroUsd: 'cost_micro_usd',
} as const;

/**
 * Sums the usage ledger of the given tenants since a moment, grouped by the given dimensions, largest
 * cost first. Every attempt counts, failed ones too: the ledger is what the providers billed.
 */
export async function sumUsage(
  db: Knex,
  input: { tenantIds: string[]; since: Date; by: UsageDimension[] },
): Promise<UsageGroup[]> {
  const columns = input.by.map((dimension) => USAGE_DIMENSIONS[dimension]);
  const query = db('usage_ledger')
    .whereIn('tenant_id', input.tenantIds)
    // ISO-8601 text on SQLite, timestamptz on PostgreSQL: the same literal compares correctly on both.
    .andWhere('created_at', '>=', input.since.toISOString())
    .select(
      ...columns.map((column, index) => db.ref(column).as(`key_${index}`)),
      db.raw('COUNT(DISTINCT workflow_id) AS requests'),
      db.raw('COUNT(*) AS attempts'),
      ...Object.entries(SUMS).map(([alias, column]) => db.raw(`SUM(??) AS ??`, [column, alias])),
    )
    .orderBy('costMicroUsd', 'desc');
  if (columns.length > 0) query.groupBy(columns);
  const rows = (await query) as Record<string, unknown>[];
  return rows
    .filter((row) => Number(row.attempts) > 0)
    .map((row) => ({
      keys: Object.fromEntries(
        input.by.map((dimension, index) => {
          const value = row[`key_${index}`];
          return [dimension, value === null || value === undefined ? null : String(value)];
        }),
      ),
      requests: Number(row.requests),
      attempts: Number(row.attempts),
      inputTokens: Number(row.inputTokens ?? 0),
      outputTokens: Number(row.outputTokens ?? 0),
      cacheReadTokens: Number(row.cacheReadTokens ?? 0),
      cacheWriteTokens: Number(row.cacheWriteTokens ?? 0),
      costMicroUsd: Number(row.costMicroUsd ?? 0),
    }));
}

/** Feedback on the requests of each group: how many items, and the sum of their scores. */
export interface GroupFeedback {
  count: number;
  scoreSum: number;
}

/**
 * The feedback given on the requests each group of `sumUsage` charged, keyed by the group's dimension
 * values as JSON (in `by` order). A request whose attempts fall into two groups counts in both, as it
 * does in `requests`.
 */
export async function sumFeedbackByGroup(
  db: Knex,
  input: { tenantIds: string[]; since: Date; by: UsageDimension[] },
): Promise<Map<string, GroupFeedback>> {
  const columns = input.by.map((dimension) => USAGE_DIMENSIONS[dimension]);
  const feedback = db('request_feedback')
    .whereIn('tenant_id', input.tenantIds)
    .groupBy('workflow_id')
    .select('workflow_id', db.raw('COUNT(*) AS feedback_count'), db.raw('SUM(score) AS score_sum'))
    .as('feedback');
  const charged = db('usage_ledger')
    .whereIn('tenant_id', input.tenantIds)
    .andWhere('created_at', '>=', input.since.toISOString())
    .distinct(...columns, 'workflow_id')
    .as('charged');
  const rows = (await db
    .from(charged)
    .join(feedback, 'feedback.workflow_id', 'charged.workflow_id')
    .select(
      ...columns.map((column, index) => db.ref(`charged.${column}`).as(`key_${index}`)),
      'feedback.feedback_count',
      'feedback.score_sum',
    )) as Array<Record<string, unknown>>;
  const groups = new Map<string, GroupFeedback>();
  for (const row of rows) {
    const key = JSON.stringify(
      input.by.map((_, index) => {
        const value = row[`key_${index}`];
        return value === null || value === undefined ? null : String(value);
      }),
    );
    const group = groups.get(key) ?? { count: 0, scoreSum: 0 };
    group.count += Number(row.feedback_count);
    group.scoreSum += Number(row.score_sum);
    groups.set(key, group);
  }
  return groups;
}
