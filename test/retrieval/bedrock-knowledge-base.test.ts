import { RetrieveCommand } from '@aws-sdk/client-bedrock-agent-runtime';
import { DATA_CLASSES, type DataClass } from '../../domain/data-class';
import {
  startBedrockEmulator,
  type BedrockEmulator,
  type EmulatedKnowledgeBaseDocument,
} from '../../emulators/bedrock-runtime-emulator';
import {
  chunksFromRetrieveResults,
  createKnowledgeBaseClient,
  knowledgeBaseFilter,
  retrieveFromKnowledgeBase,
} from '../../retrieval/bedrock-knowledge-base-retriever';
import { matchesFilter } from '../../emulators/emulated-knowledge-base';
import { seededRandom } from '../../domain/seeded-random';

const KNOWLEDGE_BASE = 'KB12345678';
const TENANTS = ['acme', 'globex', 'initech'] as const;
const GROUPS: readonly string[] = ['everyone', 'support', 'finance', 'legal'];
const WORDS = [
  'invoice',
  'refund',
  'ledger',
  'payroll',
  'contract',
  'router',
  'kernel',
  'backup',
  'vacuum',
  'replica',
];
const rank = (classification: DataClass) => DATA_CLASSES.indexOf(classification);

describe('knowledgeBaseFilter', () => {
  it('maps tenant, ACL groups and clearance onto Retrieve metadata filters', () => {
    expect(knowledgeBaseFilter({ tenantId: 'acme', groups: ['support'], clearance: 'internal' })).toEqual({
      andAll: [
        { equals: { key: 'tenant_id', value: 'acme' } },
        { listContains: { key: 'acl_groups', value: 'support' } },
        { in: { key: 'classification', value: ['public', 'internal'] } },
      ],
    });
    expect(
      knowledgeBaseFilter({
        tenantId: 'acme',
        groups: ['support', 'everyone', 'support'],
        clearance: 'public',
      }),
    ).toMatchObject({
      andAll: [
        {},
        {
          orAll: [
            { listContains: { key: 'acl_groups', value: 'everyone' } },
            { listContains: { key: 'acl_groups', value: 'support' } },
          ],
        },
        { in: { key: 'classification', value: ['public'] } },
      ],
    });
  });

  it('nests groups beyond the five members orAll allows, and reads nothing for a caller in no group', () => {
    const groups = Array.from({ length: 12 }, (_, index) => `g${String(index).padStart(2, '0')}`);
    const filter = knowledgeBaseFilter({ tenantId: 'acme', groups, clearance: 'restricted' });
    const orAll = (filter?.andAll?.[1] as { orAll: Array<{ orAll: unknown[] }> }).orAll;
    expect(orAll.map((member) => member.orAll.length)).toEqual([5, 5, 2]);
    expect(knowledgeBaseFilter({ tenantId: 'acme', groups: [], clearance: 'restricted' })).toBeUndefined();
  });

  it('drops a result whose metadata the caller may not read, whatever the knowledge base returned', () => {
    const result = (metadata: Record<string, unknown>) => ({
      content: { text: 'Refunds take 5 days.' },
      metadata,
    });
    const { chunks, droppedByPermissionCheck } = chunksFromRetrieveResults(
      KNOWLEDGE_BASE,
      { tenantId: 'acme', groups: ['support'], clearance: 'internal' },
      [
        result({
          tenant_id: 'acme',
          acl_groups: ['support'],
          classification: 'internal',
          document_id: 'acme/a',
        }),
        result({ tenant_id: 'globex', acl_groups: ['support'], classification: 'public' }),
        result({ tenant_id: 'acme', acl_groups: ['finance'], classification: 'public' }),
        result({ tenant_id: 'acme', acl_groups: ['support'], classification: 'confidential' }),
        result({ tenant_id: 'acme', acl_groups: 'support', classification: 'public' }),
        result({}),
      ],
    );
    expect(chunks.map((chunk) => chunk.documentId)).toEqual(['acme/a']);
    expect(droppedByPermissionCheck).toBe(5);
  });
});

describe('the emulated knowledge base filter', () => {
  const metadata = { tenant_id: 'acme', acl_groups: ['support'], classification: 'internal' };
  it.each([
    [{ equals: { key: 'tenant_id', value: 'acme' } }, true],
    [{ listContains: { key: 'acl_groups', value: 'finance' } }, false],
    [{ in: { key: 'classification', value: ['public'] } }, false],
    [
      {
        orAll: [
          { equals: { key: 'tenant_id', value: 'x' } },
          { equals: { key: 'tenant_id', value: 'acme' } },
        ],
      },
      true,
    ],
  ])('%j → %s', (filter, expected) => {
    expect(matchesFilter(metadata, filter)).toBe(expected);
  });
  it('refuses what Retrieve refuses', () => {
    expect(() =>
      matchesFilter(metadata, { andAll: [{ equals: { key: 'tenant_id', value: 'acme' } }] }),
    ).toThrow(/between 2 and 5/);
    expect(() =>
      matchesFilter(metadata, { equals: { key: 'a', value: 1 }, in: { key: 'b', value: [] } }),
    ).toThrow(/exactly one operator/);
    expect(() => matchesFilter(metadata, { near: { key: 'a', value: 1 } })).toThrow(/unsupported/);
  });
});

