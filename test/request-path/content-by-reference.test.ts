import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import Long from 'long';
import { AUDIT_EVENT_TYPES } from '../../domain/audit-event';
import { CONTENT_BY_REFERENCE_MIN_BYTES, serializePromptText } from '../../domain/content-reference';
import { FAILURE_TYPES, INFERENCE_FAILURE_TYPES } from '../../domain/failure-types';
import type { InferenceRequest } from '../../domain/step-contracts';
import { sha256Hex } from '../../governance/sha256';
import { createExtractiveProvider } from '../../providers/extractive-provider';
import { ProviderError, type ModelProvider } from '../../providers/model-provider';
import { createLocalTokenCounter } from '../../providers/token-counter';
import { listAuditEvents } from '../../store/audit-repository';
import { createPromptVersion } from '../../store/prompt-repository';
import { DEMO_PROMPT_TEMPLATES } from '../../store/seed-demo';
import { payloadsInJson } from '../codec/history-payloads';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

/** ~20k tokens of prose: about three times the by-reference threshold, well inside the route's window. */
const HANDBOOK = Array.from(
  { length: 700 },
  (_, index) =>
    `Section ${index + 1}. Travel claims filed under reference TC-${4000 + index} are settled within ` +
    `${(index % 7) + 2} working days; a disputed claim goes once to the finance lead, who answers in writing.`,
).join('\n');

/**
 * A model that records what it received and fails, not retryably and without fallback, while `down`
 * is set: a request then fails at infer, after its prompt was assembled and stored.
 */
function recordingModel(): ModelProvider & { calls: InferenceRequest[]; down: boolean } {
  const inner = createExtractiveProvider(createLocalTokenCounter());
  const model = {
    name: inner.name,
    calls: [] as InferenceRequest[],
    down: false,
    async generate(request: InferenceRequest, options?: Parameters<ModelProvider['generate']>[1]) {
      model.calls.push(request);
      if (model.down) {
        throw new ProviderError('the model is down', {
          failureType: INFERENCE_FAILURE_TYPES.invalidRequest,
          retryable: false,
          fallback: false,
          code: 'down',
        });
      }
      return inner.generate(request, options);
    },
  };
  return model;
}

