import { getBudget } from '../../store/budget-repository';
import { listDocuments } from '../../store/document-repository';
import { searchChunks } from '../../store/chunk-search';
import { getLatestPolicy } from '../../store/policy-repository';
import { findPrincipalByApiKey } from '../../store/principal-repository';
import { resolvePrompt } from '../../store/prompt-repository';
import { DEMO_DOCUMENTS, DEMO_POLICY_DOCUMENT, seedDemo } from '../../store/seed-demo';
import { createTestDatabase, type TestDatabase } from './test-database';

describe('seedDemo', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('is idempotent and seeds a usable demo tenant', async () => {
    const first = await seedDemo(database.db, { apiKey: 'analyst-key', contractorApiKey: 'contractor-key' });
    const second = await seedDemo(database.db, { apiKey: 'analyst-key', contractorApiKey: 'contractor-key' });
    expect(second.policyVersion).toBe(first.policyVersion);
    expect(second.promptVersions).toEqual({ qa: 1, summarize: 1, extract: 1 });
    expect(second.documents.every((document) => !document.changed && document.version === 1)).toBe(true);
    expect(first.documents.every((document) => document.changed)).toBe(true);

    expect((await getLatestPolicy(database.db, 'demo'))?.document).toEqual(DEMO_POLICY_DOCUMENT);
    expect(await getBudget(database.db, 'demo')).toMatchObject({ limitMicroUsd: 25_000_000 });
    expect(await listDocuments(database.db, 'demo')).toHaveLength(DEMO_DOCUMENTS.length);
    const qa = await resolvePrompt(database.db, { tenantId: 'demo', name: 'qa' });
    expect(qa?.userTemplate).toContain('{{question}}');
    expect(qa?.userTemplate).toContain('{{context}}');
    expect(qa?.systemTemplate).toMatch(/untrusted/);
  });

  it('lets the analyst find the refund policy and keeps the contractor to public documents', async () => {
    const analyst = await findPrincipalByApiKey(database.db, 'analyst-key', 'demo');
    const contractor = await findPrincipalByApiKey(database.db, 'contractor-key', 'demo');
    expect(analyst).toMatchObject({ id: 'demo-analyst', clearance: 'internal', role: 'approver' });
    expect(contractor).toMatchObject({ id: 'demo-contractor', capabilities: ['qa'], clearance: 'public' });

    const hits = await searchChunks(database.db, {
      tenantId: 'demo',
      query: 'What is the refund policy?',
      groups: analyst!.groups,
      clearance: analyst!.clearance,
      topK: 4,
    });
    expect(hits[0]?.documentId).toBe('demo/refund-policy');

    const retention = await searchChunks(database.db, {
      tenantId: 'demo',
      query: 'How long are backups and deleted data retained?',
      groups: contractor!.groups,
      clearance: contractor!.clearance,
      topK: 10,
    });
    expect(retention.map((hit) => hit.documentId)).not.toContain('demo/data-retention');
    const analystRetention = await searchChunks(database.db, {
      tenantId: 'demo',
      query: 'How long are backups and deleted data retained?',
      groups: analyst!.groups,
      clearance: analyst!.clearance,
      topK: 10,
    });
    expect(analystRetention[0]?.documentId).toBe('demo/data-retention');
  });

  it('rotates API keys on a later run', async () => {
    await seedDemo(database.db, { apiKey: 'rotated-key', contractorApiKey: 'contractor-key' });
    expect(await findPrincipalByApiKey(database.db, 'analyst-key', 'demo')).toBeUndefined();
    expect((await findPrincipalByApiKey(database.db, 'rotated-key', 'demo'))?.id).toBe('demo-analyst');
  });
});
