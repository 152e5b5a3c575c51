/**
 * Pure steps of hybrid retrieval after candidate generation: reciprocal-rank fusion, near-duplicate
 * removal and fitting to a token budget. No I/O; table-tested in test/retrieval.
 */

/** Cormack, Clarke & Büttcher (2009): k = 60 damps the head of each list so no one signal dominates. */
export const RRF_K = 60;

export interface RankedList<K> {
  name: string;
  /** Best first. */
  keys: readonly K[];
}

export interface FusedCandidate<K> {
  key: K;
  fused: number;
  /** 1-based rank in each list that contained the key. */
  ranks: Record<string, number>;
}

/** Fuses ranked lists by reciprocal rank: Σ 1 / (k + rank). Ties keep first-list order. */
export function fuseByReciprocalRank<K>(
  lists: readonly RankedList<K>[],
  k: number = RRF_K,
): FusedCandidate<K>[] {
  const byKey = new Map<K, FusedCandidate<K>>();
  for (const list of lists) {
    list.keys.forEach((key, index) => {
      const rank = index + 1;
      const entry = byKey.get(key) ?? { key, fused: 0, ranks: {} };
      if (entry.ranks[list.name] !== undefined) return;
      entry.ranks[list.name] = rank;
      entry.fused += 1 / (k + rank);
      byKey.set(key, entry);
    });
  }
  return [...byKey.values()].sort((left, right) => right.fused - left.fused);
}

const SHINGLE_WORDS = 3;

/** Word 3-gram shingles of a text, lower case. */
export function shingles(text: string): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const result = new Set<string>();
  if (words.length < SHINGLE_WORDS) {
    if (words.length > 0) result.add(words.join(' '));
    return result;
  }
  for (let index = 0; index + SHINGLE_WORDS <= words.length; index += 1) {
    result.add(words.slice(index, index + SHINGLE_WORDS).join(' '));
  }
  return result;
}

export function jaccard(left: ReadonlySet<string>, right: ReadonlySet<string>): number {
  if (left.size === 0 && right.size === 0) return 1;
  let shared = 0;
  const [small, large] = left.size <= right.size ? [left, right] : [right, left];
  for (const item of small) if (large.has(item)) shared += 1;
  return shared / (left.size + right.size - shared);
}

/**
 * Drops every item whose text is a near duplicate (shingle Jaccard ≥ `threshold`) of a better-ranked
 * item that was kept: the same paragraph pasted into two documents should not take two context slots.
 */
export function removeNearDuplicates<T>(
  items: readonly T[],
  textOf: (item: T) => string,
  threshold = 0.8,
): T[] {
  const kept: Array<{ item: T; shingles: Set<string> }> = [];
  for (const item of items) {
    const own = shingles(textOf(item));
    if (kept.some((other) => jaccard(own, other.shingles) >= threshold)) continue;
    kept.push({ item, shingles: own });
  }
  return kept.map((entry) => entry.item);
}

/**
 * Keeps items in rank order while their token counts fit in `budget`; an item too large for what is left
 * is skipped and smaller later ones may still fit.
 */
export function fitToTokenBudget<T>(items: readonly T[], tokensOf: (item: T) => number, budget: number): T[] {
  const kept: T[] = [];
  let left = budget;
  for (const item of items) {
    const tokens = tokensOf(item);
    if (tokens > left) continue;
    kept.push(item);
    left -= tokens;
  }
  return kept;
}

/** Sentences of a chunk for sentence-level re-ranking; short fragments stay with their neighbour. */
export function splitSentencesForRanking(text: string): string[] {
  const sentences: string[] = [];
  for (const piece of text.split(/(?<=[.!?:])\s+|\n{2,}/)) {
    const trimmed = piece.trim();
    if (trimmed === '') continue;
    const last = sentences[sentences.length - 1];
    if (last !== undefined && last.length < 40) sentences[sentences.length - 1] = `${last} ${trimmed}`;
    else sentences.push(trimmed);
  }
  return sentences;
}