/** Every application payload of a history, decoded with the harness's codec, as text. */
async function decodedPayloads(harness: GatehouseHarness, handle: WorkflowHandle): Promise<string[]> {
  const history = historyToJSON(await handle.fetchHistory());
  const payloads: Payload[] = payloadsInJson(JSON.parse(history)).map((payload) => ({
    metadata: Object.fromEntries(
      Object.entries(payload.metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  }));
  const codec = harness.dataConverter.payloadCodecs![0]!;
  const decoded = await codec.decode(payloads);
  return decoded.map((payload) => Buffer.from(payload.data ?? new Uint8Array()).toString('utf8'));
}

/** Every object in a decoded payload that names the content store. */
function referencesIn(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (value === null || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  if (record.store === 'request_contents') return [record];
  return Object.values(record).flatMap(referencesIn);
}

/** The event id of the workflow task that scheduled the first infer attempt: a Reset there re-runs infer. */
async function taskBeforeInfer(handle: WorkflowHandle): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.findIndex(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'infer',
  );
  const completed = events
    .slice(0, scheduled)
    .filter((event) => event.workflowTaskCompletedEventAttributes)
    .at(-1);
  if (!completed?.eventId) throw new Error('no workflow task completed before infer was scheduled');
  return Long.fromValue(completed.eventId).toNumber();
}

async function firstTaskCompleted(handle: WorkflowHandle): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  const completed = events.find((event) => event.workflowTaskCompletedEventAttributes);
  return Long.fromValue(completed!.eventId!).toNumber();
}

describe('a large prompt goes by reference, sealed in the content store (docs/decisions/0026)', () => {
  let harness: GatehouseHarness;
  let model: ReturnType<typeof recordingModel>;
  let version: number;

  beforeAll(async () => {
    model = recordingModel();
    harness = await startHarness({ providers: { extractive: model } });
    const qa = DEMO_PROMPT_TEMPLATES.find((template) => template.name === 'qa')!;
    version = await createPromptVersion(harness.db, {
      tenantId: 'demo',
      name: 'travel-handbook',
      systemTemplate: `${qa.systemTemplate}\n\nTravel handbook:\n${HANDBOOK}`,
      userTemplate: qa.userTemplate,
    });
  });
  afterAll(() => harness?.close());

  const largeRequest = (requestId: string) =>
    harness.input({ requestId, prompt: { name: 'travel-handbook', version } });

  const reset = async (handle: WorkflowHandle, runId: string, eventId: number) => {
    const { runId: newRunId } = await harness.client.workflowService.resetWorkflowExecution({
      namespace: harness.client.options.namespace,
      workflowExecution: { workflowId: handle.workflowId, runId },
      reason: 'operator reset in a test',
      workflowTaskFinishEventId: Long.fromNumber(eventId),
      requestId: randomUUID(),
    });
    return harness.client.workflow.getHandle(handle.workflowId, newRunId ?? undefined);
  };

  const failureTypeOf = async (handle: WorkflowHandle) => {
    const error = await handle.result().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return ((error as WorkflowFailedError).cause as { type?: string }).type;
  };

  it('gives the model exactly the rendered text, while history holds a readable reference and stays small', async () => {
    const submitted = await harness.gatehouse.submit(largeRequest('by-reference'));
    const result = await submitted.handle.result();
    expect(result.promptVersion).toBe(`travel-handbook@${version}`);
    const received = model.calls.at(-1)!.prompt;
    expect(received.system).toContain(HANDBOOK);
    const text = serializePromptText(received);
    expect(Buffer.byteLength(text)).toBeGreaterThan(3 * CONTENT_BY_REFERENCE_MIN_BYTES);

    const rows = await harness.db('request_contents').where({ workflow_id: submitted.workflowId });
    expect(rows).toHaveLength(1);
    expect(rows[0].sha256).toBe(sha256Hex(text));

    // The handbook is not in history, not even encrypted: the reference is, and decodes to plain facts.
    const payloads = await decodedPayloads(harness, submitted.handle);
    expect(payloads.some((payload) => payload.includes('TC-4001'))).toBe(false);
    const references = payloads
      .filter((payload) => payload.includes('"store":"request_contents"'))
      .flatMap((payload) => referencesIn(JSON.parse(payload)));
    // The assemble-prompt marker and infer's input, each the same reference an operator can read.
    expect(references.length).toBeGreaterThanOrEqual(2);
    for (const reference of references) {
      expect(reference).toEqual({
        store: 'request_contents',
        contentId: rows[0].content_id,
        sha256: sha256Hex(text),
        bytes: Buffer.byteLength(text),
        tokens: expect.any(Number),
      });
    }
    // The audit trail names the stored content the request used, never its text.
    const audited = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    const assembled = audited.find((event) => event.step === 'assemble-prompt');
    expect(assembled?.payload).toEqual(
      expect.objectContaining({
        storedPrompt: { contentId: rows[0].content_id, sha256: sha256Hex(text) },
      }),
    );
    expect(JSON.stringify(audited)).not.toContain('TC-4001');
    // Inline, the prompt alone would put ~2 × 95 KB (marker and infer input) into history.
    const { historySize } = await submitted.handle.describe();
    expect(historySize).toBeLessThan(64 * 1024);
  });

  it('survives a failed infer: a Reset before infer, and one before every step, reuse the stored row', async () => {
    model.down = true;
    const submitted = await harness.gatehouse.submit(largeRequest('reset-after-infer'));
    expect(await failureTypeOf(submitted.handle)).toBe(FAILURE_TYPES.inferenceExhausted);
    const [stored] = await harness.db('request_contents').where({ workflow_id: submitted.workflowId });
    const firstRunId = (await submitted.handle.describe()).runId;

    model.down = false;
    const calls = model.calls.length;
    const beforeInfer = await reset(submitted.handle, firstRunId, await taskBeforeInfer(submitted.handle));
    const answered = await beforeInfer.result();
    expect(answered.output.length).toBeGreaterThan(0);
    expect(model.calls).toHaveLength(calls + 1);
    expect(sha256Hex(serializePromptText(model.calls.at(-1)!.prompt))).toBe(stored.sha256);

    // From the very start: the prompt is rendered again, lands on the same row, and nothing is rewritten.
    const secondRunId = (await beforeInfer.describe()).runId;
    const fromStart = await reset(beforeInfer, secondRunId, await firstTaskCompleted(beforeInfer));
    await fromStart.result();
    const rows = await harness.db('request_contents').where({ workflow_id: submitted.workflowId });
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0].sealed)).toEqual(Buffer.from(stored.sealed));
    expect(rows[0].created_at).toEqual(stored.created_at);
  });

  it('fails Content.IntegrityFailed when the stored row was edited, audits it, and calls no model', async () => {
    const submitted = await harness.gatehouse.submit(largeRequest('tampered'));
    await submitted.handle.result();
    const [stored] = await harness.db('request_contents').where({ workflow_id: submitted.workflowId });
    const sealed = Buffer.from(stored.sealed);
    sealed[sealed.length - 100] = (sealed[sealed.length - 100] ?? 0) ^ 0xff;
    await harness.db('request_contents').where({ content_id: stored.content_id }).update({ sealed });

    const calls = model.calls.length;
    const runId = (await submitted.handle.describe()).runId;
    const replayed = await reset(submitted.handle, runId, await taskBeforeInfer(submitted.handle));
    expect(await failureTypeOf(replayed)).toBe(FAILURE_TYPES.contentIntegrityFailed);
    expect(model.calls).toHaveLength(calls);

    const newRunId = (await replayed.describe()).runId;
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: submitted.workflowId });
    const failed = events.find(
      (event) => event.runId === newRunId && event.eventType === AUDIT_EVENT_TYPES.requestFailed,
    );
    expect(failed?.payload).toEqual(
      expect.objectContaining({
        failure: expect.objectContaining({
          type: FAILURE_TYPES.contentIntegrityFailed,
          step: 'infer',
          message: expect.stringMatching(/failed authentication.*nothing was sent to a model/),
        }),
      }),
    );
  });
});
