import { hashApiKey } from '../governance/caller-proof';
import type { KeyAccess } from '../domain/api-key-access';
import type { TaskModel } from './task-models';

/** The principal an API key belongs to, as the front door needs it. */
export interface KeyHolder {
  principalId: string;
  tenantId: string;
  /** One-way handle of the key: what rate limits and logs name, never the key. */
  keyId: string;
  capabilities: string[];
  /** False when the principal's tenant is suspended: its keys are refused with 403. */
  tenantActive: boolean;
  /** The key's scopes, expiry and revocation; a key without `requests` scope is refused. */
  key?: KeyAccess;
}

/**
 * What the front door reads from the store, behind one small interface so the HTTP layer imports no
 * store code (client/front-door-store-directory.ts is the real one; tests may pass a fake).
 */
export interface FrontDoorDirectory {
  /** The active principal holding this raw key, in whichever tenant; undefined for unknown or disabled keys. */
  findKeyHolder(apiKey: string): Promise<KeyHolder | undefined>;
  /** The task types the holder may request, as models, with the routes each may use. */
  taskModels(holder: KeyHolder): Promise<TaskModel[]>;
}

/**
 * Remembers key holders for `ttlMs`, so a busy key is looked up once per interval rather than on every
 * request (the lookup is most of the front door's own latency). A key disabled or a tenant suspended in
 * the store is refused here within `ttlMs`; nothing new runs meanwhile, because every request's
 * `authorize` step checks the store itself. Unknown keys are never remembered: a flood of made-up keys
 * cannot fill memory, and a key created a moment ago works at once.
 */
export function cacheKeyHolders(
  directory: FrontDoorDirectory,
  options: { ttlMs: number; maxEntries?: number; now?: () => number },
): FrontDoorDirectory {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { holder: KeyHolder; expiresAt: number }>();
  return {
    async findKeyHolder(apiKey) {
      // Keyed by the key's hash: the map never holds raw keys.
      const cacheKey = hashApiKey(apiKey);
      const cached = entries.get(cacheKey);
      if (cached && cached.expiresAt > now()) return cached.holder;
      entries.delete(cacheKey);
      const holder = await directory.findKeyHolder(apiKey);
      if (holder) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        entries.set(cacheKey, { holder, expiresAt: now() + options.ttlMs });
      }
      return holder;
    },
    taskModels: (holder) => directory.taskModels(holder),
  };
}
