/** Words in a row that, found in the answer and in the system prompt but nowhere in the context, are a leak. */
export const LEAK_RUN_WORDS = 8;
/** Identifier-like tokens (a secret, a key, a canary): at least this long, with a letter and a digit. */
const IDENTIFIER = /[\p{L}\p{N}][\p{L}\p{N}_-]{7,}/gu;

export interface PromptLeak {
  leaked: boolean;
  /** Runs of LEAK_RUN_WORDS words the answer shares with the system prompt and nothing else. */
  repeatedRuns: number;
  /** Identifier-like tokens of the system prompt that appear in the answer and nowhere in the context. */
  identifiers: number;
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

function runsOf(text: string): Set<string> {
  const list = words(text);
  const runs = new Set<string>();
  for (let start = 0; start + LEAK_RUN_WORDS <= list.length; start += 1) {
    runs.add(list.slice(start, start + LEAK_RUN_WORDS).join(' '));
  }
  return runs;
}

function identifiersOf(text: string): Set<string> {
  return new Set(
    (text.match(IDENTIFIER) ?? []).filter((token) => /\p{L}/u.test(token) && /\p{N}/u.test(token)),
  );
}

/** Removes from `secret` what `text` also contains, looking only at runs that start with a secret run's word. */
function subtractRuns(secret: Set<string>, text: string): void {
  if (secret.size === 0) return;
  const firstWords = new Set([...secret].map((run) => run.slice(0, run.indexOf(' '))));
  const list = words(text);
  for (let start = 0; start + LEAK_RUN_WORDS <= list.length; start += 1) {
    if (!firstWords.has(list[start]!)) continue;
    secret.delete(list.slice(start, start + LEAK_RUN_WORDS).join(' '));
  }
}

/**
 * Whether an answer repeats the system prompt: a run of words or an identifier-like token (a secret, a
 * key, a canary) that the system prompt holds and neither the user message nor the retrieved context
 * does. What the caller supplied or the documents said may be repeated; what only the instructions say
 * may not. Pure and linear in the texts, so it runs in the workflow itself. The result carries counts
 * only: never the leaked text.
 */
export function findPromptLeak(options: {
  system: string;
  /** Everything the answer may quote: the user message, the retrieved chunks. */
  context: readonly string[];
  output: string;
}): PromptLeak {
  const secretRuns = runsOf(options.system);
  const secretIdentifiers = identifiersOf(options.system);
  for (const text of options.context) {
    subtractRuns(secretRuns, text);
    if (secretIdentifiers.size > 0) {
      for (const identifier of identifiersOf(text)) secretIdentifiers.delete(identifier);
    }
  }
  let repeatedRuns = 0;
  for (const run of runsOf(options.output)) if (secretRuns.has(run)) repeatedRuns += 1;
  let identifiers = 0;
  for (const identifier of identifiersOf(options.output))
    if (secretIdentifiers.has(identifier)) identifiers += 1;
  return { leaked: repeatedRuns > 0 || identifiers > 0, repeatedRuns, identifiers };
}
