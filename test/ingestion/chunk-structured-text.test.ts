import { chunkStructuredText } from '../../retrieval/chunk-structured-text';
import { normalizeText } from '../../retrieval/normalize-text';
import { createLocalTokenCounter } from '../../providers/token-counter';

const words = (count: number, word = 'lorem') =>
  Array.from({ length: count }, (_, index) => `${word}${index}`).join(' ');
const tokens = createLocalTokenCounter();
const countTokens = (text: string) => tokens.count(text);

describe('chunkStructuredText', () => {
  it('returns slices of the text with exact offsets', () => {
    const text = normalizeText(
      `# Title\n\n${words(80)}.\n\n## Part\n\n${words(90, 'ipsum')}. ${words(50, 'dolor')}.`,
    );
    const chunks = chunkStructuredText(text, { targetTokens: 64, overlapTokens: 8, countTokens });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(text.slice(chunk.start, chunk.end)).toBe(chunk.text);
  });

  it('keeps a code block whole when it fits, even with blank lines inside', () => {
    const code = '```python\ndef pool():\n    return [1]\n\nprint(pool())\n```';
    const text = normalizeText(`# Pools\n\n${words(40)}.\n\n${code}\n\n${words(40, 'after')}.`);
    const chunks = chunkStructuredText(text, { targetTokens: 70, overlapTokens: 0, countTokens });
    const holding = chunks.filter((chunk) => chunk.text.includes('def pool'));
    expect(holding).toHaveLength(1);
    expect(holding[0]!.text).toContain('print(pool())\n```');
  });

  it('starts a new chunk at a heading and never ends a chunk with one', () => {
    const text = normalizeText(
      `# One\n\n${words(30, 'first')}.\n\n# Two\n\n${words(30, 'second')}.\n\n# Three\n\n${words(30, 'third')}.`,
    );
    const chunks = chunkStructuredText(text, { targetTokens: 200, countTokens });
    expect(chunks.map((chunk) => chunk.text.split('\n')[0])).toEqual(['# One', '# Two', '# Three']);
    for (const chunk of chunks) expect(chunk.text.trimEnd()).not.toMatch(/\n#{1,6} [^\n]*$/);
  });

  it('cuts a paragraph longer than the target between sentences, with overlap', () => {
    const sentences = Array.from(
      { length: 30 },
      (_, index) => `Sentence number ${index} says ${words(6, `w${index}x`)}.`,
    );
    const text = normalizeText(sentences.join(' '));
    const chunks = chunkStructuredText(text, { targetTokens: 100, overlapTokens: 50, countTokens });
    expect(chunks.length).toBeGreaterThan(4);
    for (const chunk of chunks) {
      expect(countTokens(chunk.text)).toBeLessThanOrEqual(106);
      expect(chunk.text).toMatch(/^Sentence number \d+/);
      expect(chunk.text).toMatch(/\.$/);
    }
    // Consecutive chunks share whole sentences, and every sentence is in some chunk.
    expect(chunks[1]!.start).toBeLessThan(chunks[0]!.end);
    for (const sentence of sentences)
      expect(chunks.some((chunk) => chunk.text.includes(sentence))).toBe(true);
  });

  it('cuts a code block longer than the target between lines', () => {
    const lines = Array.from({ length: 60 }, (_, index) => `let value${index} = compute(${index});`);
    const text = normalizeText(`\`\`\`js\n${lines.join('\n')}\n\`\`\``);
    const chunks = chunkStructuredText(text, { targetTokens: 80, overlapTokens: 10, countTokens });
    expect(chunks.length).toBeGreaterThan(3);
    for (const line of lines)
      expect(chunks.some((chunk) => chunk.text.split('\n').includes(line))).toBe(true);
  });

  it('is deterministic and handles empty text and one overlong word', () => {
    expect(chunkStructuredText('')).toEqual([]);
    const long = 'x'.repeat(5000);
    expect(chunkStructuredText(long, { targetTokens: 50 })).toEqual([{ text: long, start: 0, end: 5000 }]);
    const text = normalizeText(`# A\n\n${words(500)}.`);
    expect(chunkStructuredText(text, { targetTokens: 100 })).toEqual(
      chunkStructuredText(text, { targetTokens: 100 }),
    );
  });

  it('stays linear on a large document', () => {
    const text = normalizeText(
      Array.from({ length: 2000 }, (_, index) => `## Section ${index}\n\n${words(40)}.`).join('\n\n'),
    );
    const started = performance.now();
    const chunks = chunkStructuredText(text, { targetTokens: 256, countTokens });
    expect(chunks.length).toBeGreaterThan(100);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
