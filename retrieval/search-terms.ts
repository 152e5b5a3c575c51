import stem from 'wink-porter2-stemmer';
import { normalizeText } from './normalize-text';

const MAX_QUERY_TERMS = 32;
// Longer "words" are identifiers, hashes or garbage: indexed as they are, never stemmed.
const MAX_STEMMED_LENGTH = 40;

// Function words that carry no topic: dropped so that "What is the refund policy?" searches for
// "refund" and "policy" instead of matching every chunk that contains "the".
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each few for from further had has have ' +
    'having he her here hers herself him himself his how i if in into is it its itself just me more most ' +
    'my myself no nor not now of off on once only or other our ours ourselves out over own same she ' +
    'should so some such than that the their theirs them themselves then there these they this those ' +
    'through to too under until up very was we were what when where which while who whom why will with ' +
    'would you your yours yourself yourselves tell explain describe please'
  ).split(' '),
);

const WORD = /[\p{L}\p{N}]+/gu;
const HAS_DIGIT = /\p{N}/u;

/**
 * Reduces free text to distinct lowercase words (letters and digits only), minus stop words, at most 32.
 * The result carries no query syntax, so it is safe wherever a term goes.
 */
export function extractSearchTerms(query: string): string[] {
  const terms = new Set<string>();
  for (const word of normalizeText(query).toLowerCase().match(WORD) ?? []) {
    if (STOP_WORDS.has(word) || (word.length < 2 && !HAS_DIGIT.test(word))) continue;
    terms.add(word);
    if (terms.size === MAX_QUERY_TERMS) break;
  }
  return [...terms];
}

// Stemming dominates indexing time and natural text repeats its words, so stems are memoised (bounded).
const STEM_CACHE_LIMIT = 200_000;
const stems = new Map<string, string>();

/** The index form of a word: Porter2 stem of a lowercase word, so "vacuuming" matches "vacuum". */
export function indexTerm(word: string): string {
  let stemmed = stems.get(word);
  if (stemmed === undefined) {
    stemmed = word.length > MAX_STEMMED_LENGTH || HAS_DIGIT.test(word) ? word : stem(word);
    if (stems.size >= STEM_CACHE_LIMIT) stems.clear();
    stems.set(word, stemmed);
  }
  return stemmed;
}

/** Distinct index terms of a query (stemmed search terms). */
export function queryTerms(query: string): string[] {
  return [...new Set(extractSearchTerms(query).map(indexTerm))];
}

/**
 * Every index term of a text with its count, stop words dropped. Text is lower-cased but not normalised
 * again: stored chunks were normalised at ingest.
 */
export function countIndexTerms(text: string, into: Map<string, number> = new Map()): Map<string, number> {
  for (const word of text.toLowerCase().match(WORD) ?? []) {
    // One-letter words carry nothing unless they are digits; checked before the stop-word set.
    if ((word.length < 2 && !HAS_DIGIT.test(word)) || STOP_WORDS.has(word)) continue;
    const term = indexTerm(word);
    into.set(term, (into.get(term) ?? 0) + 1);
  }
  return into;
}
