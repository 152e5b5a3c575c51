import type { InferenceResponse } from '../domain/step-contracts';

export type FinishReason = InferenceResponse['finishReason'];

/**
 * A provider's finish-reason table, written as each of our reasons with the provider's words for it and
 * read the other way round (word → reason). Words the table does not know map to `other` where it is read.
 */
export function finishReasonsFrom(
  wordsByReason: Readonly<Partial<Record<FinishReason, readonly string[]>>>,
): Readonly<Record<string, FinishReason>> {
  return Object.fromEntries(
    Object.entries(wordsByReason).flatMap(([reason, words]) => (words ?? []).map((word) => [word, reason])),
  ) as Record<string, FinishReason>;
}
