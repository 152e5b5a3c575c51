/** The ids of the special tokens a BERT vocabulary must contain. */
export interface WordPieceVocabulary {
  ids: ReadonlyMap<string, number>;
  unknownId: number;
}

// A word longer than this is one [UNK], as in BERT's reference tokenizer (max_input_chars_per_word).
const MAX_WORD_CHARS = 100;
// Han characters stand alone, punctuation and symbols stand alone, everything else runs to whitespace.
const WORD_PATTERN = /\p{Script=Han}|[^\s\p{P}\p{S}\p{Cc}\p{Script=Han}]+|[\p{P}\p{S}]/gu;
// The same split for lower-cased ASCII text, where letters and digits are the only word characters and
// every other printable character is punctuation or a symbol (control characters match neither).
const ASCII_WORD_PATTERN = /[a-z0-9]+|[!-/:-@[-`{-~]/g;
const NON_ASCII = /[\u0080-\uffff]/;
// Words repeat (a corpus has far fewer distinct words than words), so each word's pieces are looked up
// once per vocabulary; the table is emptied when it reaches this size, which bounds its memory.
const MAX_CACHED_WORDS = 200_000;
const wordCaches = new WeakMap<WordPieceVocabulary, Map<string, readonly number[]>>();

/** Builds the lookup from a `vocab.txt` (one token per line, the line number is its id). */
export function readWordPieceVocabulary(vocabText: string): WordPieceVocabulary {
  const ids = new Map<string, number>();
  vocabText.split('\n').forEach((token, index) => {
    if (token !== '' && !ids.has(token)) ids.set(token, index);
  });
  const unknownId = ids.get('[UNK]');
  if (unknownId === undefined) throw new Error('the vocabulary has no [UNK] token');
  return { ids, unknownId };
}

/**
 * BERT's uncased tokenizer: lower case, accents stripped, split on whitespace and around every
 * punctuation character, then greedy longest-match WordPiece (`##` continues a word). Returns token ids
 * without [CLS]/[SEP]; at most `maxTokens` of them, so one huge input costs bounded work.
 */
export function wordPieceIds(text: string, vocabulary: WordPieceVocabulary, maxTokens: number): number[] {
  const result: number[] = [];
  const lowered = text.toLowerCase();
  // Lower-cased ASCII text has no accents to strip and NFD leaves it as it is.
  const ascii = !NON_ASCII.test(lowered);
  const cleaned = ascii ? lowered : lowered.normalize('NFD').replace(/\p{Mn}/gu, '');
  let cache = wordCaches.get(vocabulary);
  if (cache === undefined) {
    cache = new Map();
    wordCaches.set(vocabulary, cache);
  }
  // Words are matched one at a time: a long text is split only as far as its first `maxTokens` tokens.
  const pattern = ascii ? ASCII_WORD_PATTERN : WORD_PATTERN;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(cleaned); match !== null; match = pattern.exec(cleaned)) {
    if (result.length >= maxTokens) break;
    const word = match[0];
    let pieces = cache.get(word);
    if (pieces === undefined) {
      pieces = wordPieces(word, vocabulary);
      if (cache.size >= MAX_CACHED_WORDS) cache.clear();
      cache.set(word, pieces);
    }
    for (const piece of pieces) result.push(piece);
  }
  return result.length > maxTokens ? result.slice(0, maxTokens) : result;
}

/** One word's WordPiece ids: greedy longest match, or a single [UNK] when some part matches nothing. */
function wordPieces(word: string, vocabulary: WordPieceVocabulary): readonly number[] {
  if (word.length > MAX_WORD_CHARS) return [vocabulary.unknownId];
  const pieces: number[] = [];
  let start = 0;
  while (start < word.length) {
    let end = word.length;
    let found: number | undefined;
    while (start < end) {
      const piece = start === 0 ? word.slice(start, end) : `##${word.slice(start, end)}`;
      found = vocabulary.ids.get(piece);
      if (found !== undefined) break;
      end -= 1;
    }
    if (found === undefined) return [vocabulary.unknownId];
    pieces.push(found);
    start = end;
  }
  return pieces;
}
