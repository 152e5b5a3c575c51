import type { Knex } from 'knex';
import { nowIso, toIsoTimestamp, toSafeInteger } from './knex-client';

/** A tenant's limits per UTC minute; null means no limit of that kind. */
export interface TenantRateLimit {
  tenantId: string;
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
}

export interface StoredTenantRateLimit extends TenantRateLimit {
  author: string;
  updatedAt: string;
}

export type RateCheck =
  | {
      limited: false;
      /** The tenant has a rate limit, so an admitted request must be counted. */ applies: boolean;
    }
  | {
      limited: true;
      reason: string;
      /** Until the next minute opens. */
      retryAfterMs: number;
    };

interface LimitRow {
  tenant_id: string;
  requests_per_minute: number | string | null;
  tokens_per_minute: number | string | null;
  author: string;
  updated_at: unknown;
}

const MINUTE_MS = 60_000;

/** The fixed window `at` falls in: its UTC minute, `2026-12-02T17:31`. */
export function rateWindowOf(at: Date): string {
  return at.toISOString().slice(0, 16);
}

export async function putTenantRateLimit(
  db: Knex,
  limit: TenantRateLimit & { author: string },
): Promise<void> {
  for (const value of [limit.requestsPerMinute, limit.tokensPerMinute]) {
    if (value !== null && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new RangeError(`a rate limit must be a positive integer, got ${value}`);
    }
  }
  await db('tenant_rate_limits')
    .insert({
      tenant_id: limit.tenantId,
      requests_per_minute: limit.requestsPerMinute,
      tokens_per_minute: limit.tokensPerMinute,
      author: limit.author,
      updated_at: nowIso(),
    })
    .onConflict('tenant_id')
    .merge(['requests_per_minute', 'tokens_per_minute', 'author', 'updated_at']);
}

export async function getTenantRateLimit(
  db: Knex,
  tenantId: string,
): Promise<StoredTenantRateLimit | undefined> {
  const row = (await db<LimitRow>('tenant_rate_limits').where({ tenant_id: tenantId }).first()) as
    LimitRow | undefined;
  if (row === undefined) return undefined;
  const optional = (value: number | string | null) => (value === null ? null : toSafeInteger(value));
  return {
    tenantId: row.tenant_id,
    requestsPerMinute: optional(row.requests_per_minute),
    tokensPerMinute: optional(row.tokens_per_minute),
    author: row.author,
    updatedAt: toIsoTimestamp(row.updated_at),
  };
}

/** Requests and tokens counted in the tenant's window of `at`. */
export async function rateWindowUsage(
  db: Knex,
  tenantId: string,
  at: Date,
): Promise<{ window: string; requests: number; tokens: number }> {
  const window = rateWindowOf(at);
  const row = (await db('tenant_rate_windows').where({ tenant_id: tenantId, minute: window }).first()) as
    { requests: number | string; tokens: number | string } | undefined;
  return {
    window,
    requests: row === undefined ? 0 : toSafeInteger(row.requests),
    tokens: row === undefined ? 0 : toSafeInteger(row.tokens),
  };
}

/**
 * Whether one more request of `tokens` fits the tenant's current minute. Call it in a transaction that
 * holds the tenant's budget lock, and `countRequest` in the same one once the request is admitted:
 * the check and the count are then one step for every process.
 */
export async function checkRateLimit(
  trx: Knex.Transaction,
  tenantId: string,
  at: Date,
  tokens: number,
): Promise<RateCheck> {
  const limit = await getTenantRateLimit(trx, tenantId);
  if (limit === undefined) return { limited: false, applies: false };
  const usage = await rateWindowUsage(trx, tenantId, at);
  const retryAfterMs = MINUTE_MS - (at.getTime() % MINUTE_MS);
  if (limit.requestsPerMinute !== null && usage.requests + 1 > limit.requestsPerMinute) {
    return {
      limited: true,
      retryAfterMs,
      reason: `tenant ${tenantId} is limited to ${limit.requestsPerMinute} requests per minute (${usage.requests} in ${usage.window})`,
    };
  }
  if (limit.tokensPerMinute !== null && usage.tokens + tokens > limit.tokensPerMinute) {
    return {
      limited: true,
      retryAfterMs,
      reason: `tenant ${tenantId} is limited to ${limit.tokensPerMinute} tokens per minute (${usage.tokens} in ${usage.window}, ${tokens} requested)`,
    };
  }
  return { limited: false, applies: true };
}

/** Counts an admitted request in its minute and drops the tenant's windows that have passed. */
export async function countRequest(
  trx: Knex.Transaction,
  tenantId: string,
  at: Date,
  tokens: number,
): Promise<void> {
  const minute = rateWindowOf(at);
  await trx('tenant_rate_windows')
    .insert({ tenant_id: tenantId, minute })
    .onConflict(['tenant_id', 'minute'])
    .ignore();
  await trx('tenant_rate_windows')
    .where({ tenant_id: tenantId, minute })
    .update({ requests: trx.raw('requests + 1'), tokens: trx.raw('tokens + ?', [tokens]) });
  await trx('tenant_rate_windows').where({ tenant_id: tenantId }).andWhere('minute', '<', minute).delete();
}
