import type { Knex } from 'knex';
import type { Embedder } from '../../retrieval/embedder';
import { normalizeText } from '../../retrieval/normalize-text';
import { defaultEmbedder } from '../../retrieval/static-embedder';
import { deleteDocument, upsertDocument, upsertDocuments } from '../../store/document-repository';
import { searchChunks, searchChunksDetailed, type SearchChunksInput } from '../../store/chunk-search';
import { upsertTenant } from '../../store/tenant-repository';
import { createRetrieveActivity } from '../../activities/retrieve';
import { createTestDatabase, type TestDatabase } from './test-database';

/** The default embedder under another name, counting the texts it embeds. */
function countingEmbedder(model = 'counting-static'): Embedder & { texts: string[] } {
  const inner = defaultEmbedder();
  const texts: string[] = [];
  return {
    model,
    version: '1',
    dimensions: inner.dimensions,
    texts,
    async embed(batch) {
      texts.push(...batch);
      return inner.embed(batch);
    },
  };
}

const paragraph = (topic: string) =>
  `${topic} ${'This sentence pads the paragraph so that it fills most of a chunk on its own. '.repeat(8)}`.trim();

describe('hybrid search over the store', () => {
  let database: TestDatabase;
  let worker: Knex;
  beforeAll(async () => {
    database = await createTestDatabase();
    worker = database.connect();
    for (const id of ['acme', 'globex']) {
      await upsertTenant(database.db, { id, name: id, status: 'active', tier: 'team' });
    }
  });
  afterAll(async () => {
    await database.destroy();
  });

  const ask = (input: Partial<SearchChunksInput> & { query: string }, db: Knex = worker) =>
    searchChunks(db, { tenantId: 'acme', groups: ['everyone'], clearance: 'internal', topK: 10, ...input });

  it('returns offsets into the normalised text, the classification and every score component', async () => {
    const text = `Markdown  files\u00A0are rendered.\n\n\n${paragraph('Rendering uses a pipeline.')}\n\n${paragraph('Tables are supported.')}`;
    await upsertDocument(database.db, {
      tenantId: 'acme',
      externalId: 'markdown',
      title: 'Markdown rendering',
      text,
      aclGroups: ['everyone'],
      classification: 'internal',
    });
    const hits = await ask({ query: 'how is markup turned into pages?', topK: 5 });
    expect(hits.length).toBeGreaterThan(0);
    const normalised = normalizeText(text);
    for (const hit of hits) {
      expect(hit.classification).toBe('internal');
      expect(hit.startOffset).not.toBeNull();
      const span = normalised.slice(hit.startOffset!, hit.endOffset!);
      expect(span.replace(/\s+/g, ' ')).toBe(hit.text.replace(/\s+/g, ' '));
      expect(hit.scores.fused).toBeGreaterThan(0);
      expect(hit.scores.vectorRank ?? hit.scores.lexicalRank).toBeGreaterThan(0);
    }
    const [lexical] = await ask({ query: 'markdown tables', mode: 'lexical' });
    expect(lexical?.scores).toMatchObject({ lexicalRank: 1 });
    expect(lexical?.score).toBe(lexical?.scores.lexical);
  });

  it('sees another handle’s deletion, ACL revocation and new content on its next query, without re-embedding', async () => {
    const embedder = countingEmbedder();
    const document = {
      tenantId: 'acme',
      externalId: 'pool',
      title: 'Connection pool',
      text: 'The pool keeps idle browsers alive and lends them out on acquire, taking them back on release.',
      aclGroups: ['everyone', 'support'],
      classification: 'internal' as const,
    };
    await upsertDocument(database.db, document, { embedder });
    const search = (groups = ['everyone']) =>
      ask({ query: 'browsers acquire release', groups, mode: 'lexical' });
    const ids = async (groups?: string[]) => [
      ...new Set((await search(groups)).map((hit) => hit.documentId)),
    ];
    expect(await ids()).toEqual(['acme/pool']);
    await searchChunks(
      worker,
      { tenantId: 'acme', query: 'browsers', groups: ['everyone'], clearance: 'internal', topK: 3 },
      { embedder },
    );

    const embeddedBefore = embedder.texts.length;
    await upsertDocument(database.db, { ...document, aclGroups: ['support'] }, { embedder });
    expect(await ids()).toEqual([]);
    expect(await ids(['support'])).toEqual(['acme/pool']);
    await upsertDocument(
      database.db,
      { ...document, aclGroups: ['support'], classification: 'restricted' },
      { embedder },
    );
    expect(await ids(['support'])).toEqual([]);
    // Metadata changes never re-embed.
    expect(embedder.texts.length).toBe(embeddedBefore);
    const vectorSearch = await searchChunks(
      worker,
      {
        tenantId: 'acme',
        query: 'browsers',
        groups: ['support'],
        clearance: 'restricted',
        topK: 3,
        mode: 'vector',
      },
      { embedder },
    );
    expect(vectorSearch.map((hit) => hit.documentId)).toEqual(['acme/pool']);

    await upsertDocument(
      database.db,
      { ...document, text: 'Completely different words about gardening.' },
      { embedder },
    );
    expect(await ids()).toEqual([]);
    expect((await ask({ query: 'gardening', mode: 'lexical' })).map((hit) => hit.documentId)).toEqual([
      'acme/pool',
    ]);

    expect(await deleteDocument(database.db, 'acme', 'pool')).toBe(true);
    expect(await deleteDocument(database.db, 'acme', 'pool')).toBe(false);
    expect(await ask({ query: 'gardening', mode: 'lexical' })).toEqual([]);
    expect(
      (await ask({ query: 'gardening', mode: 'vector' })).some((hit) => hit.documentId === 'acme/pool'),
    ).toBe(false);
  });

  it('embeds only chunks whose text changed, and in batches', async () => {
    const embedder = countingEmbedder('batch-static');
    const base = {
      tenantId: 'globex',
      title: 'Handbook',
      aclGroups: ['everyone'],
      classification: 'public' as const,
    };
    const results = await upsertDocuments(
      database.db,
      [
        {
          ...base,
          externalId: 'b',
          text: `${paragraph('First.')}\n\n${paragraph('Second.')}\n\n${paragraph('Third.')}`,
        },
        { ...base, externalId: 'a', text: 'Short note.' },
      ],
      { embedder },
    );
    expect(results.map((result) => [result.documentId, result.version])).toEqual([
      ['globex/b', 1],
      ['globex/a', 1],
    ]);
    const chunks = results[0]!.chunkCount;
    expect(chunks).toBeGreaterThanOrEqual(3);
    expect(embedder.texts).toHaveLength(chunks + 1);
    embedder.texts.length = 0;
    const changed = await upsertDocument(
      database.db,
      {
        ...base,
        externalId: 'b',
        text: `${paragraph('First.')}\n\n${paragraph('Second.')}\n\n${paragraph('Changed third.')}`,
      },
      { embedder },
    );
    expect(changed.version).toBe(2);
    expect(embedder.texts).toHaveLength(1);
    expect(embedder.texts[0]).toContain('Changed third.');
    const stored = (await database.db('chunk_embeddings').where({ document_id: 'globex/b' })) as unknown[];
    expect(stored).toHaveLength(changed.chunkCount);
    await expect(
      upsertDocuments(database.db, [
        { ...base, externalId: 'x', text: 'one' },
        { ...base, externalId: 'x', text: 'two' },
      ]),
    ).rejects.toThrow(/appears twice/);
  });

  it('reports chunks without a vector from the search model and still finds them lexically, vector ranking included', async () => {
    const other = countingEmbedder('another-model');
    const query = {
      tenantId: 'globex',
      query: 'short note',
      groups: ['everyone'],
      clearance: 'public' as const,
      topK: 5,
    };
    const result = await searchChunksDetailed(worker, query, { embedder: other });
    expect(result.embeddingModel).toBe('another-model');
    expect(result.staleChunks).toBeGreaterThan(0);
    expect(result.vectorCandidates).toBe(0);
    expect(result.hits.map((hit) => hit.documentId)).toContain('globex/a');
    // Asked for vectors alone, it ranks hybrid while chunks lack a vector from the model.
    const vector = await searchChunksDetailed(worker, { ...query, mode: 'vector' }, { embedder: other });
    expect(vector.staleChunks).toBeGreaterThan(0);
    expect(vector.mode).toBe('hybrid');
    expect(vector.hits.map((hit) => hit.documentId)).toContain('globex/a');
    const embedded = await searchChunksDetailed(worker, {
      ...query,
      tenantId: 'acme',
      clearance: 'internal',
      mode: 'vector',
    });
    expect(embedded.staleChunks).toBe(0);
    expect(embedded.mode).toBe('vector');
  });

  it('fits hits to a token budget and drops near duplicates', async () => {
    const copy = paragraph('Refunds are paid within fourteen days.');
    for (const externalId of ['refunds-en', 'refunds-copy']) {
      await upsertDocument(database.db, {
        tenantId: 'globex',
        externalId,
        title: 'Refunds',
        text: copy,
        aclGroups: ['everyone'],
        classification: 'public',
      });
    }
    const input = {
      tenantId: 'globex',
      query: 'refunds paid',
      groups: ['everyone'],
      clearance: 'public' as const,
      topK: 10,
    };
    const deduplicated = await searchChunks(worker, input);
    const refundHits = deduplicated.filter((hit) => hit.documentId.startsWith('globex/refunds'));
    expect(refundHits).toHaveLength(1);
    const all = await searchChunks(worker, { ...input, removeDuplicates: false });
    expect(all.filter((hit) => hit.documentId.startsWith('globex/refunds'))).toHaveLength(2);
    const budgeted = await searchChunks(worker, {
      ...input,
      removeDuplicates: false,
      contextTokenBudget: Math.ceil(copy.length / 4),
    });
    expect(budgeted).toHaveLength(1);
  });

  it('serialises concurrent batches over the same documents without deadlock or duplicate chunks', async () => {
    const inputs = Array.from({ length: 12 }, (_, index) => ({
      tenantId: 'globex',
      externalId: `concurrent-${index}`,
      title: `Concurrent ${index}`,
      text: paragraph(`Document ${index}.`),
      aclGroups: ['everyone'],
      classification: 'public' as const,
    }));
    // better-sqlite3 waits for a lock synchronously, which would stall this one process; SQLite writers in
    // separate worker processes queue on the file lock instead. Here SQLite shares one handle's pool.
    const other = database.postgres ? database.connect() : database.db;
    await Promise.all([
      upsertDocuments(database.db, inputs),
      upsertDocuments(
        other,
        [...inputs].reverse().map((input) => ({ ...input, text: `${input.text} Second writer.` })),
      ),
      upsertDocuments(
        database.db,
        inputs.slice(3, 9).map((input) => ({ ...input, aclGroups: ['support'] })),
      ),
    ]);
    for (const input of inputs) {
      const documentId = `globex/${input.externalId}`;
      const [document] = (await database.db('documents').where({ id: documentId })) as Array<{
        version: number;
      }>;
      const chunks = (await database.db('chunks').where({ document_id: documentId })) as Array<{
        document_version: number;
      }>;
      const vectors = (await database.db('chunk_embeddings').where({ document_id: documentId })) as unknown[];
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.every((chunk) => Number(chunk.document_version) === Number(document!.version))).toBe(
        true,
      );
      expect(vectors).toHaveLength(chunks.length);
    }
  });

  it('the retrieve step ranks as the plan says: hybrid unless the policy chose vectors or BM25 alone', async () => {
    const retrieve = createRetrieveActivity({
      db: worker,
      embedder: defaultEmbedder(),
      knowledgeBaseClient: undefined,
    });
    const input = {
      tenantId: 'acme',
      query: 'markdown tables',
      groups: ['everyone'],
      clearance: 'internal' as const,
      topK: 5,
    };
    const ranked = (hits: Array<{ chunkId: string; score: number }>) =>
      hits.map((hit) => [hit.chunkId, hit.score]);
    const expected = {
      hybrid: ranked(await ask({ ...input, mode: 'hybrid' })),
      vector: ranked(await ask({ ...input, mode: 'vector' })),
      lexical: ranked(await ask({ ...input, mode: 'lexical' })),
    };
    expect(expected.hybrid.length).toBeGreaterThan(0);
    expect(expected.lexical).not.toEqual(expected.hybrid);
    expect(expected.vector).not.toEqual(expected.hybrid);
    expect(ranked(await retrieve(input))).toEqual(expected.hybrid);
    expect(ranked(await retrieve({ ...input, mode: 'vector' }))).toEqual(expected.vector);
    expect(ranked(await retrieve({ ...input, mode: 'lexical' }))).toEqual(expected.lexical);
  });
});
