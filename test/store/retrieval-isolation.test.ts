import {
  DATA_CLASSIFICATIONS,
  type DataClassification,
  upsertDocuments,
  type UpsertDocumentInput,
} from '../../store/document-repository';
import { type SearchMode, searchChunks } from '../../store/chunk-search';
import { upsertTenant } from '../../store/tenant-repository';
import { seededRandom } from '../../domain/seeded-random';
import { createTestDatabase, type TestDatabase } from './test-database';

const TENANTS = ['acme', 'globex', 'initech'] as const;
const GROUPS: readonly string[] = ['everyone', 'support', 'finance', 'legal'];
const MODES: SearchMode[] = ['lexical', 'vector', 'hybrid'];
const WORDS = [
  'invoice',
  'refund',
  'ledger',
  'payroll',
  'contract',
  'router',
  'kernel',
  'backup',
  'latency',
  'vacuum',
  'index',
  'replica',
  'archive',
  'budget',
  'audit',
  'policy',
  'escalation',
  'outage',
  'customer',
  'vendor',
];
const rank = (classification: DataClassification) => DATA_CLASSIFICATIONS.indexOf(classification);

/**
 * 500 mixed queries across 3 tenants and 4 groups, on every search path, must return nothing the caller
 * may not read. Halfway through, a second handle (another worker) changes ACLs and classifications;
 * the searching handle must honour them on its next query.
 */
describe('retrieval isolation', () => {
  let database: TestDatabase;
  const random = seededRandom(20261202);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const documents = new Map<
    string,
    { tenantId: string; groups: string[]; classification: DataClassification }
  >();

  beforeAll(async () => {
    database = await createTestDatabase();
    for (const id of TENANTS)
      await upsertTenant(database.db, { id, name: id, status: 'active', tier: 'team' });
    const inputs: UpsertDocumentInput[] = [];
    for (let index = 0; index < 150; index += 1) {
      const tenantId = pick(TENANTS);
      const groups = [...new Set([pick(GROUPS), ...(random() < 0.3 ? [pick(GROUPS)] : [])])];
      const classification = pick(DATA_CLASSIFICATIONS);
      const words = Array.from({ length: 30 }, () => pick(WORDS));
      inputs.push({
        tenantId,
        externalId: `doc-${index}`,
        title: `${pick(WORDS)} notes ${index}`,
        text: `${words.slice(0, 15).join(' ')}.\n\n${words.slice(15).join(' ')} for team ${index}.`,
        aclGroups: groups,
        classification,
      });
      documents.set(`${tenantId}/doc-${index}`, { tenantId, groups, classification });
    }
    await upsertDocuments(database.db, inputs);
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('returns zero chunks the caller may not read in 500 queries, across a permission change', async () => {
    const searcher = database.connect();
    const leaks: unknown[] = [];
    const perMode: Record<string, number> = { lexical: 0, vector: 0, hybrid: 0 };
    for (let query = 0; query < 500; query += 1) {
      if (query === 250) {
        // Another worker revokes and reclassifies a third of the documents.
        const changed: UpsertDocumentInput[] = [];
        for (const [documentId, document] of documents) {
          if (random() >= 0.33) continue;
          const groups = [pick(GROUPS)];
          const classification = pick(DATA_CLASSIFICATIONS);
          const row = (await database.db('documents').where({ id: documentId }).first()) as {
            title: string;
            external_id: string;
          };
          const text = (
            (await database
              .db('chunks')
              .where({ document_id: documentId })
              .orderBy('ordinal')
              .pluck('text')) as string[]
          ).join('\n\n');
          changed.push({
            tenantId: document.tenantId,
            externalId: row.external_id,
            title: row.title,
            text,
            aclGroups: groups,
            classification,
          });
          documents.set(documentId, { ...document, groups, classification });
        }
        await upsertDocuments(database.db, changed);
      }
      const tenantId = pick(TENANTS);
      const groups = GROUPS.filter(() => random() < 0.4);
      const clearance = pick(DATA_CLASSIFICATIONS);
      const mode = MODES[query % MODES.length] as SearchMode;
      const hits = await searchChunks(searcher, {
        tenantId,
        query: `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}?`,
        groups,
        clearance,
        topK: 20,
        mode,
      });
      perMode[mode] = (perMode[mode] as number) + hits.length;
      for (const hit of hits) {
        const document = documents.get(hit.documentId);
        const readable =
          document !== undefined &&
          document.tenantId === tenantId &&
          document.groups.some((group) => groups.includes(group)) &&
          rank(document.classification) <= rank(clearance) &&
          hit.classification === document.classification;
        if (!readable)
          leaks.push({ query, mode, tenantId, groups, clearance, hit: hit.documentId, document });
      }
    }
    expect(leaks).toEqual([]);
    // Every path returned real results, so the zero above is not the zero of an empty search.
    for (const mode of MODES)
      expect({ mode, hits: (perMode[mode] as number) > 200 }).toEqual({ mode, hits: true });
  });
});
