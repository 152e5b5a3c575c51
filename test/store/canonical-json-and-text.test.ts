import { canonicalJson } from '../../governance/canonical-json';
import { chunkText } from '../../retrieval/chunk-text';
import { normalizeText } from '../../retrieval/normalize-text';

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined members and keeps array positions', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, undefined, 'x'], c: null }, z: undefined })).toBe(
      '{"a":{"c":null,"d":[3,null,"x"]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson(new Date('2026-01-02T03:04:05.000Z'))).toBe('"2026-01-02T03:04:05.000Z"');
    expect(canonicalJson('\u2028"')).toBe(JSON.stringify('\u2028"'));
  });

  it('rejects values JSON cannot carry faithfully', () => {
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow(/non-finite/);
    expect(() => canonicalJson(Number.NaN)).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson(new Map([['a', 1]]))).toThrow(/Map/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/circular/);
  });
});

describe('normalizeText', () => {
  it('normalises Unicode, spaces and paragraph breaks', () => {
    expect(normalizeText('Cafe\u0301\u00A0 au\t\tlait  \r\n\r\n\r\n\r\nNext  line \n end ')).toBe(
      'Caf\u00E9 au lait\n\nNext line\nend',
    );
    expect(normalizeText('a\uD800b\uDC00c\uD83D\uDE00')).toBe('a\uFFFDb\uFFFDc\uD83D\uDE00');
  });
});

describe('chunkText', () => {
  const sentence = (index: number): string =>
    `Sentence number ${index} explains one small fact about refunds.`;
  const paragraphs = (count: number, sentences: number): string =>
    Array.from({ length: count }, (_, paragraph) =>
      Array.from({ length: sentences }, (_, index) => sentence(paragraph * sentences + index)).join(' '),
    ).join('\n\n');

  it('is deterministic, bounded, covers every sentence and overlaps long paragraphs', () => {
    const text = paragraphs(4, 8);
    const chunks = chunkText(text, { targetChars: 300, overlapChars: 80 });
    expect(chunkText(text, { targetChars: 300, overlapChars: 80 })).toEqual(chunks);
    expect(chunks.length).toBeGreaterThan(4);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(300);
    for (let index = 0; index < 32; index += 1) {
      expect(chunks.some((chunk) => chunk.includes(sentence(index)))).toBe(true);
    }
    const overlapping = chunks.slice(1).filter((chunk, index) => {
      const firstSentence = chunk.split(/(?<=\.)\s+/)[0]!;
      return chunks[index]!.includes(firstSentence);
    });
    expect(overlapping.length).toBeGreaterThan(0);
  });

  it('keeps a paragraph that fits in one chunk together', () => {
    const text = paragraphs(6, 4);
    const chunks = chunkText(text, { targetChars: 300, overlapChars: 80 });
    const expected = text.split('\n\n');
    for (const paragraph of expected) expect(chunks.some((chunk) => chunk.includes(paragraph))).toBe(true);
  });

  it('keeps short text whole and splits an over-long word-run by words', () => {
    expect(chunkText('One short paragraph.')).toEqual(['One short paragraph.']);
    expect(chunkText('')).toEqual([]);
    const words = Array.from({ length: 200 }, (_, index) => `word${index}`).join(' ');
    const pieces = chunkText(words, { targetChars: 100, overlapChars: 0 });
    expect(pieces.join(' ')).toBe(words);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(100);
  });
});
