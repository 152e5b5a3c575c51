import { RetrievalUnavailableError } from '../../client/errors';
import { startBedrockEmulator, type BedrockEmulator } from '../../emulators/bedrock-runtime-emulator';
import { listAuditEvents } from '../../store/audit-repository';
import { putPolicy } from '../../store/policy-repository';
import { DEMO_POLICY_DOCUMENT } from '../../store/seed-demo';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const KNOWLEDGE_BASE = 'KBDEMO0001';

describe('a Bedrock Knowledge Base as the retrieval source of a policy', () => {
  let harness: GatehouseHarness;
  let bedrock: BedrockEmulator;
  beforeAll(async () => {
    bedrock = await startBedrockEmulator({
      knowledgeBases: {
        [KNOWLEDGE_BASE]: [
          {
            text: 'Orbit plan refunds are paid within 3 business days of the request.',
            uri: 's3://larkspur-kb/demo/orbit-refunds.md',
            metadata: {
              tenant_id: 'demo',
              acl_groups: ['everyone'],
              classification: 'public',
              document_id: 'kb/orbit-refunds',
              document_version: 4,
            },
          },
          {
            text: 'Orbit plan refunds for the board are decided in the quarterly review.',
            uri: 's3://larkspur-kb/demo/board-refunds.md',
            metadata: { tenant_id: 'demo', acl_groups: ['board'], classification: 'public' },
          },
          {
            text: 'Orbit plan refunds at Globex take 30 days.',
            uri: 's3://larkspur-kb/globex/refunds.md',
            metadata: { tenant_id: 'globex', acl_groups: ['everyone'], classification: 'public' },
          },
        ],
      },
    });
    harness = await startHarness({
      bedrock: {
        defaultRegion: 'us-east-1',
        endpoint: bedrock.endpoint,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await bedrock?.close();
  });

  it('searches the knowledge base with the caller as its filter, and cites only what the caller may read', async () => {
    await putPolicy(harness.db, 'demo', {
      ...DEMO_POLICY_DOCUMENT,
      retrieval: {
        ...DEMO_POLICY_DOCUMENT.retrieval,
        source: { type: 'bedrock-knowledge-base', knowledgeBaseId: KNOWLEDGE_BASE },
      },
    });
    const result = await harness.gatehouse.execute(
      harness.input({ requestId: `kb-${Date.now()}`, question: 'How fast are Orbit plan refunds paid?' }),
    );
    expect(result.citations.map((citation) => citation.documentId)).toEqual(['kb/orbit-refunds']);
    expect(result.output).toContain('within 3 business days');
    const [call] = bedrock.calls().filter((entry) => entry.operation === 'retrieve');
    expect(call?.modelId).toBe(KNOWLEDGE_BASE);
    expect(call?.retrieve).toMatchObject({
      retrievalConfiguration: {
        vectorSearchConfiguration: {
          numberOfResults: 4,
          filter: {
            andAll: [
              { equals: { key: 'tenant_id', value: 'demo' } },
              {
                orAll: [
                  { listContains: { key: 'acl_groups', value: 'everyone' } },
                  { listContains: { key: 'acl_groups', value: 'support' } },
                ],
              },
              { in: { key: 'classification', value: ['public', 'internal'] } },
            ],
          },
        },
      },
    });
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    const retrieved = events.find((event) => event.step === 'retrieve')?.payload as { chunks: unknown[] };
    expect(retrieved.chunks).toEqual([
      expect.objectContaining({ documentId: 'kb/orbit-refunds', documentVersion: 4 }),
    ]);
  });

  it('fails as Retrieval.Unavailable, without retrying, when the knowledge base does not exist', async () => {
    await putPolicy(harness.db, 'demo', {
      ...DEMO_POLICY_DOCUMENT,
      retrieval: {
        ...DEMO_POLICY_DOCUMENT.retrieval,
        source: { type: 'bedrock-knowledge-base', knowledgeBaseId: 'KBMISSING1' },
      },
    });
    bedrock.reset();
    const error = await harness.gatehouse
      .execute(
        harness.input({
          requestId: `kb-missing-${Date.now()}`,
          question: 'How fast are Orbit plan refunds paid?',
        }),
      )
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    expect(error).toBeInstanceOf(RetrievalUnavailableError);
    expect((error as Error).message).toContain('ResourceNotFoundException');
    expect(bedrock.calls().filter((entry) => entry.operation === 'retrieve')).toHaveLength(1);
  });
});
