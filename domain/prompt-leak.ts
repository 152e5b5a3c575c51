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

/**
 * The runs of `candidates` that `text` also contains (`keep: true`) or does not (`keep: false`), looking
 * only at runs that start with a candidate's first word: linear in `text`, with no set of all its runs.
 */
function filterRuns(candidates: Set<string>, text: string, keep: boolean): Set<string> {
  if (candidates.size === 0) return candidates;
  const firstWords = new Set([...candidates].map((run) => run.slice(0, run.indexOf(' '))));
  const list = words(text);
  const found = new Set<string>();
  for (let start = 0; start + LEAK_RUN_WORDS <= list.length; start += 1) {
    if (!firstWords.has(list[start]!)) continue;
    const run = list.slice(start, start + LEAK_RUN_WORDS).join(' ');
    if (candidates.has(run)) found.add(run);
  }
  return keep ? found : new Set([...candidates].filter((run) => !found.has(run)));
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
  // Driven by the answer, which is short: its runs and identifiers that the system prompt holds and no
  // context does. The system prompt may be 100k tokens (docs/decisions/0026); it is scanned, not indexed.
  let runs = filterRuns(runsOf(options.output), options.system, true);
  let identifiers = identifiersOf(options.output);
  if (identifiers.size > 0) {
    const secret = identifiersOf(options.system);
    identifiers = new Set([...identifiers].filter((identifier) => secret.has(identifier)));
  }
  for (const text of options.context) {
    runs = filterRuns(runs, text, false);
    if (identifiers.size > 0) {
      for (const identifier of identifiersOf(text)) identifiers.delete(identifier);
    }
  }
  const repeatedRuns = runs.size;
  return { leaked: repeatedRuns > 0 || identifiers.size > 0, repeatedRuns, identifiers: identifiers.size };
}
