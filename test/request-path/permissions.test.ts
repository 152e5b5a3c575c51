import { documentIdFor } from '../../store/document-repository';
import { DEMO_DOCUMENTS } from '../../store/seed-demo';
import type { RequestProgress } from '../../domain/step-contracts';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const question = 'Who must approve refund requests above 2,000 USD?';
const supportOnly = documentIdFor('demo', 'support-escalation');

async function retrievedDocuments(harness: GatehouseHarness, workflowId: string): Promise<string[]> {
  const progress = await harness.client.workflow.getHandle(workflowId).query<RequestProgress>('progress');
  const retrieve = progress.steps.find((step) => step.step === 'retrieve');
  const chunks = (retrieve?.detail.chunks ?? []) as Array<{ documentId: string }>;
  return chunks.map((chunk) => chunk.documentId);
}

describe('permission-aware retrieval on the request path', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('gives a support principal the support-only document (positive control)', async () => {
    const result = await harness.gatehouse.execute({
      tenantId: 'demo',
      apiKey: harness.apiKey,
      taskType: 'qa',
      question,
    });
    expect(await retrievedDocuments(harness, result.workflowId)).toContain(supportOnly);
    expect(result.citations.map((citation) => citation.documentId)).toContain(supportOnly);
  });

  it("never gives a principal outside the group that group's chunks, nor anything above its clearance", async () => {
    const readable = new Set(
      DEMO_DOCUMENTS.filter(
        (document) => document.aclGroups.includes('everyone') && document.classification === 'public',
      ).map((document) => documentIdFor('demo', document.externalId)),
    );
    const questions = [
      question,
      'What is the on-call escalation for a severity 1 outage?',
      'What are the enterprise discount rules?',
      'How long are backups kept?',
    ];
    for (const text of questions) {
      const result = await harness.gatehouse.execute({
        tenantId: 'demo',
        apiKey: harness.contractorApiKey,
        taskType: 'qa',
        dataClass: 'public',
        question: text,
      });
      const retrieved = await retrievedDocuments(harness, result.workflowId);
      for (const documentId of [...retrieved, ...result.citations.map((citation) => citation.documentId)]) {
        expect(readable.has(documentId)).toBe(true);
      }
      expect(result.output).not.toContain('support lead');
    }
  });
});
