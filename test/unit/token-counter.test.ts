import { createLocalTokenCounter, MAX_UNBROKEN_RUN, splitLongRuns } from '../../providers/token-counter';
import { bestCpuMsOf } from '../support/cpu-time';

const counter = createLocalTokenCounter();

describe('the local token counter', () => {
  beforeAll(() => counter.count('warm up the encoder tables'));

  // Each case builds a different text in each pass: the encoder caches what it has merged, so the
  // same text twice would measure the cache.
  const letters = 'xyz';
  it.each<[string, (pass: number) => string]>([
    ['a 32k run without spaces', (pass) => letters[pass]!.repeat(31_990) + ' refund?'],
    ['32k digits', (pass) => String(7 + pass).repeat(32_000)],
    [
      '36k characters of CJK',
      (pass) => ['漢字かなカナ한국어', '語彙ひらがな문자열', '東京大阪名古屋서울'][pass]!.repeat(4_000),
    ],
    [
      '100k characters of mixed scripts',
      (pass) =>
        Array.from({ length: 100_000 }, (_, index) =>
          String.fromCodePoint(
            [0x61, 0x416, 0x5d0, 0x627, 0x4e00, 0x1f600, 0x3b1][index % 7]! + ((index + pass) % 13),
          ),
        ).join(''),
    ],
    ['a 32k base64 blob', (pass) => Buffer.from(letters[pass]!.repeat(24_000)).toString('base64')],
  ])('counts %s in linear time (well under 250 ms of CPU in the best of three passes)', (_name, textOf) => {
    const texts = [0, 1, 2].map(textOf);
    expect(new Set(texts).size).toBe(3);
    expect(bestCpuMsOf((pass) => counter.count(texts[pass]!))).toBeLessThan(250);
  });

  it('counts ordinary text exactly as the encoder does, and a long run at most one token per cut over', () => {
    expect(counter.count('The quick brown fox jumps over the lazy dog.')).toBe(10);
    expect(counter.count('')).toBe(0);
    const run = 'x'.repeat(10 * MAX_UNBROKEN_RUN);
    const exactForRun = (10 * MAX_UNBROKEN_RUN) / 8; // cl100k_base: 8 x's per token
    expect(counter.count(run)).toBeGreaterThanOrEqual(exactForRun);
    expect(counter.count(run)).toBeLessThanOrEqual(exactForRun + 10);
  });

  it('cuts only inside runs longer than the limit, never a surrogate pair', () => {
    expect(splitLongRuns('short words stay whole')).toEqual(['short words stay whole']);
    const emoji = '😀'.repeat(MAX_UNBROKEN_RUN);
    const pieces = splitLongRuns(emoji);
    expect(pieces.join('')).toBe(emoji);
    // No piece starts or ends inside a pair.
    for (const piece of pieces) expect(piece).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
  });
});
