import { randomBytes } from 'node:crypto';
import { type GatehouseRequestError, PolicyDeniedError } from '../../client/errors';
import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import {
  startOpenAiCompatibleEmulator,
  type OpenAiEmulator,
} from '../../emulators/openai-compatible-emulator';
import { hashApiKey } from '../../governance/caller-proof';
import { createOpenAiCompatibleProvider } from '../../providers/openai-compatible-provider';
import { listAuditEvents } from '../../store/audit-repository';
import { upsertDocument } from '../../store/document-repository';
import { putPolicy } from '../../store/policy-repository';
import { upsertPrincipal } from '../../store/principal-repository';
import { DEMO_POLICY_DOCUMENT } from '../../store/seed-demo';
import { loadRouteTable } from '../../config/load-route-table';
import { isolatedRouteTable, startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const PUBLIC_MODEL = 'public-llama';
const VAULT_KEY = `vault-analyst-${randomBytes(12).toString('hex')}`;
const APPROVER_KEY = `vault-approver-${randomBytes(12).toString('hex')}`;

/** A cheap model route that may only carry public data, in front of the offline route that carries anything. */
function table(suffix: string, endpoint: string): RouteTable {
  const shipped = loadRouteTable(`${__dirname}/../../config/routes.json`);
  const extractive = shipped.routes[0]!;
  return isolatedRouteTable(
    suffix,
    routeTableSchema.parse({
      ...shipped,
      routes: [
        {
          ...extractive,
          id: 'public-model',
          provider: 'openai-compatible',
          model: PUBLIC_MODEL,
          endpoint,
          label: 'a hosted model for public data only',
          dataClasses: ['public'],
          degraded: false,
          taskQueue: 'gatehouse-route-public-model',
        },
        extractive,
      ],
      tasks: { default: { routes: ['public-model', 'extractive'] } },
    }),
  );
}

describe('a request is handled as the strictest of its declaration and what it retrieves', () => {
  let harness: GatehouseHarness;
  let emulator: OpenAiEmulator;
  const vault = { tenantId: 'demo', apiKey: VAULT_KEY };

  beforeAll(async () => {
    emulator = await startOpenAiCompatibleEmulator();
    harness = await startHarness({
      routeTable: (suffix) => table(suffix, emulator.endpoint),
      providers: { 'openai-compatible': createOpenAiCompatibleProvider({}) },
    });
    const base = {
      tenantId: 'demo',
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'restricted' as const,
      status: 'active' as const,
    };
    await upsertPrincipal(harness.db, {
      ...base,
      id: 'vault-analyst',
      name: 'Vault analyst',
      role: 'requester',
      apiKeyHash: hashApiKey(VAULT_KEY),
    });
    await upsertPrincipal(harness.db, {
      ...base,
      id: 'vault-approver',
      name: 'Vault approver',
      role: 'approver',
      apiKeyHash: hashApiKey(APPROVER_KEY),
    });
    await upsertDocument(harness.db, {
      tenantId: 'demo',
      externalId: 'escalation-codes',
      title: 'Refund escalation codes',
      classification: 'restricted',
      aclGroups: ['everyone'],
      text: 'Refund escalation codes are issued by the finance vault. The refund escalation code for this quarter is VAULT-7731.',
    });
  });
  afterAll(async () => {
    await harness?.close();
    await emulator?.close();
  });

  it('routes, approves and audits a request declared public as restricted once it retrieves a restricted document', async () => {
    await putPolicy(harness.db, 'demo', {
      ...DEMO_POLICY_DOCUMENT,
      allowedDataClasses: ['public', 'internal', 'confidential', 'restricted'],
      approval: { requiredForDataClasses: ['restricted'], timeoutSeconds: 3600 },
    });
    const submitted = await harness.gatehouse.submit({
      ...vault,
      taskType: 'qa',
      dataClass: 'public',
      question: 'What is the refund escalation code this quarter?',
    });
    const deadline = Date.now() + 15_000;
    while ((await harness.gatehouse.progress(submitted.workflowId, vault)).outcome !== 'awaiting-approval') {
      if (Date.now() > deadline) throw new Error('the request never waited for approval');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const waiting = await harness.gatehouse.progress(submitted.workflowId, vault);
    expect(waiting.dataClass).toEqual({
      declared: 'public',
      effective: 'restricted',
      raisedBy: ['demo/escalation-codes'],
    });
    await harness.gatehouse.approve(submitted.workflowId, {
      approverId: 'vault-approver',
      apiKey: APPROVER_KEY,
    });
    const result = await harness.gatehouse.result(submitted.workflowId, vault);

    expect(result.dataClass).toEqual({
      declared: 'public',
      effective: 'restricted',
      raisedBy: ['demo/escalation-codes'],
    });
    expect(result.route.id).toBe('extractive');
    expect(result.routePlan.excluded).toEqual([
      { routeId: 'public-model', reason: "does not carry 'restricted' data" },
    ]);
    expect(emulator.callCount(PUBLIC_MODEL)).toBe(0);
    expect(result.output).toContain('VAULT-7731');
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    expect(events.find((event) => event.step === 'authorize' && event.attempt === 0)?.payload).toMatchObject({
      declaredDataClass: 'public',
    });
    expect(
      events.find((event) => event.eventType === AUDIT_EVENT_TYPES.approvalApproved)?.payload,
    ).toMatchObject({ approverId: 'vault-approver' });
    expect(
      events.find((event) => event.eventType === AUDIT_EVENT_TYPES.requestSucceeded)?.payload,
    ).toMatchObject({
      dataClass: { declared: 'public', effective: 'restricted' },
    });
  });

  it('still uses the public route when nothing sensitive was retrieved', async () => {
    const result = await harness.gatehouse.execute({
      ...vault,
      taskType: 'qa',
      dataClass: 'public',
      question: 'How long does shipping take?',
    });
    expect(result.dataClass.effective).toBe('public');
    expect(result.route.id).toBe('public-model');
  });

  it('is denied when policy does not allow the class of what was retrieved', async () => {
    await putPolicy(harness.db, 'demo', {
      ...DEMO_POLICY_DOCUMENT,
      allowedDataClasses: ['public', 'internal'],
    });
    const error = await harness.gatehouse
      .execute({
        ...vault,
        taskType: 'qa',
        dataClass: 'public',
        question: 'What is the refund escalation code this quarter?',
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PolicyDeniedError);
    expect((error as GatehouseRequestError).step).toBe('retrieve');
    expect((error as Error).message).toMatch(
      /retrieved documents are 'restricted' \(demo\/escalation-codes\)/,
    );
    expect(emulator.callCount(PUBLIC_MODEL)).toBe(1);
  });
});
