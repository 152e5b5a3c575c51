import { countTokens } from 'gpt-tokenizer/cjs/encoding/cl100k_base';

/** Counts tokens locally. The encoder is built once per process (it takes ~100 ms), then reused. */
export interface TokenCounter {
  count(text: string): number;
}

/**
 * The longest run of non-whitespace characters handed to the encoder in one piece. Every BPE encoder
 * we measured (js-tiktoken, the WASM build of tiktoken, gpt-tokenizer) is quadratic or worse in the
 * length of one pre-tokenised piece, and a run without spaces (a 32k "xxxx…", a base64 blob, a
 * paragraph of Chinese) is one piece: 32,000 such characters took 140 s of CPU on the worker's event
 * loop with js-tiktoken. Cut into slices of this length, every input we tried counts in milliseconds
 * (docs/decisions/0011) and the count changes only inside runs this long, by about one token per cut —
 * an over-count, the safe side for budgets.
 */
export const MAX_UNBROKEN_RUN = 128;

function isWhitespace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x3000;
}

/**
 * Splits `text` into segments that contain no run of more than `maxRun` non-whitespace characters,
 * cutting only inside such runs (never between a surrogate pair). Linear in the length of the text.
 */
export function splitLongRuns(text: string, maxRun = MAX_UNBROKEN_RUN): string[] {
  const segments: string[] = [];
  let segmentStart = 0;
  let run = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (isWhitespace(code)) {
      run = 0;
      continue;
    }
    run += 1;
    const splitsPair = code >= 0xd800 && code <= 0xdbff;
    if (run >= maxRun && !splitsPair) {
      segments.push(text.slice(segmentStart, index + 1));
      segmentStart = index + 1;
      run = 0;
    }
  }
  if (segmentStart < text.length) segments.push(text.slice(segmentStart));
  return segments;
}

/**
 * cl100k_base is an approximation for non-OpenAI models; it is used for budgets and reservations,
 * where a small over- or under-count is absorbed by the reservation's margin. Linear in the text; the
 * encoder's tables load once per process (~75 ms) and its merge cache is bounded.
 */
export function createLocalTokenCounter(): TokenCounter {
  return {
    count(text) {
      if (text.length === 0) return 0;
      let tokens = 0;
      for (const segment of splitLongRuns(text)) tokens += countTokens(segment);
      return tokens;
    },
  };
}
