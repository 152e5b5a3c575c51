import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import OpenAI, { APIError, AuthenticationError } from 'openai';
import type { InferenceRequest, InferenceResponse } from '../../domain/step-contracts';
import { createExtractiveProvider } from '../../providers/extractive-provider';
import type { GenerateOptions, ModelProvider } from '../../providers/model-provider';
import { createLocalTokenCounter } from '../../providers/token-counter';
import { listUsage } from '../../store/usage-repository';
import { startTestFrontDoor, type FrontDoorUnderTest } from '../support/front-door-harness';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The extractive route, writing its streamed deltas 200 ms apart as a model would; plain requests stay fast. */
function slowWhenStreaming(inner: ModelProvider): ModelProvider {
  return {
    name: inner.name,
    async generate(request: InferenceRequest, options: GenerateOptions = {}): Promise<InferenceResponse> {
      if (!request.stream) return inner.generate(request, options);
      const deltas: string[] = [];
      const response = await inner.generate(request, { ...options, onDelta: (text) => deltas.push(text) });
      for (const delta of deltas) {
        await sleep(200);
        options.onDelta?.(delta);
      }
      return response;
    },
  };
}

/** What Gatehouse adds to OpenAI's objects (an OpenAI client keeps unknown fields). */
interface GatehouseDetails {
  requestId: string;
  workflowId: string;
  route: { id: string; label: string };
  citations: Array<{ documentId: string }>;
  costUsd: number;
}
const detailsOf = (value: object) => (value as { gatehouse: GatehouseDetails }).gatehouse;

