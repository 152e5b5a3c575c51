/** The outcome of one request against a key's allowance, with what the `x-ratelimit-*` headers report. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Whole requests left right now. */
  remaining: number;
  /** Until one more request is allowed (0 when allowed). */
  retryAfterMs: number;
  /** Until the allowance is full again. */
  resetMs: number;
}

export interface RateLimiter {
  take(key: string): RateDecision;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per key: `perMinute` requests may come at once, and the allowance refills evenly over a
 * minute — OpenAI's requests-per-minute limit, which OpenAI clients already know how to back off from.
 * In memory, so each front door process counts its own traffic; `maxKeys` bounds the memory (full
 * buckets are forgotten first: forgetting them changes nothing).
 */
export function createRateLimiter(options: {
  perMinute: number;
  now?: () => number;
  maxKeys?: number;
}): RateLimiter {
  const capacity = options.perMinute;
  const refillPerMs = options.perMinute / 60_000;
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 100_000;
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, at: number) => {
    bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.updatedAt) * refillPerMs);
    bucket.updatedAt = at;
  };

  const forgetFullBuckets = (at: number) => {
    for (const [key, bucket] of buckets) {
      refill(bucket, at);
      if (bucket.tokens >= capacity) buckets.delete(key);
    }
  };

  return {
    take(key) {
      const at = now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= maxKeys) forgetFullBuckets(at);
        bucket = { tokens: capacity, updatedAt: at };
        buckets.set(key, bucket);
      }
      refill(bucket, at);
      const allowed = bucket.tokens >= 1;
      if (allowed) bucket.tokens -= 1;
      return {
        allowed,
        limit: capacity,
        remaining: Math.floor(bucket.tokens),
        retryAfterMs: allowed ? 0 : Math.ceil((1 - bucket.tokens) / refillPerMs),
        resetMs: Math.ceil((capacity - bucket.tokens) / refillPerMs),
      };
    },
  };
}

/** OpenAI's duration format for `x-ratelimit-reset-*`: `6m0s`, `1.5s`, `250ms`. */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round(((ms % 60_000) / 1000) * 1000) / 1000;
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
