/**
 * Canary prompt releases. A request takes the `canary` version when its bucket — a hash of tenant,
 * prompt name and request id — falls below the canary's share, so the split is deterministic per request
 * id (a retried or replayed request keeps its version) and independent between prompts and tenants.
 * Pure (no Node built-ins) so it can be reasoned about and tested without a store.
 */

/** The number of buckets: a percentage is resolved to 1/100 of a percent. */
export const CANARY_BUCKETS = 10_000;

/** Labels a request may name; `canary` also splits traffic that asks for `production`. */
export const PROMPT_LABELS = ['production', 'staging', 'canary'] as const;
export type PromptLabel = (typeof PROMPT_LABELS)[number];

// FNV-1a over UTF-16 code units, then the murmur3 finaliser so that ids differing only in their last
// characters still land far apart.
function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** The request's bucket in [0, CANARY_BUCKETS) for one tenant's prompt. */
export function canaryBucket(tenantId: string, promptName: string, requestId: string): number {
  return hash32(`${tenantId}\u0000${promptName}\u0000${requestId}`) % CANARY_BUCKETS;
}

/** Whether the request takes the canary version when the canary has `percent` (0–100) of the traffic. */
export function takesCanary(
  percent: number,
  tenantId: string,
  promptName: string,
  requestId: string,
): boolean {
  return canaryBucket(tenantId, promptName, requestId) < Math.round(percent * (CANARY_BUCKETS / 100));
}
