import { rememberingLargeCounts } from '../../activities/assemble-prompt';
import { createLocalTokenCounter, type TokenCounter } from '../../providers/token-counter';

/** The real counter, with a tally of the texts it was asked to count. */
function tallied(): TokenCounter & { counted: string[] } {
  const inner = createLocalTokenCounter();
  const counted: string[] = [];
  return {
    counted,
    count(text) {
      counted.push(text);
      return inner.count(text);
    },
  };
}

const large = (seed: number) => `Section ${seed}. ${'Claims are settled within five days. '.repeat(600)}`;

describe('rememberingLargeCounts', () => {
  it('counts a large text once and answers the same count again; small texts every time', () => {
    const inner = tallied();
    const counter = rememberingLargeCounts(inner);
    const text = large(1);
    const first = counter.count(text);
    expect(first).toBe(createLocalTokenCounter().count(text));
    expect(counter.count(text)).toBe(first);
    expect(inner.counted.filter((entry) => entry === text)).toHaveLength(1);

    counter.count('a short question?');
    counter.count('a short question?');
    expect(inner.counted.filter((entry) => entry === 'a short question?')).toHaveLength(2);
  });

  it('tells texts apart by content and forgets the least recently used beyond 64', () => {
    const inner = tallied();
    const counter = rememberingLargeCounts(inner);
    const edited = `${large(1)}One more sentence.`;
    expect(counter.count(edited)).toBeGreaterThan(counter.count(large(1)));
    for (let seed = 2; seed <= 65; seed += 1) counter.count(large(seed));
    // `edited`, then large(1), were the oldest of 66: both were forgotten.
    counter.count(large(1));
    expect(inner.counted.filter((entry) => entry === large(1))).toHaveLength(2);
    counter.count(large(65));
    expect(inner.counted.filter((entry) => entry === large(65))).toHaveLength(1);
  });
});
