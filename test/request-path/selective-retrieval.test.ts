import { listAuditEvents } from '../../store/audit-repository';
import { scheduledActivityTypes, startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

describe('selective retrieval in the request path', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  const ask = async (requestId: string, question: string, retrieval?: 'always' | 'never') => {
    const submitted = await harness.gatehouse.submit(harness.input({ requestId, question, retrieval }));
    await harness.gatehouse.result(submitted.workflowId, harness.caller);
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    return {
      plan: events.find((event) => event.step === 'plan-retrieval')?.payload,
      retrieve: events.find((event) => event.step === 'retrieve'),
      activities: await scheduledActivityTypes(submitted.handle),
    };
  };

  it.each([
    [
      'a greeting skips the search',
      'selective-greeting',
      'Hello there!',
      undefined,
      false,
      'classifier',
      'greeting',
    ],
    [
      'a transformation of supplied text skips the search',
      'selective-supplied',
      'Rewrite this more politely: "send me the invoice now or we stop working with you today"',
      undefined,
      false,
      'classifier',
      'supplied-text',
    ],
    [
      'an information need searches',
      'selective-need',
      'What is the refund policy?',
      undefined,
      true,
      'classifier',
      'information-need',
    ],
    [
      'the hint makes a greeting search',
      'selective-hint-always',
      'Hello there!',
      'always',
      true,
      'hint',
      null,
    ],
    [
      'the hint skips an information need',
      'selective-hint-never',
      'What is the refund policy?',
      'never',
      false,
      'hint',
      null,
    ],
  ] as const)(
    '%s, and the audit says why',
    async (_name, requestId, question, hint, searched, decidedBy, queryClass) => {
      const { plan, retrieve, activities } = await ask(requestId, question, hint);
      expect(plan).toMatchObject({ enabled: searched, decidedBy, queryClass });
      expect(activities.includes('retrieve')).toBe(searched);
      expect(retrieve?.eventType).toBe(searched ? 'step.succeeded' : 'step.skipped');
    },
  );
});