describe('the Knowledge Bases retriever through the SDK and the emulator', () => {
  let bedrock: BedrockEmulator;
  const random = seededRandom(20261218);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const documents: EmulatedKnowledgeBaseDocument[] = [];
  const client = () =>
    createKnowledgeBaseClient({
      region: 'us-east-1',
      endpoint: bedrock.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });

  beforeAll(async () => {
    for (let index = 0; index < 150; index += 1) {
      const tenantId = pick(TENANTS);
      documents.push({
        text: `Document ${index} about ${pick(WORDS)} and ${pick(WORDS)} for ${tenantId}.`,
        uri: `s3://kb-bucket/${tenantId}/doc-${index}.md`,
        metadata: {
          tenant_id: tenantId,
          acl_groups: [...new Set([pick(GROUPS), ...(random() < 0.3 ? [pick(GROUPS)] : [])])],
          classification: pick(DATA_CLASSES),
          document_id: `${tenantId}/doc-${index}`,
          document_version: 1 + Math.floor(random() * 3),
        },
      });
    }
    bedrock = await startBedrockEmulator({ knowledgeBases: { [KNOWLEDGE_BASE]: documents } });
  });
  afterAll(async () => {
    await bedrock?.close();
  });

  it('returns chunks with provenance and sends a filter the knowledge base applies before scoring', async () => {
    const { chunks } = await retrieveFromKnowledgeBase(
      { knowledgeBaseId: KNOWLEDGE_BASE, client: client() },
      { tenantId: 'acme', query: 'invoice refund', groups: [...GROUPS], clearance: 'restricted', topK: 5 },
    );
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks[0]).toMatchObject({
      documentId: expect.stringMatching(/^acme\/doc-\d+$/),
      sourceUri: expect.stringMatching(/^s3:\/\/kb-bucket\/acme\//),
      instructionSignals: [],
    });
    const call = bedrock.calls().find((entry) => entry.operation === 'retrieve');
    expect(call?.retrieve).toMatchObject({
      retrievalQuery: { text: 'invoice refund' },
      retrievalConfiguration: {
        vectorSearchConfiguration: { numberOfResults: 5, filter: { andAll: expect.any(Array) } },
      },
    });
  });

  it('500 mixed queries across 3 tenants and 4 groups return no chunk the caller may not read', async () => {
    const knowledgeBase = { knowledgeBaseId: KNOWLEDGE_BASE, client: client() };
    const byId = new Map(documents.map((document) => [document.metadata.document_id as string, document]));
    let returned = 0;
    let leaks = 0;
    let droppedByUs = 0;
    let unfilteredWouldLeak = 0;
    for (let query = 0; query < 500; query += 1) {
      const caller = {
        tenantId: pick(TENANTS),
        groups: [...new Set([pick(GROUPS), ...(random() < 0.5 ? [pick(GROUPS)] : [])])],
        clearance: pick(DATA_CLASSES),
      };
      const text = `${pick(WORDS)} ${pick(WORDS)}`;
      const result = await retrieveFromKnowledgeBase(knowledgeBase, { ...caller, query: text, topK: 10 });
      droppedByUs += result.droppedByPermissionCheck;
      for (const chunk of result.chunks) {
        returned += 1;
        const metadata = byId.get(chunk.documentId)!.metadata;
        const readable =
          metadata.tenant_id === caller.tenantId &&
          (metadata.acl_groups as string[]).some((group) => caller.groups.includes(group)) &&
          rank(metadata.classification as DataClass) <= rank(caller.clearance);
        if (!readable) leaks += 1;
      }
      if (query % 50 === 0) {
        // The control: the same search without the filter would have returned documents of others.
        const unfiltered = await knowledgeBase.client.send(
          new RetrieveCommand({
            knowledgeBaseId: KNOWLEDGE_BASE,
            retrievalQuery: { text },
            retrievalConfiguration: { vectorSearchConfiguration: { numberOfResults: 10 } },
          }),
        );
        unfilteredWouldLeak += (unfiltered.retrievalResults ?? []).filter(
          (entry) => entry.metadata?.['tenant_id'] !== caller.tenantId,
        ).length;
      }
    }
    expect(leaks).toBe(0);
    // The knowledge base's filter did the work; the retriever's own check found nothing to drop.
    expect(droppedByUs).toBe(0);
    expect(returned).toBeGreaterThan(500);
    expect(unfilteredWouldLeak).toBeGreaterThan(0);
    process.stdout.write(
      `[isolation] knowledge base: 500 queries, ${returned} chunks returned, ${leaks} leaks; ` +
        `${unfilteredWouldLeak} other-tenant results in 10 unfiltered control searches\n`,
    );
  });
});
