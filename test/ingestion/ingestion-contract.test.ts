import { formatIngestionProgressBar } from '../../client/ingest-commands';
import {
  addIngestionTotals,
  emptyIngestionTotals,
  ingestionInputProblem,
  type IngestionProgress,
} from '../../domain/ingestion-contract';

const valid = { ingestionId: 'abc-1', tenantId: 'demo', itemCount: 10, batchSize: 4 };

describe('ingestion contract', () => {
  it.each([
    [valid, undefined],
    [{ ...valid, targetTokens: 128, overlapTokens: 16, pruneSourcePrefix: 'file:///docs/' }, undefined],
    [null, 'the input must be an object'],
    [{ ...valid, ingestionId: 'has space' }, 'ingestionId'],
    [{ ...valid, tenantId: 'Demo' }, 'tenantId'],
    [{ ...valid, itemCount: -1 }, 'itemCount'],
    [{ ...valid, batchSize: 0 }, 'batchSize'],
    [{ ...valid, batchSize: 501 }, 'batchSize'],
    [{ ...valid, targetTokens: 8 }, 'targetTokens'],
    [{ ...valid, overlapTokens: 1.5 }, 'overlapTokens'],
    [{ ...valid, pruneSourcePrefix: '' }, 'pruneSourcePrefix'],
  ])('%j → %s', (input, problem) => {
    const found = ingestionInputProblem(input);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it('adds totals field by field', () => {
    const left = { ...emptyIngestionTotals(), created: 2, chunksWritten: 10, chunksEmbedded: 10 };
    const right = { ...emptyIngestionTotals(), unchanged: 3, deleted: 1, chunksEmbedded: 1 };
    expect(addIngestionTotals(left, right)).toEqual({
      ...emptyIngestionTotals(),
      created: 2,
      unchanged: 3,
      deleted: 1,
      chunksWritten: 10,
      chunksEmbedded: 11,
    });
  });

  it('draws the progress bar from the progress query', () => {
    const progress: IngestionProgress = {
      ingestionId: 'abc-1',
      tenantId: 'demo',
      total: 200,
      done: 120,
      batches: { done: 1, total: 2 },
      totals: {
        ...emptyIngestionTotals(),
        created: 100,
        updated: 5,
        permissions: 3,
        unchanged: 12,
        pruned: 2,
        chunksEmbedded: 410,
      },
      phase: 'ingesting',
    };
    expect(formatIngestionProgressBar(progress)).toBe(
      '[############........] 120/200 documents · 100 new · 5 changed · 3 re-permissioned · 12 unchanged · 2 deleted · 410 chunks embedded',
    );
    expect(formatIngestionProgressBar({ ...progress, total: 0, done: 0 })).toMatch(/^\[#{20}\] 0\/0/);
  });
});
