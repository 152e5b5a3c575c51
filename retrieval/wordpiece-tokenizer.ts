/** The ids of the special tokens a BERT vocabulary must contain. */
export interface WordPieceVocabulary {
  ids: ReadonlyMap<string, number>;
  unknownId: number;
}

// A word longer than this is one [UNK], as in BERT's reference tokenizer (max_input_chars_per_word).
const MAX_WORD_CHARS = 100;
// Han characters stand alone, punctuation and symbols stand alone, everything else runs to whitespace.
const WORD_PATTERN = /\p{Script=Han}|[^\s\p{P}\p{S}\p{Cc}\p{Script=Han}]+|[\p{P}\p{S}]/gu;

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
  const cleaned = text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '');
  for (const word of cleaned.match(WORD_PATTERN) ?? []) {
    if (result.length >= maxTokens) break;
    appendWordPieces(word, vocabulary, result);
  }
  return result.length > maxTokens ? result.slice(0, maxTokens) : result;
}

function appendWordPieces(word: string, vocabulary: WordPieceVocabulary, out: number[]): void {
  if (word.length > MAX_WORD_CHARS) {
    out.push(vocabulary.unknownId);
    return;
  }
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
    if (found === undefined) {
      out.push(vocabulary.unknownId);
      return;
    }
    pieces.push(found);
    start = end;
  }
  out.push(...pieces);
}
