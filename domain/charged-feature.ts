/**
 * Which feature a request is charged to (docs/decisions/0029). The caller's `feature` is a claim; what
 * the request is charged to, and whose budget limits it meets, is decided from the key that signed it:
 * a key bound to features charges only those, and a feature some working key is bound to is charged only
 * through such a key. Pure, so every case is a row of a table test.
 */

export interface FeatureChargingFacts {
  /** The key the request was signed with. */
  keyId: string;
  /** The features the key is bound to; absent (or empty) for an unbound key. */
  keyFeatures?: readonly string[];
  /** Features that a working key of the tenant is bound to: reserved to keys bound to them. */
  reservedFeatures: readonly string[];
}

export type FeatureDecision =
  | {
      allowed: true;
      /** null: charged to no feature, only the tenant-wide limits apply. */
      feature: string | null;
    }
  | { allowed: false; reason: string };

function listed(features: readonly string[]): string {
  return features.map((feature) => `'${feature}'`).join(', ');
}

/** The feature the request named (`declared`) is charged to, one the key implies, or a refusal. */
export function decideChargedFeature(
  declared: string | undefined,
  facts: FeatureChargingFacts,
): FeatureDecision {
  const bound = facts.keyFeatures ?? [];
  if (bound.length > 0) {
    if (declared === undefined) {
      if (bound.length === 1) return { allowed: true, feature: bound[0] ?? null };
      return {
        allowed: false,
        reason: `key ${facts.keyId} is bound to features ${listed(bound)}; the request must name one of them`,
      };
    }
    if (bound.includes(declared)) return { allowed: true, feature: declared };
    return {
      allowed: false,
      reason: `key ${facts.keyId} may not charge feature '${declared}' (it is bound to ${listed(bound)})`,
    };
  }
  if (declared === undefined) return { allowed: true, feature: null };
  if (facts.reservedFeatures.includes(declared)) {
    return {
      allowed: false,
      reason:
        `key ${facts.keyId} is not bound to feature '${declared}', which the tenant charges only through ` +
        'keys bound to it',
    };
  }
  return { allowed: true, feature: declared };
}
