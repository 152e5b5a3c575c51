import { getEncoding, type Tiktoken } from 'js-tiktoken';

/** Counts tokens locally. The encoder is built once per process (it takes ~100 ms), then reused. */
export interface TokenCounter {
  count(text: string): number;
}

let encoder: Tiktoken | undefined;

/**
 * cl100k_base is an approximation for non-OpenAI models; it is used for budgets and reservations,
 * where a small over- or under-count is absorbed by the reservation's worst case.
 */
export function createLocalTokenCounter(): TokenCounter {
  encoder ??= getEncoding('cl100k_base');
  const loaded = encoder;
  return { count: (text) => (text.length === 0 ? 0 : loaded.encode(text).length) };
}
