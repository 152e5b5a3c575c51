import { readFileSync } from 'node:fs';
import path from 'node:path';
import { normalizeVector } from '../../retrieval/embedder';
import { corpusDocumentSchema, readJsonLines } from '../../retrieval/evaluate-retrieval';
import { DEFAULT_STATIC_MODEL_DIRECTORY, StaticEmbedder } from '../../retrieval/static-embedder';
import {
  readWordPieceVocabulary,
  wordPieceIds,
  type WordPieceVocabulary,
} from '../../retrieval/wordpiece-tokenizer';

/**
 * The tokenizer and the embedder were made faster (a per-word cache, an ASCII path, row views); these
 * straightforward versions are what they replaced, and every id and every vector bit must still agree.
 */
const REFERENCE_WORD_PATTERN = /\p{Script=Han}|[^\s\p{P}\p{S}\p{Cc}\p{Script=Han}]+|[\p{P}\p{S}]/gu;

function referenceWordPieceIds(text: string, vocabulary: WordPieceVocabulary, maxTokens: number): number[] {
  const result: number[] = [];
  const cleaned = text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '');
  for (const word of cleaned.match(REFERENCE_WORD_PATTERN) ?? []) {
    if (result.length >= maxTokens) break;
    if (word.length > 100) {
      result.push(vocabulary.unknownId);
      continue;
    }
    const pieces: number[] = [];
    let start = 0;
    let unknown = false;
    while (start < word.length) {
      let end = word.length;
      let found: number | undefined;
      while (start < end) {
        found = vocabulary.ids.get(start === 0 ? word.slice(start, end) : `##${word.slice(start, end)}`);
        if (found !== undefined) break;
        end -= 1;
      }
      if (found === undefined) {
        unknown = true;
        break;
      }
      pieces.push(found);
      start = end;
    }
    if (unknown) result.push(vocabulary.unknownId);
    else result.push(...pieces);
  }
  return result.length > maxTokens ? result.slice(0, maxTokens) : result;
}

function referenceEmbedder(): (text: string) => Float32Array {
  const manifest = JSON.parse(
    readFileSync(path.join(DEFAULT_STATIC_MODEL_DIRECTORY, 'manifest.json'), 'utf8'),
  ) as { dimensions: number; tokens: number };
  const vocabulary = readWordPieceVocabulary(
    readFileSync(path.join(DEFAULT_STATIC_MODEL_DIRECTORY, 'vocab.txt'), 'utf8'),
  );
  const bytes = readFileSync(path.join(DEFAULT_STATIC_MODEL_DIRECTORY, 'vectors.bin'));
  const { dimensions, tokens } = manifest;
  const rows = new Int8Array(bytes.buffer, bytes.byteOffset + tokens * 4, tokens * dimensions);
  const table = new Float32Array(tokens * dimensions);
  for (let token = 0; token < tokens; token += 1) {
    const scale = bytes.readFloatLE(token * 4);
    for (let dimension = 0; dimension < dimensions; dimension += 1) {
      table[token * dimensions + dimension] = (rows[token * dimensions + dimension] as number) * scale;
    }
  }
  return (text) => {
    const vector = new Float32Array(dimensions);
    for (const id of referenceWordPieceIds(text, vocabulary, 2048)) {
      for (let dimension = 0; dimension < dimensions; dimension += 1) {
        vector[dimension] = (vector[dimension] as number) + (table[id * dimensions + dimension] as number);
      }
    }
    return normalizeVector(vector);
  };
}

const vocabulary = readWordPieceVocabulary(
  readFileSync(path.join(DEFAULT_STATIC_MODEL_DIRECTORY, 'vocab.txt'), 'utf8'),
);

const EDGE_CASES = [
  // Every ASCII character alone and inside a word, control characters included.
  ...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)),
  ...Array.from(
    { length: 128 },
    (_, code) => `ab${String.fromCharCode(code)}cd 9${String.fromCharCode(code)}`,
  ),
  'Café naïve résumé', // accents stripped
  '\u212A is the Kelvin sign', // lower-cases to an ASCII k
  'İstanbul', // lower-cases to i + a combining dot
  '数据库 and 查询 mixed', // Han characters stand alone
  'x'.repeat(101), // longer than a word may be: one [UNK]
  'qzxqzxqzxqzx unknownpieces', // pieces that may not match
  "SELECT * FROM pg_stat_activity WHERE state <> 'idle';",
  'emoji 🙂 and symbols © ± ≤ →',
  'word '.repeat(3000), // more tokens than the cap
];

describe('the faster tokenizer and static embedder give exactly what the reference gives', () => {
  const corpus = readJsonLines(
    path.resolve(__dirname, '../../bench/datasets/postgresql-15-docs.jsonl'),
    corpusDocumentSchema,
  );

  it('token ids agree on edge cases and on the whole PostgreSQL manual', () => {
    for (const text of EDGE_CASES) {
      for (const cap of [3, 2048]) {
        expect(wordPieceIds(text, vocabulary, cap)).toEqual(referenceWordPieceIds(text, vocabulary, cap));
      }
    }
    for (const document of corpus) {
      const text = `${document.title}\n\n${document.text}`;
      expect(wordPieceIds(text, vocabulary, Number.MAX_SAFE_INTEGER)).toEqual(
        referenceWordPieceIds(text, vocabulary, Number.MAX_SAFE_INTEGER),
      );
    }
  });

  it('vectors agree bit for bit', async () => {
    const reference = referenceEmbedder();
    const embedder = StaticEmbedder.load();
    const texts = [
      ...EDGE_CASES,
      ...corpus.flatMap((document) =>
        document.text.split(/\n\n/).map((paragraph) => `${document.title}\n\n${paragraph}`),
      ),
    ];
    const vectors = await embedder.embed(texts);
    const differing = texts.filter(
      (text, index) =>
        !Buffer.from((vectors[index] as Float32Array).buffer).equals(Buffer.from(reference(text).buffer)),
    );
    expect(texts.length).toBeGreaterThan(1000);
    expect(differing).toEqual([]);
  });
});
