/**
 * What an API key may do. `requests`: submit and read requests (client, HTTP front door); `operate`:
 * inspect, retry, cancel and terminate requests (operator commands); `audit`: read and
 * verify the audit trail; `governance:read`: read the tenant's keys, policy versions and prompts;
 * `governance:write`: apply policies, publish and promote prompts, create, revoke and rotate keys.
 * A principal's own key (the one it was created with) has `PRINCIPAL_KEY_SCOPES` and no expiry; keys
 * made with `gatehouse keys create` have the scopes, expiry and feature binding they were given.
 */
export const KEY_SCOPES = ['requests', 'operate', 'audit', 'governance:read', 'governance:write'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

/** The scopes that change or read a tenant's governance (policy, prompts, keys). */
export const GOVERNANCE_SCOPES = ['governance:read', 'governance:write'] as const;
export type GovernanceScope = (typeof GOVERNANCE_SCOPES)[number];

/**
 * The scopes of a principal's own key: every scope but governance. Governance is held only by keys
 * issued for it, so each change names the key that made it and a seeded or shared principal key cannot.
 */
export const PRINCIPAL_KEY_SCOPES: readonly KeyScope[] = ['requests', 'operate', 'audit'];

export interface KeyAccess {
  keyId: string;
  scopes: readonly string[];
  /** ISO time after which the key is refused. */
  expiresAt?: string;
  /** ISO time the key was revoked. */
  revokedAt?: string;
  /**
   * The features requests made with the key are charged to (docs/decisions/0029); absent: unbound. A
   * principal's own key is never bound.
   */
  features?: readonly string[];
}

export type KeyStatus = 'active' | 'expired' | 'revoked';

/** Whether the key still works at `atMs` (epoch ms), whatever its scopes. */
export function keyStatus(key: Pick<KeyAccess, 'expiresAt' | 'revokedAt'>, atMs: number): KeyStatus {
  if (key.revokedAt !== undefined && Date.parse(key.revokedAt) <= atMs) return 'revoked';
  if (key.expiresAt !== undefined && Date.parse(key.expiresAt) <= atMs) return 'expired';
  return 'active';
}

/** Why the key no longer works at `atMs` (revoked or expired), or undefined while it does. */
export function keyEnded(key: KeyAccess, atMs: number): string | undefined {
  switch (keyStatus(key, atMs)) {
    case 'revoked':
      return `key ${key.keyId} was revoked at ${key.revokedAt ?? ''}`;
    case 'expired':
      return `key ${key.keyId} expired at ${key.expiresAt ?? ''}`;
    default:
      return undefined;
  }
}

/** Why the key may not be used for `scope` at `atMs` (epoch ms), or undefined when it may. */
export function keyRefusal(key: KeyAccess, scope: KeyScope, atMs: number): string | undefined {
  const ended = keyEnded(key, atMs);
  if (ended !== undefined) return ended;
  if (!key.scopes.includes(scope)) {
    return `key ${key.keyId} lacks scope '${scope}' (it has: ${key.scopes.join(', ') || 'none'})`;
  }
  return undefined;
}

/** `30d`, `12h`, `90m` → milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([dhm])$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
  return Number(match[1]) * unit;
}
