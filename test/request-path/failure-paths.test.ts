import {
  BudgetExceededError,
  type GatehouseRequestError,
  PolicyDeniedError,
  RequestInvalidError,
} from '../../client/errors';
import { SEARCH_ATTRIBUTE_KEYS } from '../../domain/search-attribute-keys';
import { listAuditEvents, verifyAuditChain } from '../../store/audit-repository';
import { getBudget, setBudget } from '../../store/budget-repository';
import { listUsage } from '../../store/usage-repository';
import { rejectionMessage } from '../store/test-database';
import { saveHistoryIfRecording } from '../support/history-recording';
import { scheduledActivityTypes, startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

describe('requests that must not reach a model', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function expectDenied(input: Parameters<GatehouseHarness['gatehouse']['submit']>[0], reason: RegExp) {
    const submitted = await harness.gatehouse.submit(input);
    const error = await harness.gatehouse
      .result(submitted.workflowId, { tenantId: input.tenantId, apiKey: input.apiKey })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PolicyDeniedError);
    expect((error as GatehouseRequestError).failureType).toBe('Policy.Denied');
    expect((error as GatehouseRequestError).step).toBe('authorize');
    expect((error as Error).message).toMatch(reason);
    const types = await scheduledActivityTypes(submitted.handle);
    expect(types).toEqual(['authorize', 'record']);
    const attributes = (await submitted.handle.describe()).typedSearchAttributes;
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.outcome)).toBe('failed');
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.failedStep)).toBe('authorize');
    return submitted;
  }

  it('denies an unknown tenant, audits it, and calls no model', async () => {
    const submitted = await expectDenied(
      {
        tenantId: 'nobody',
        requestId: 'unknown-tenant',
        apiKey: harness.apiKey,
        taskType: 'qa',
        question: 'What is the refund policy?',
      },
      /tenant 'nobody' does not exist/,
    );
    const events = await listAuditEvents(harness.db, {
      tenantId: 'nobody',
      workflowId: submitted.workflowId,
    });
    // A refusal is a failed step with its reason, not a step that 'succeeded'.
    expect(events.map((event) => event.eventType)).toEqual(['step.failed', 'request.failed']);
    expect((events[1]!.payload as { failure: { type: string } }).failure.type).toBe('Policy.Denied');
    expect(await listUsage(harness.db, { tenantId: 'nobody' })).toHaveLength(0);
    await saveHistoryIfRecording(submitted.handle, 'denied-unknown-tenant');
  });

  it('denies a principal without the task capability', async () => {
    const submitted = await expectDenied(
      {
        tenantId: 'demo',
        requestId: 'no-capability',
        apiKey: harness.contractorApiKey,
        taskType: 'summarize',
        question: 'Summarise the on-call runbook',
      },
      /may not run task 'summarize'/,
    );
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    const authorize = events.find((event) => event.step === 'authorize');
    expect(authorize?.payload).toEqual(
      expect.objectContaining({
        status: 'failed',
        principalId: 'demo-contractor',
        policyVersion: 1,
        reason: "principal 'demo-contractor' may not run task 'summarize' (allowed: qa)",
      }),
    );
    expect(events.at(-1)?.eventType).toBe('request.failed');
  });

  it('denies a wrong API key without saying whose key it was', async () => {
    await expectDenied(
      {
        tenantId: 'demo',
        requestId: 'bad-key',
        apiKey: 'not-a-real-key-0000000000',
        taskType: 'qa',
        question: 'What is the refund policy?',
      },
      /API key is not valid for tenant 'demo'/,
    );
  });

  it('rejects poison input before any workflow starts', async () => {
    const started = Date.now();
    const attempts = [
      { question: '' },
      { question: 'x'.repeat(40_000) },
      { question: 'broken \uD800 surrogate' },
      { tenantId: 'Not A Tenant' },
      { taskType: 42 },
      { outputSchema: JSON.parse('{"a":'.repeat(30) + '1' + '}'.repeat(30)) as Record<string, unknown> },
    ];
    for (const override of attempts) {
      const input = {
        tenantId: 'demo',
        apiKey: harness.apiKey,
        taskType: 'qa',
        question: 'ok?',
        ...override,
      };
      await expect(harness.gatehouse.submit(input as never)).rejects.toBeInstanceOf(RequestInvalidError);
    }
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails with Budget.Exceeded before inference when the budget is spent', async () => {
    await setBudget(harness.db, { tenantId: 'demo', limitMicroUsd: 1 });
    try {
      const submitted = await harness.gatehouse.submit({
        tenantId: 'demo',
        requestId: 'over-budget',
        apiKey: harness.apiKey,
        taskType: 'qa',
        question: 'What is the refund policy?',
      });
      const error = await harness.gatehouse
        .result(submitted.workflowId, harness.caller)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BudgetExceededError);
      expect((error as GatehouseRequestError).step).toBe('reserve-budget');
      const types = await scheduledActivityTypes(submitted.handle);
      expect(types).not.toContain('infer');
      expect(types.at(-1)).toBe('record');
      expect(
        await listUsage(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId }),
      ).toHaveLength(0);
      const budget = await getBudget(harness.db, 'demo');
      expect(budget!.reservedMicroUsd).toBe(0);
      await saveHistoryIfRecording(submitted.handle, 'budget-exceeded');
    } finally {
      await setBudget(harness.db, { tenantId: 'demo', limitMicroUsd: 25_000_000 });
    }
  });

  it('runs one workflow and charges once when the same request id arrives 10 times at once', async () => {
    const input = {
      tenantId: 'demo',
      requestId: 'duplicate-10',
      apiKey: harness.apiKey,
      taskType: 'qa',
      question: 'What is the warranty period?',
    };
    const submissions = await Promise.all(Array.from({ length: 10 }, () => harness.gatehouse.submit(input)));
    const runIds = new Set(
      await Promise.all(submissions.map(async (submission) => (await submission.handle.describe()).runId)),
    );
    expect(submissions.filter((submission) => submission.started)).toHaveLength(1);
    const results = await Promise.all(
      submissions.map((submission) => harness.gatehouse.result(submission.workflowId, harness.caller)),
    );
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    const runs = [];
    for await (const execution of harness.client.workflow.list({
      query: `WorkflowId = '${results[0]!.workflowId}'`,
    })) {
      runs.push(execution.runId);
    }
    // Visibility is eventually consistent; the run ids the starts returned are the immediate check.
    expect(runIds.size).toBe(1);
    expect(runs.length).toBeLessThanOrEqual(1);
    const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId: results[0]!.workflowId });
    expect(ledger).toHaveLength(1);
  });

  it('keeps a verifiable audit chain, and detects an edited row', async () => {
    const verdict = await verifyAuditChain(harness.db, 'demo', {
      chainKeyById: harness.audit.keys.chainKeyById,
    });
    expect(verdict.ok).toBe(true);
    expect(verdict.checked).toBeGreaterThan(5);

    // The append-only trigger refuses the edit through the normal path…
    const refusal = await rejectionMessage(
      harness.db('audit_events').where({ tenant_id: 'demo', seq: 3 }).update({ event_type: 'step.skipped' }),
    );
    expect(refusal).toMatch(/append-only/);
    // …so a tamperer with DDL rights drops it first; the chain still gives them away.
    const postgres = Boolean(process.env.DATABASE_URL);
    await harness.db.raw(
      postgres
        ? 'DROP TRIGGER audit_events_reject_update ON audit_events'
        : 'DROP TRIGGER audit_events_reject_update',
    );
    await harness
      .db('audit_events')
      .where({ tenant_id: 'demo', seq: 3 })
      .update({ event_type: 'step.skipped' });
    const tampered = await verifyAuditChain(harness.db, 'demo', {
      chainKeyById: harness.audit.keys.chainKeyById,
    });
    expect(tampered).toEqual(expect.objectContaining({ ok: false, firstBadSeq: 3 }));
  });
});
