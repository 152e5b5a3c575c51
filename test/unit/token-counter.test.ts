import { cpuUsage } from 'node:process';
import { createLocalTokenCounter, MAX_UNBROKEN_RUN, splitLongRuns } from '../../providers/token-counter';

const counter = createLocalTokenCounter();
const cpuMsOf = (run: () => void): number => {
  const before = cpuUsage();
  run();
  const spent = cpuUsage(before);
  return (spent.user + spent.system) / 1000;
};

describe('the local token counter', () => {
  beforeAll(() => counter.count('warm up the encoder tables'));

  it.each([
    ['a 32k run without spaces', 'x'.repeat(31_990) + ' refund?'],
    ['32k digits', '7'.repeat(32_000)],
    ['36k characters of CJK', '漢字かなカナ한국어'.repeat(4_000)],
    [
      '100k characters of mixed scripts',
      Array.from({ length: 100_000 }, (_, index) =>
        String.fromCodePoint([0x61, 0x416, 0x5d0, 0x627, 0x4e00, 0x1f600, 0x3b1][index % 7]! + (index % 13)),
      ).join(''),
    ],
    ['a 32k base64 blob', Buffer.from('a'.repeat(24_000)).toString('base64')],
  ])('counts %s in linear time (well under 250 ms of CPU)', (_name, text) => {
    expect(cpuMsOf(() => counter.count(text))).toBeLessThan(250);
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
