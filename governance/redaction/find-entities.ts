import { BUILT_IN_RECOGNIZERS } from './built-in-recognizers';
import {
  BUILT_IN_ENTITY_TYPES,
  PLACEHOLDER_LITERAL_TYPE,
  type BuiltInEntityType,
  type EntitySpan,
  type Recognizer,
} from './entity-types';
import { PLACEHOLDER_PATTERN } from './redaction-mapping';
import type { TenantPatternRecognizer } from './tenant-patterns';

export interface EntityFinderOptions {
  /** Built-in types to look for; default: every one of BUILT_IN_ENTITY_TYPES. */
  types?: readonly BuiltInEntityType[];
  /** A tenant's own patterns, from `compileTenantPatterns`. */
  tenantPatterns?: readonly TenantPatternRecognizer[];
  /**
   * Also report text shaped like one of our placeholders (as PLACEHOLDER_LITERAL). Redaction needs it so
   * that restoring is exact; detection and log masking do not.
   */
  placeholderLiterals?: boolean;
}

export interface EntityFinder {
  /** Entities in `text`, sorted by position, never overlapping. Linear in the length of `text`. */
  find(text: string): EntitySpan[];
}

const PLACEHOLDER_LITERALS: Recognizer = {
  type: PLACEHOLDER_LITERAL_TYPE,
  find(text) {
    return [...text.matchAll(PLACEHOLDER_PATTERN)].map((match) => ({
      type: PLACEHOLDER_LITERAL_TYPE,
      start: match.index,
      end: match.index + match[0].length,
    }));
  },
};

/**
 * Overlaps are settled by rank, then length: placeholder literals first (so restoring stays exact), then
 * secrets, then the tenant's own patterns (the tenant said so explicitly), then the other built-ins in
 * BUILT_IN_RECOGNIZERS order.
 */
function rankedRecognizers(options: EntityFinderOptions): Recognizer[] {
  const wanted = new Set(options.types ?? BUILT_IN_ENTITY_TYPES);
  const builtIns = (Object.keys(BUILT_IN_RECOGNIZERS) as BuiltInEntityType[])
    .filter((type) => wanted.has(type))
    .map((type) => BUILT_IN_RECOGNIZERS[type]);
  const secrets = new Set<string>(['PRIVATE_KEY', 'JWT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  return [
    ...(options.placeholderLiterals ? [PLACEHOLDER_LITERALS] : []),
    ...builtIns.filter((recognizer) => secrets.has(recognizer.type)),
    ...(options.tenantPatterns ?? []),
    ...builtIns.filter((recognizer) => !secrets.has(recognizer.type)),
  ];
}

export function createEntityFinder(options: EntityFinderOptions = {}): EntityFinder {
  const recognizers = rankedRecognizers(options);
  return {
    find(text) {
      const candidates = recognizers.flatMap((recognizer, rank) =>
        recognizer.find(text).map((span) => ({ span, rank })),
      );
      candidates.sort(
        (left, right) =>
          left.rank - right.rank ||
          right.span.end - right.span.start - (left.span.end - left.span.start) ||
          left.span.start - right.span.start,
      );
      // Accepted spans kept sorted by start, so each overlap check is a binary search.
      const kept: EntitySpan[] = [];
      for (const { span } of candidates) {
        let low = 0;
        let high = kept.length;
        while (low < high) {
          const middle = (low + high) >> 1;
          if (kept[middle]!.start < span.start) low = middle + 1;
          else high = middle;
        }
        const before = kept[low - 1];
        const after = kept[low];
        if ((before && before.end > span.start) || (after && after.start < span.end)) continue;
        kept.splice(low, 0, span);
      }
      return kept;
    },
  };
}

/** Entities in `text` with the given options (see createEntityFinder). */
export function findEntities(text: string, options: EntityFinderOptions = {}): EntitySpan[] {
  return createEntityFinder(options).find(text);
}
