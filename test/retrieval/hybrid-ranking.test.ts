import {
  fitToTokenBudget,
  fuseByReciprocalRank,
  jaccard,
  removeNearDuplicates,
  RRF_K,
  shingles,
  splitSentencesForRanking,
} from '../../retrieval/hybrid-ranking';
import { nearestRank, scoreRanking, summarizeScores } from '../../retrieval/retrieval-metrics';

describe('reciprocal-rank fusion', () => {
  it.each([
    {
      name: 'a key in both lists beats keys found by one',
      lists: [
        { name: 'lexical', keys: ['a', 'b'] },
        { name: 'vector', keys: ['c', 'b'] },
      ],
      order: ['b', 'a', 'c'],
    },
    {
      name: 'one list keeps its order',
      lists: [{ name: 'lexical', keys: ['x', 'y', 'z'] }],
      order: ['x', 'y', 'z'],
    },
    { name: 'no lists, nothing', lists: [], order: [] },
  ])('$name', ({ lists, order }) => {
    expect(fuseByReciprocalRank(lists).map((entry) => entry.key)).toEqual(order);
  });

  it('adds 1 / (k + rank) per list and records each rank', () => {
    const [top] = fuseByReciprocalRank([
      { name: 'lexical', keys: ['a'] },
      { name: 'vector', keys: ['b', 'a'] },
    ]);
    expect(top).toEqual({
      key: 'a',
      fused: 1 / (RRF_K + 1) + 1 / (RRF_K + 2),
      ranks: { lexical: 1, vector: 2 },
    });
  });
});

describe('near duplicates, budget, sentences', () => {
  it('drops an item repeating a better one, keeps different ones', () => {
    const texts = [
      'Use COPY to load all the rows in one command instead of many INSERT commands.',
      'Use COPY to load all the rows in one command instead of many INSERT statements.',
      'Increase maintenance_work_mem while loading large amounts of data.',
    ];
    expect(removeNearDuplicates(texts, (text) => text)).toEqual([texts[0], texts[2]]);
    expect(jaccard(shingles('a b c d'), shingles('a b c d'))).toBe(1);
    expect(jaccard(shingles('a b c'), shingles('x y z'))).toBe(0);
    expect(shingles('two words')).toEqual(new Set(['two words']));
  });

  it('fits items to a token budget in rank order, skipping one that no longer fits', () => {
    expect(fitToTokenBudget([5, 8, 3, 2], (tokens) => tokens, 10)).toEqual([5, 3, 2]);
    expect(fitToTokenBudget([11], (tokens) => tokens, 10)).toEqual([]);
  });

  it('splits a chunk into sentences, keeping short fragments with their neighbour', () => {
    expect(
      splitSentencesForRanking('Tip: Short. This is a full sentence here. Another one follows it.'),
    ).toEqual(['Tip: Short. This is a full sentence here.', 'Another one follows it.']);
  });
});

describe('retrieval metrics', () => {
  it.each([
    { ranked: ['a', 'b'], relevant: ['a'], recallAt1: 1, reciprocal: 1, ndcg: 1 },
    { ranked: ['x', 'a'], relevant: ['a'], recallAt1: 0, reciprocal: 0.5, ndcg: 1 / Math.log2(3) },
    { ranked: ['x', 'y'], relevant: ['a'], recallAt1: 0, reciprocal: 0, ndcg: 0 },
    {
      ranked: ['a', 'x', 'b'],
      relevant: ['a', 'b'],
      recallAt1: 1,
      reciprocal: 1,
      ndcg: (1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3)),
    },
  ])('$ranked against $relevant', ({ ranked, relevant, recallAt1, reciprocal, ndcg }) => {
    const scores = scoreRanking(ranked, relevant);
    expect(scores.recallAt1).toBe(recallAt1);
    expect(scores.reciprocalRankAt10).toBeCloseTo(reciprocal, 10);
    expect(scores.ndcgAt10).toBeCloseTo(ndcg, 10);
  });

  it('counts a hit at rank 6 for recall@10 but not recall@5, and refuses a question with no answer', () => {
    const scores = scoreRanking(['1', '2', '3', '4', '5', 'a'], ['a']);
    expect([scores.recallAt5, scores.recallAt10]).toEqual([0, 1]);
    expect(() => scoreRanking(['a'], [])).toThrow(/at least one relevant/);
  });

  it('averages per question and takes nearest-rank latency percentiles', () => {
    const summary = summarizeScores([
      { scores: scoreRanking(['a'], ['a']), latencyMs: 10 },
      { scores: scoreRanking(['b'], ['a']), latencyMs: 30 },
    ]);
    expect(summary).toMatchObject({
      questions: 2,
      recallAt1: 0.5,
      mrrAt10: 0.5,
      latencyP50Ms: 10,
      latencyP95Ms: 30,
    });
    expect(nearestRank([], 50)).toBeNaN();
  });
});
