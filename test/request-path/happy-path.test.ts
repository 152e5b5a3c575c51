import { SEARCH_ATTRIBUTE_KEYS } from '../../domain/search-attribute-keys';
import { POLICY_OPTIONAL_STEPS, STEP_ACTIVITY_TYPES, STEP_NAMES } from '../../domain/step-names';
import type { RequestProgress } from '../../domain/step-contracts';
import { listAuditEvents, verifyAuditChain } from '../../store/audit-repository';
import { getBudget } from '../../store/budget-repository';
import { listUsage } from '../../store/usage-repository';
import { saveHistoryIfRecording } from '../support/history-recording';
import { scheduledActivityTypes, startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

describe('a request through the client, end to end', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('answers with citations, and the result agrees with the audit trail and the ledger', async () => {
    const budgetBefore = await getBudget(harness.db, 'demo');
    const submitted = await harness.gatehouse.submit({
      tenantId: 'demo',
      requestId: 'happy-refund-1',
      apiKey: harness.apiKey,
      taskType: 'qa',
      feature: 'help-center',
      question: 'What is the refund policy?',
    });
    const result = await harness.gatehouse.result(submitted.workflowId, harness.caller);

    expect(result.workflowId).toBe('gatehouse/demo/happy-refund-1');
    expect(result.output.length).toBeGreaterThan(20);
    expect(result.output.toLowerCase()).toContain('refund');
    expect(result.citations.length).toBeGreaterThan(0);
    expect(result.citations.map((citation) => citation.documentId).join(' ')).toMatch(/refund/);
    expect(result.route.id).toBe('extractive');
    expect(result.route.label).toMatch(/extractive/);
    expect(result.promptVersion).toBe('qa@1');
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.attempts).toHaveLength(1);
    expect(result.verdicts.every((verdict) => verdict.passed)).toBe(true);
    // The demo policy names no guardrail and redacts nothing: those steps are logged as skipped.
    const activitySteps = STEP_NAMES.filter((step) => !POLICY_OPTIONAL_STEPS.includes(step));
    for (const step of activitySteps) expect(result.timings[step]).toBeGreaterThanOrEqual(0);

    const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    expect(ledger).toHaveLength(1);
    expect(ledger[0]!.costMicroUsd / 1_000_000).toBeCloseTo(result.costUsd, 9);
    expect(ledger[0]!.inputTokens).toBe(result.usage.inputTokens);
    expect(ledger[0]!.outputTokens).toBe(result.usage.outputTokens);

    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    const closing = events.find((event) => event.eventType === 'request.succeeded');
    expect(closing).toBeDefined();
    const payload = closing!.payload as { costUsd: number; promptVersion: string };
    expect(payload.costUsd).toBeCloseTo(result.costUsd, 9);
    expect(payload.promptVersion).toBe(result.promptVersion);
    expect(events.filter((event) => event.step === 'infer' && event.attempt === 1)).toHaveLength(1);
    expect((await verifyAuditChain(harness.db, 'demo')).ok).toBe(true);

    const budgetAfter = await getBudget(harness.db, 'demo');
    expect(budgetAfter!.reservedMicroUsd).toBe(0);
    expect(budgetAfter!.spentMicroUsd - budgetBefore!.spentMicroUsd).toBe(ledger[0]!.costMicroUsd);

    const types = await scheduledActivityTypes(submitted.handle);
    expect(types).toEqual(activitySteps.map((step) => STEP_ACTIVITY_TYPES[step]));

    const description = await submitted.handle.describe();
    const attributes = description.typedSearchAttributes;
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.tenantId)).toBe('demo');
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.taskType)).toBe('qa');
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.feature)).toBe('help-center');
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.outcome)).toBe('succeeded');
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.route)).toBe('extractive');
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.promptVersion)).toBe('qa@1');
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.costUsd)).toBeCloseTo(result.costUsd, 9);
    expect(attributes.get(SEARCH_ATTRIBUTE_KEYS.failedStep)).toBeUndefined();

    const progress = await submitted.handle.query<RequestProgress>('progress');
    expect(progress.currentStep).toBe('done');
    expect(progress.outcome).toBe('succeeded');
    expect(progress.steps.map((step) => step.step)).toEqual([...STEP_NAMES]);

    await saveHistoryIfRecording(submitted.handle, 'succeeded-qa');
  });

  it('returns the finished result, without running again, when a succeeded request is submitted again', async () => {
    const input = {
      tenantId: 'demo',
      requestId: 'happy-again',
      apiKey: harness.apiKey,
      taskType: 'qa',
      question: 'How long does shipping take?',
    };
    const first = await harness.gatehouse.execute(input);
    const second = await harness.gatehouse.execute(input);
    expect(second).toEqual(first);
    const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId: first.workflowId });
    expect(ledger).toHaveLength(1);
  });

  it('validates JSON output against the request schema', async () => {
    const result = await harness.gatehouse.execute({
      tenantId: 'demo',
      apiKey: harness.apiKey,
      taskType: 'qa',
      question: 'What is the refund policy?',
      outputSchema: {
        type: 'object',
        required: ['answer', 'citations'],
        properties: {
          answer: { type: 'string', minLength: 1 },
          citations: { type: 'array', items: { type: 'string' } },
        },
      },
    });
    expect(result.json).toEqual(expect.objectContaining({ answer: expect.any(String) }));
    expect(result.verdicts.find((verdict) => verdict.check === 'output-schema')?.passed).toBe(true);
  });
});
