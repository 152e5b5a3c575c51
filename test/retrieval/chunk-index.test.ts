import { ChunkIndex, type IndexedDocument } from '../../retrieval/chunk-index';
import { normalizeVector } from '../../retrieval/embedder';
import { queryTerms } from '../../retrieval/search-terms';

const vector = (...values: number[]) => normalizeVector(Float32Array.from(values));

function document(
  id: string,
  texts: string[],
  options: Partial<Pick<IndexedDocument, 'classification' | 'aclGroups'>> & { vectors?: Float32Array[] } = {},
): IndexedDocument {
  return {
    documentId: id,
    classification: options.classification ?? 'public',
    aclGroups: options.aclGroups ?? ['everyone'],
    chunks: texts.map((text, index) => ({
      chunkId: `${id}#${index}`,
      title: id,
      text,
      vector: options.vectors?.[index],
    })),
  };
}

describe('ChunkIndex', () => {
  it('ranks by BM25: rarer terms weigh more, and a title word counts more than a body word', () => {
    const index = new ChunkIndex({ dimensions: 2 });
    index.putDocument(document('vacuum', ['Routine vacuuming reclaims the space of deleted rows.']));
    index.putDocument(document('copy', ['COPY loads rows faster than many INSERT statements.']));
    index.putDocument(document('rows', ['Rows, rows, rows: every table has rows.']));
    const readable = index.readableMask(['everyone'], 'public');
    const ids = (query: string) =>
      index.searchLexical(queryTerms(query), readable, 10).map((hit) => index.chunkIdAt(hit.slot));
    expect(ids('how does vacuuming work')).toEqual(['vacuum#0']);
    expect(ids('load rows quickly')[0]).toBe('copy#0');
    expect(ids('copy')).toEqual(['copy#0']);
    expect(ids('nothing matches this')).toEqual([]);
  });

  it('never scores a chunk the caller may not read: tenant groups and clearance are a mask checked first', () => {
    const index = new ChunkIndex({ dimensions: 2 });
    index.putDocument(document('public', ['budget report'], { vectors: [vector(1, 0)] }));
    index.putDocument(
      document('finance', ['budget report'], { aclGroups: ['finance'], vectors: [vector(1, 0)] }),
    );
    index.putDocument(
      document('secret', ['budget report'], { classification: 'restricted', vectors: [vector(1, 0)] }),
    );
    const search = (groups: string[], clearance: 'public' | 'restricted') => {
      const mask = index.readableMask(groups, clearance);
      return {
        lexical: index
          .searchLexical(['budget'], mask, 10)
          .map((hit) => index.chunkIdAt(hit.slot))
          .sort(),
        vector: index
          .searchVector(vector(1, 0), mask, 10)
          .map((hit) => index.chunkIdAt(hit.slot))
          .sort(),
      };
    };
    expect(search(['everyone'], 'public')).toEqual({ lexical: ['public#0'], vector: ['public#0'] });
    expect(search(['everyone', 'finance'], 'public')).toEqual({
      lexical: ['finance#0', 'public#0'],
      vector: ['finance#0', 'public#0'],
    });
    expect(search(['everyone'], 'restricted')).toEqual({
      lexical: ['public#0', 'secret#0'],
      vector: ['public#0', 'secret#0'],
    });
    expect(search([], 'restricted')).toEqual({ lexical: [], vector: [] });
  });

  it('permission updates, replacements and removals take effect on the next search', () => {
    const index = new ChunkIndex({ dimensions: 2 });
    index.putDocument(document('a', ['alpha text'], { vectors: [vector(1, 0)] }));
    index.putDocument(document('b', ['beta text'], { vectors: [vector(0, 1)] }));
    const ids = (terms: string[]) =>
      index
        .searchLexical(terms, index.readableMask(['everyone'], 'public'), 10)
        .map((hit) => index.chunkIdAt(hit.slot));
    expect(ids(['text']).sort()).toEqual(['a#0', 'b#0']);
    expect(index.updatePermissions('a', 'confidential', ['everyone'])).toBe(true);
    expect(ids(['text'])).toEqual(['b#0']);
    index.putDocument(document('b', ['gamma words'], { vectors: [vector(1, 1)] }));
    expect(ids(['text'])).toEqual([]);
    expect(ids(['gamma'])).toEqual(['b#0']);
    index.removeDocument('b');
    expect(ids(['gamma'])).toEqual([]);
    expect(index.chunkCount).toBe(1);
    expect(index.updatePermissions('missing', 'public', [])).toBe(false);
  });

  it('returns the nearest vectors best first and counts chunks indexed without one', () => {
    const index = new ChunkIndex({ dimensions: 3 });
    index.putDocument(
      document('d', ['x', 'y', 'z', 'no vector'], {
        vectors: [vector(1, 0, 0), vector(0.9, 0.1, 0), vector(0, 0, 1)],
      }),
    );
    const hits = index.searchVector(vector(1, 0, 0), index.readableMask(['everyone'], 'public'), 2);
    expect(hits.map((hit) => index.chunkIdAt(hit.slot))).toEqual(['d#0', 'd#1']);
    expect(hits[0]!.score).toBeCloseTo(1, 6);
    expect(index.chunksWithoutVector).toBe(1);
    expect(() => index.searchVector(vector(1, 0), index.readableMask(['everyone'], 'public'), 2)).toThrow(
      /2 dimensions/,
    );
  });

  it('bounds lexical work: a term in most chunks only re-scores what a rarer term found', () => {
    const index = new ChunkIndex({ dimensions: 2, maxScannedPostings: 50 });
    for (let number = 0; number < 400; number += 1) {
      index.putDocument(
        document(`doc${number}`, [`common filler ${number % 7 === 0 ? 'rare' : 'plain'} words`]),
      );
    }
    const readable = index.readableMask(['everyone'], 'public');
    // "rare" is in 58 chunks (> 50): with every term common, the rarest list is scanned on its own.
    const hits = index.searchLexical(['rare', 'common'], readable, 1000);
    expect(hits).toHaveLength(58);
    // "common" alone is in all 400 chunks; its list is scanned because nothing rarer was asked for.
    expect(index.searchLexical(['common'], readable, 1000)).toHaveLength(400);
    index.putDocument(document('special', ['common unique']));
    const withRare = index.searchLexical(
      queryTerms('unique common'),
      index.readableMask(['everyone'], 'public'),
      1000,
    );
    expect(withRare.map((hit) => index.chunkIdAt(hit.slot))).toEqual(['special#0']);
  });
});
