import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApprovalDeniedError, type GatehouseRequestError } from '../../client/errors';
import { SEARCH_ATTRIBUTE_KEYS } from '../../domain/search-attribute-keys';
import { listAuditEvents } from '../../store/audit-repository';
import { putPolicy } from '../../store/policy-repository';
import { hashApiKey } from '../../governance/caller-proof';
import { upsertPrincipal } from '../../store/principal-repository';
import { DEMO_POLICY_DOCUMENT } from '../../store/seed-demo';
import { saveHistoryIfRecording } from '../support/history-recording';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const REQUESTER_KEY = 'risk-analyst-key-0123456789abcdef';
const requester = { tenantId: 'demo', apiKey: REQUESTER_KEY };
const APPROVER_KEY = 'risk-approver-key-0123456789abcdef';

async function waitForOutcome(harness: GatehouseHarness, workflowId: string, outcome: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const progress = await harness.gatehouse.progress(workflowId, {
      tenantId: 'demo',
      apiKey: REQUESTER_KEY,
    });
    if (progress.outcome === outcome) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`request ${workflowId} never reached outcome '${outcome}'`);
}

describe('approval of restricted work', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
    const principal = {
      tenantId: 'demo',
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'restricted' as const,
      status: 'active' as const,
    };
    await upsertPrincipal(harness.db, {
      ...principal,
      id: 'risk-analyst',
      name: 'Risk analyst',
      role: 'requester',
      apiKeyHash: hashApiKey(REQUESTER_KEY),
    });
    await upsertPrincipal(harness.db, {
      ...principal,
      id: 'risk-approver',
      name: 'Risk approver',
      role: 'approver',
      apiKeyHash: hashApiKey(APPROVER_KEY),
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function usePolicy(timeoutSeconds: number) {
    await putPolicy(harness.db, 'demo', {
      ...DEMO_POLICY_DOCUMENT,
      allowedDataClasses: ['public', 'internal', 'confidential', 'restricted'],
      approval: { requiredForDataClasses: ['restricted'], timeoutSeconds },
    });
  }

  const restrictedRequest = (requestId: string) => ({
    tenantId: 'demo',
    requestId,
    apiKey: REQUESTER_KEY,
    taskType: 'qa',
    dataClass: 'restricted' as const,
    question: 'What is the refund policy?',
  });

  it('waits for an approver, refuses the wrong ones, and audits who approved', async () => {
    await usePolicy(3600);
    const submitted = await harness.gatehouse.submit(restrictedRequest('approve-me'));
    await waitForOutcome(harness, submitted.workflowId, 'awaiting-approval');
    const attributes = (await submitted.handle.describe()).typedSearchAttributes;
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.outcome)).toBe('awaiting-approval');

    // The requester holds no approver role: the validator rejects before anything reaches history.
    await expect(
      harness.gatehouse.approve(submitted.workflowId, { approverId: 'risk-analyst', apiKey: REQUESTER_KEY }),
    ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    // The right principal with someone else's key: authenticated against the store, refused.
    const forged = await harness.gatehouse
      .approve(submitted.workflowId, { approverId: 'risk-approver', apiKey: REQUESTER_KEY })
      .catch((error: unknown) => error);
    expect(forged).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((forged as Error & { cause?: Error }).cause?.message)).toMatch(
      /does not belong to principal 'risk-approver'/,
    );

    const decision = await harness.gatehouse.approve(submitted.workflowId, {
      approverId: 'risk-approver',
      apiKey: APPROVER_KEY,
      comment: 'ticket RISK-42',
    });
    expect(decision).toEqual({
      decision: 'approved',
      approverId: 'risk-approver',
      comment: 'ticket RISK-42',
    });
    const result = await harness.gatehouse.result(submitted.workflowId, requester);
    expect(result.approval?.approverId).toBe('risk-approver');
    expect(result.output).toMatch(/refund/i);
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    const approvalEvent = events.find((event) => event.eventType === 'approval.approved');
    expect(approvalEvent?.payload).toEqual({ approverId: 'risk-approver', comment: 'ticket RISK-42' });
    await saveHistoryIfRecording(submitted.handle, 'approved-restricted');
  });

  it('fails with Approval.Denied when the approver denies', async () => {
    await usePolicy(3600);
    const submitted = await harness.gatehouse.submit(restrictedRequest('deny-me'));
    await waitForOutcome(harness, submitted.workflowId, 'awaiting-approval');
    await harness.gatehouse.deny(submitted.workflowId, {
      approverId: 'risk-approver',
      apiKey: APPROVER_KEY,
      comment: 'not today',
    });
    const error = await harness.gatehouse
      .result(submitted.workflowId, requester)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApprovalDeniedError);
    expect((error as GatehouseRequestError).failureType).toBe('Approval.Denied');
    expect((error as Error).message).toMatch(/denied by 'risk-approver': not today/);
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    expect(events.map((event) => event.eventType)).toContain('approval.denied');
    expect(events.some((event) => event.step === 'infer')).toBe(false);
  });

  it('denies by itself when nobody decides in time', async () => {
    await usePolicy(1);
    const started = Date.now();
    const submitted = await harness.gatehouse.submit(restrictedRequest('nobody-decides'));
    const error = await harness.gatehouse
      .result(submitted.workflowId, requester)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApprovalDeniedError);
    expect((error as GatehouseRequestError).failureType).toBe('Approval.TimedOut');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    expect(events.map((event) => event.eventType)).toContain('approval.timed-out');
  });
});