describe('the official openai client against the front door', () => {
  let harness: GatehouseHarness;
  let frontDoor: FrontDoorUnderTest;
  let openai: OpenAI;

  beforeAll(async () => {
    harness = await startHarness({
      providers: { extractive: slowWhenStreaming(createExtractiveProvider(createLocalTokenCounter())) },
    });
    frontDoor = await startTestFrontDoor(harness);
    // Unchanged apart from baseURL and apiKey.
    openai = new OpenAI({ baseURL: frontDoor.baseUrl, apiKey: harness.apiKey });
  });
  afterAll(async () => {
    await frontDoor?.close();
    await harness?.close();
  });

  it('answers a chat completion with the last user message as the question', async () => {
    const { data: completion, response } = await openai.chat.completions
      .create({
        model: 'gatehouse-qa',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'What is the refund policy?' },
        ],
      })
      .withResponse();
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gatehouse-qa');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.choices[0]!.message.content).toMatch(/refund/i);
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens,
    );
    const details = detailsOf(completion);
    expect(details.route.id).toBe('extractive');
    expect(details.route.label).toMatch(/no language model/);
    expect(details.citations.map((citation) => citation.documentId).join(' ')).toMatch(/refund/);
    expect(details.workflowId).toBe(`gatehouse/demo/${completion.id}`);
    expect(response.headers.get('x-request-id')).toBe(completion.id);
    expect(response.headers.get('x-gatehouse-ignored-messages')).toBe('1');
    const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId: details.workflowId });
    expect(ledger).toHaveLength(1);
  });

  it('streams tokens that arrive while the workflow is still running', async () => {
    const requestId = `stream-${randomUUID()}`;
    const stream = await openai.chat.completions.create(
      {
        model: 'gatehouse-qa',
        messages: [{ role: 'user', content: 'What is the refund policy?' }],
        stream: true,
        stream_options: { include_usage: true },
      },
      { headers: { 'Idempotency-Key': requestId } },
    );
    const handle = harness.client.workflow.getHandle(`gatehouse/demo/${requestId}`);
    const pieces: string[] = [];
    let statusAtFirstText: string | undefined;
    let finishReason: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta.content;
      if (text) {
        statusAtFirstText ??= (await handle.describe()).status.name;
        pieces.push(text);
      }
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(statusAtFirstText).toBe('RUNNING');
    expect(pieces.length).toBeGreaterThan(1);
    expect(finishReason).toBe('stop');
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    const result = await harness.gatehouse.result(`gatehouse/demo/${requestId}`, harness.caller);
    expect(result.streamed).toBe(true);
    expect(pieces.join('')).toBe(result.output);
  });

  it('maps response_format json_schema to the output schema and returns the validated JSON', async () => {
    const completion = await openai.chat.completions.create({
      model: 'gatehouse-qa',
      messages: [{ role: 'user', content: 'What is the refund policy?' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'answer',
          strict: true,
          schema: {
            type: 'object',
            properties: {
              answer: { type: 'string' },
              citations: { type: 'array', items: { type: 'string' } },
            },
            required: ['answer', 'citations'],
          },
        },
      },
    });
    const parsed = JSON.parse(completion.choices[0]!.message.content!) as {
      answer: string;
      citations: string[];
    };
    expect(parsed.answer).toMatch(/refund/i);
    expect(parsed.citations.length).toBeGreaterThan(0);
    const result = await harness.gatehouse.result(detailsOf(completion).workflowId, harness.caller);
    expect(result.verdicts.find((verdict) => verdict.check === 'output-schema')?.passed).toBe(true);
  });

  it('answers embeddings with a 501 in OpenAI error format, not retried, starting nothing', async () => {
    const before = frontDoor.accessLog.length;
    const error = await openai.embeddings
      .create({ model: 'gatehouse-embed', input: 'refund policy' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    const apiError = error as APIError;
    expect(apiError.status).toBe(501);
    expect(apiError.code).toBe('Capability.NotAvailable');
    expect(apiError.message).toMatch(/embeddings are not available/i);
    const calls = frontDoor.accessLog.slice(before).filter((line) => line.includes('/v1/embeddings'));
    expect(calls).toHaveLength(1);
  });

  it('lists the task types the key may use as models, with their routes', async () => {
    const models = [];
    for await (const model of openai.models.list()) models.push(model);
    expect(models.map((model) => model.id)).toEqual([
      'gatehouse-extract',
      'gatehouse-qa',
      'gatehouse-summarize',
    ]);
    expect(models.every((model) => model.owned_by === 'gatehouse')).toBe(true);
    const qa = await openai.models.retrieve('gatehouse-qa');
    expect((qa as unknown as { gatehouse: { routes: Array<{ id: string }> } }).gatehouse.routes).toEqual([
      expect.objectContaining({ id: 'extractive', degraded: true }),
    ]);
    const contractor = new OpenAI({ baseURL: frontDoor.baseUrl, apiKey: harness.contractorApiKey });
    const contractorModels = [];
    for await (const model of contractor.models.list()) contractorModels.push(model.id);
    expect(contractorModels).toEqual(['gatehouse-qa']);
  });

  it('refuses a wrong key with a 401 in OpenAI error format', async () => {
    const stranger = new OpenAI({ baseURL: frontDoor.baseUrl, apiKey: 'sk-not-a-gatehouse-key-0000000000' });
    const error = await stranger.chat.completions
      .create({ model: 'gatehouse-qa', messages: [{ role: 'user', content: 'What is the refund policy?' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(401);
    expect((error as AuthenticationError).error).toEqual({
      message: expect.stringMatching(/API key/),
      type: 'invalid_request_error',
      param: null,
      code: 'Auth.InvalidApiKey',
    });
  });

  it('returns one workflow’s answer for the same Idempotency-Key sent twice', async () => {
    const requestId = `idem-${randomUUID()}`;
    const ask = () =>
      openai.chat.completions.create(
        { model: 'gatehouse-qa', messages: [{ role: 'user', content: 'How long does shipping take?' }] },
        { headers: { 'Idempotency-Key': requestId } },
      );
    const [first, second] = await Promise.all([ask(), ask()]);
    const third = await ask();
    for (const completion of [first, second, third]) {
      expect(completion.id).toBe(requestId);
      expect(completion.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
      expect(detailsOf(completion).workflowId).toBe(`gatehouse/demo/${requestId}`);
    }
    const result = await harness.gatehouse.result(`gatehouse/demo/${requestId}`, harness.caller);
    const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    expect(ledger).toHaveLength(1);
    expect(new Set(ledger.map((row) => row.runId))).toEqual(new Set([result.runId]));
  });

  it('refuses a body over the size limit with 413 before any workflow starts', async () => {
    const requestId = `too-large-${randomUUID()}`;
    const error = await openai.chat.completions
      .create(
        { model: 'gatehouse-qa', messages: [{ role: 'user', content: 'x'.repeat(1024 * 1024 + 1) }] },
        { headers: { 'Idempotency-Key': requestId } },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(413);
    expect((error as APIError).code).toBe('Request.TooLarge');
    await expect(
      harness.client.workflow.getHandle(`gatehouse/demo/${requestId}`).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });
});
