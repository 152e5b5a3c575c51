import {
  DATA_CLASSIFICATIONS,
  type DataClassification,
  extractSearchTerms,
  listDocuments,
  upsertDocument,
} from '../../store/document-repository';
import { searchChunks } from '../../store/chunk-search';
import { upsertTenant } from '../../store/tenant-repository';
import { seededRandom } from '../../domain/seeded-random';
import { createTestDatabase, type TestDatabase } from './test-database';

describe('document repository', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    for (const id of ['acme', 'globex', 'initech']) {
      await upsertTenant(database.db, { id, name: id, status: 'active', tier: 'team' });
    }
  });
  afterAll(async () => {
    await database.destroy();
  });

  const refund = {
    tenantId: 'acme',
    externalId: 'refund-policy',
    title: 'Refund policy',
    text: 'Customers may request a refund within 30 days.\u00A0Refunds go to the original card.\n\n\n\nAnnual plans are refunded pro rata.',
    aclGroups: ['everyone'],
    classification: 'public' as const,
  };

  it('bumps the version only when content or title change, and replaces chunks', async () => {
    const first = await upsertDocument(database.db, refund);
    expect(first).toMatchObject({ documentId: 'acme/refund-policy', version: 1, changed: true });
    expect(first.chunkCount).toBeGreaterThan(0);

    const same = await upsertDocument(database.db, {
      ...refund,
      text: `  ${refund.text.replace('\u00A0', ' ')}  `,
    });
    expect(first).toMatchObject({ change: 'content', embeddedChunks: first.chunkCount });
    expect(same).toEqual({ ...first, changed: false, change: 'none', embeddedChunks: 0 });

    const retitled = await upsertDocument(database.db, { ...refund, title: 'Refunds' });
    expect(retitled).toMatchObject({ version: 2, changed: true });

    const rewritten = await upsertDocument(database.db, {
      ...refund,
      title: 'Refunds',
      text: 'Refunds are available within 14 days of purchase.',
    });
    expect(rewritten).toMatchObject({ version: 3, chunkCount: 1, changed: true });
    const chunks = (await database.db('chunks').where({ document_id: 'acme/refund-policy' })) as Array<{
      document_version: number;
      text: string;
    }>;
    expect(chunks.map((chunk) => [Number(chunk.document_version), chunk.text])).toEqual([
      [3, 'Refunds are available within 14 days of purchase.'],
    ]);
    const hits = await searchChunks(database.db, {
      tenantId: 'acme',
      query: 'original card',
      groups: ['everyone'],
      clearance: 'public',
      topK: 5,
      mode: 'lexical',
    });
    // The replaced version's words are gone from the index, not just from the table.
    expect(hits).toEqual([]);
  });

  it('updates ACL and classification in place without a new version', async () => {
    const result = await upsertDocument(database.db, {
      ...refund,
      title: 'Refunds',
      text: 'Refunds are available within 14 days of purchase.',
      aclGroups: ['support', 'everyone', 'support'],
      classification: 'internal',
    });
    expect(result).toMatchObject({ version: 3, changed: true });
    const [listed] = await listDocuments(database.db, 'acme');
    expect(listed).toMatchObject({
      documentId: 'acme/refund-policy',
      externalId: 'refund-policy',
      version: 3,
      title: 'Refunds',
      classification: 'internal',
      aclGroups: ['everyone', 'support'],
      chunkCount: 1,
    });
    const asPublic = await searchChunks(database.db, {
      tenantId: 'acme',
      query: 'refunds',
      groups: ['everyone'],
      clearance: 'public',
      topK: 5,
    });
    expect(asPublic).toEqual([]);
    const asInternal = await searchChunks(database.db, {
      tenantId: 'acme',
      query: 'refunds',
      groups: ['everyone'],
      clearance: 'internal',
      topK: 5,
    });
    expect(asInternal.map((hit) => hit.documentId)).toEqual(['acme/refund-policy']);
  });

  it('finds the refund document for a natural-language question, best first', async () => {
    await upsertDocument(database.db, {
      tenantId: 'globex',
      externalId: 'refund-policy',
      title: 'Refund policy',
      text: 'You can get a full refund within 30 days of purchase. After that, refunds are pro rata.',
      aclGroups: ['everyone'],
      classification: 'public',
    });
    await upsertDocument(database.db, {
      tenantId: 'globex',
      externalId: 'shipping',
      title: 'Shipping times',
      text: 'What is the fastest shipping option? Express delivery takes two days. The policy is simple.',
      aclGroups: ['everyone'],
      classification: 'public',
    });
    const hits = await searchChunks(database.db, {
      tenantId: 'globex',
      query: 'What is the refund policy?',
      groups: ['everyone'],
      clearance: 'public',
      topK: 4,
    });
    expect(hits[0]?.documentId).toBe('globex/refund-policy');
    expect(hits[0]).toMatchObject({ documentVersion: 1, title: 'Refund policy' });
    for (let index = 1; index < hits.length; index += 1) {
      expect(hits[index - 1]!.score).toBeGreaterThanOrEqual(hits[index]!.score);
    }
    expect(hits[0]!.score).toBeGreaterThan(0);
  });

  it('turns queries into safe bare words and returns [] when nothing is left', async () => {
    expect(extractSearchTerms('What is the refund policy?')).toEqual(['refund', 'policy']);
    expect(extractSearchTerms('')).toEqual([]);
    expect(extractSearchTerms('what is the?')).toEqual([]);
    const hostile = [
      'refund" OR "x',
      'refund*',
      'NEAR(refund policy)',
      'refund:policy',
      "'; DROP TABLE chunks; --",
      '!!! && || :* <-> ()',
      'title: refund -policy ^x {a b}',
    ];
    for (const query of hostile) {
      const hits = await searchChunks(database.db, {
        tenantId: 'globex',
        query,
        groups: ['everyone'],
        clearance: 'public',
        topK: 3,
      });
      expect(Array.isArray(hits)).toBe(true);
    }
    expect(
      await searchChunks(database.db, {
        tenantId: 'globex',
        query: '   ',
        groups: ['everyone'],
        clearance: 'public',
        topK: 3,
      }),
    ).toEqual([]);
    expect(
      await searchChunks(database.db, {
        tenantId: 'globex',
        query: 'refund',
        groups: [],
        clearance: 'restricted',
        topK: 3,
      }),
    ).toEqual([]);
  });

  it('never returns chunks from another tenant, outside the groups, or above clearance', async () => {
    const random = seededRandom(20261127);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const tenants = ['initech', 'globex'];
    const groupPool = ['everyone', 'support', 'engineering', 'finance', 'legal'];
    const vocabulary = ['ledger', 'invoice', 'router', 'kernel', 'payroll', 'contract', 'latency', 'backup'];
    interface Seeded {
      documentId: string;
      tenantId: string;
      groups: string[];
      classification: DataClassification;
      words: Set<string>;
    }
    const seeded: Seeded[] = [];
    for (let index = 0; index < 60; index += 1) {
      const tenantId = pick(tenants);
      const groups = [...new Set([pick(groupPool), ...(random() < 0.4 ? [pick(groupPool)] : [])])];
      const classification = pick(DATA_CLASSIFICATIONS);
      const words = new Set([pick(vocabulary), pick(vocabulary), pick(vocabulary)]);
      const result = await upsertDocument(database.db, {
        tenantId,
        externalId: `property-${index}`,
        title: `Note ${index}`,
        text: `Quarterly note about ${[...words].join(' and ')}. Filed by team ${index}.`,
        aclGroups: groups,
        classification,
      });
      seeded.push({ documentId: result.documentId, tenantId, groups, classification, words });
    }
    const rank = (classification: DataClassification): number => DATA_CLASSIFICATIONS.indexOf(classification);
    for (let trial = 0; trial < 60; trial += 1) {
      const tenantId = pick(tenants);
      const groups = groupPool.filter(() => random() < 0.35);
      const clearance = pick(DATA_CLASSIFICATIONS);
      const queryWords = [pick(vocabulary), pick(vocabulary)];
      const query = `Where is the ${queryWords.join(' or ')}?`;
      // Near-duplicate removal would rightly fold these look-alike notes; this test is about the filter.
      const hits = await searchChunks(database.db, {
        tenantId,
        query,
        groups,
        clearance,
        topK: 100,
        mode: 'lexical',
        removeDuplicates: false,
      });
      const permitted = seeded.filter(
        (document) =>
          document.tenantId === tenantId &&
          document.groups.some((group) => groups.includes(group)) &&
          rank(document.classification) <= rank(clearance),
      );
      const expected = permitted
        .filter((document) => queryWords.some((word) => document.words.has(word)))
        .map((document) => document.documentId)
        .sort();
      // Filtering before ranking means no forbidden chunk takes a slot: the permitted matches are all there.
      expect({ trial, documents: hits.map((hit) => hit.documentId).sort() }).toEqual({
        trial,
        documents: expected,
      });
      // The vector and hybrid paths may rank non-matching chunks too, but never one the caller may not read.
      const readable = new Set(
        (await listDocuments(database.db, tenantId))
          .filter(
            (document) =>
              document.aclGroups.some((group) => groups.includes(group)) &&
              rank(document.classification) <= rank(clearance),
          )
          .map((document) => document.documentId),
      );
      for (const mode of ['vector', 'hybrid'] as const) {
        const found = await searchChunks(database.db, {
          tenantId,
          query,
          groups,
          clearance,
          topK: 100,
          mode,
        });
        expect({ trial, mode, leaked: found.filter((hit) => !readable.has(hit.documentId)) }).toEqual({
          trial,
          mode,
          leaked: [],
        });
        if (readable.size > 0) expect(found.length).toBeGreaterThan(0);
      }
    }
  });
});
