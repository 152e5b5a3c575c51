import { InferenceExhaustedError } from '../../client/errors';
import type { LlmRequestInput } from '../../domain/request-contract';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import { startBedrockEmulator, type BedrockEmulator } from '../../emulators/bedrock-runtime-emulator';
import {
  startOpenAiCompatibleEmulator,
  type OpenAiEmulator,
} from '../../emulators/openai-compatible-emulator';
import { createBedrockProvider } from '../../providers/bedrock-provider';
import { createOpenAiCompatibleProvider } from '../../providers/openai-compatible-provider';
import { listAuditEvents } from '../../store/audit-repository';
import { putPolicy } from '../../store/policy-repository';
import { hashApiKey } from '../../governance/caller-proof';
import { upsertPrincipal } from '../../store/principal-repository';
import { DEMO_POLICY_DOCUMENT } from '../../store/seed-demo';
import { listUsage } from '../../store/usage-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const CLAUDE = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const LLAMA = 'llama-3.1-8b-instruct';
// Long enough that a loaded machine cannot let the cool-down pass between two requests that must see the circuit open.
const COOLDOWN_MS = 4_000;
const RESTRICTED_KEY = 'restricted-requester-key-0123456789';

function routedTable(suffix: string, bedrockEndpoint: string, openAiEndpoint: string): RouteTable {
  const common = {
    priceUsdPerMillionTokens: { input: 0.8, output: 4 },
    contextWindowTokens: 200_000,
    maxOutputTokens: 1024,
    dataClasses: ['public', 'internal', 'confidential'],
    timeoutMs: 5_000,
  };
  return routeTableSchema.parse({
    version: 'routed-test',
    routes: [
      {
        ...common,
        id: 'claude',
        provider: 'bedrock',
        model: CLAUDE,
        label: 'Claude 3.5 Haiku on Bedrock (emulated)',
        region: 'us-east-1',
        endpoint: bedrockEndpoint,
        countTokensWith: 'provider',
        taskQueue: `route-claude-${suffix}`,
        retry: { maximumAttempts: 3, initialIntervalMs: 20, backoffCoefficient: 2, maximumIntervalMs: 200 },
      },
      {
        ...common,
        id: 'llama',
        provider: 'openai-compatible',
        model: LLAMA,
        label: 'self-hosted Llama 3.1 8B (emulated)',
        endpoint: openAiEndpoint,
        dataClasses: ['public', 'internal', 'confidential', 'restricted'],
        priceUsdPerMillionTokens: { input: 0.1, output: 0.1 },
        taskQueue: `route-llama-${suffix}`,
        retry: { maximumAttempts: 2, initialIntervalMs: 20 },
      },
    ],
    tasks: {
      default: {
        routes: ['claude', 'llama'],
        budget: { maxTotalAttempts: 6, maxFallbacks: 1, deadlineMs: 20_000 },
      },
      // Tight budgets, to see each one stop the loop on its own.
      summarize: { routes: ['claude', 'llama'], budget: { maxTotalAttempts: 2, maxFallbacks: 1 } },
      extract: { routes: ['claude', 'llama'], budget: { deadlineMs: 1_500 } },
    },
    breaker: { failureThreshold: 3, windowMs: 30_000, cooldownMs: COOLDOWN_MS },
  });
}

describe('routed inference through the real AWS SDK and an OpenAI-compatible client, against emulators', () => {
  let harness: GatehouseHarness;
  let bedrock: BedrockEmulator;
  let openAi: OpenAiEmulator;
  const ask = (question = 'What is the refund policy?', extra: Partial<LlmRequestInput> = {}) =>
    harness.gatehouse.execute(harness.input({ question, ...extra }));

  beforeAll(async () => {
    bedrock = await startBedrockEmulator();
    openAi = await startOpenAiCompatibleEmulator();
    harness = await startHarness({
      routeTable: (suffix) => routedTable(suffix, bedrock.endpoint, openAi.endpoint),
      providers: {
        bedrock: createBedrockProvider({
          defaultRegion: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        }),
        'openai-compatible': createOpenAiCompatibleProvider({}),
      },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await bedrock?.close();
    await openAi?.close();
  });
  beforeEach(async () => {
    bedrock.reset();
    openAi.reset();
    await harness.db('route_health').del();
  });

  it('answers through Bedrock Converse with usage, metadata, maxTokens and a provider token count', async () => {
    const result = await ask();
    expect(result.route.id).toBe('claude');
    expect(result.output.length).toBeGreaterThan(0);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    const converse = bedrock.calls().filter((call) => call.operation === 'converse');
    expect(converse).toHaveLength(1);
    expect(converse[0]!.modelId).toBe(CLAUDE);
    expect(converse[0]!.maxTokens).toBe(512);
    expect(converse[0]!.requestMetadata).toEqual(expect.objectContaining({ tenantId: 'demo' }));
    expect(bedrock.callCount(CLAUDE, 'count-tokens')).toBe(1);
  });

  it('answers through the OpenAI-compatible route when it is the one left', async () => {
    bedrock.setScript(CLAUDE, { behaviours: ['validation'] });
    const result = await ask();
    expect(result.route.id).toBe('llama');
    expect(openAi.callCount(LLAMA)).toBe(1);
    // ValidationException is not retried on the same route.
    expect(bedrock.callCount(CLAUDE, 'converse')).toBe(1);
    expect(result.attempts.map((attempt) => attempt.failureType ?? 'ok')).toEqual([
      'Inference.InvalidRequest',
      'ok',
    ]);
  });

  it('retries a throttled primary within its budget, honouring Retry-After, then falls back', async () => {
    bedrock.setScript(CLAUDE, { behaviours: ['throttle'], retryAfterSeconds: 1 });
    const result = await ask();
    const calls = bedrock.calls().filter((call) => call.operation === 'converse');
    expect(calls).toHaveLength(3);
    const gaps = calls.slice(1).map((call, index) => call.at - calls[index]!.at);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(950);
      expect(gap).toBeLessThan(3_000);
    }
    expect(result.route.id).toBe('llama');
    expect(
      result.attempts
        .filter((attempt) => attempt.routeId === 'claude')
        .every((attempt) => attempt.failureType === 'Inference.RateLimited'),
    ).toBe(true);
    expect(result.fallbacks).toEqual([
      expect.objectContaining({
        fromRouteId: 'claude',
        toRouteId: 'llama',
        reason: expect.stringMatching(/RateLimited/),
      }),
    ]);
    const events = await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    const infer = events.find((event) => event.step === 'infer' && event.attempt === 0);
    expect((infer?.payload as { fallbacks: unknown[] }).fallbacks).toHaveLength(1);
  });

  it('fails with Inference.Exhausted and the attempts list when every route fails, charging failed attempts', async () => {
    bedrock.setScript(CLAUDE, { behaviours: ['unavailable'] });
    openAi.setScript(LLAMA, { behaviours: ['unavailable'] });
    const error = await ask('How long does shipping take?', { requestId: 'exhausted-1' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InferenceExhaustedError);
    expect((error as Error).message).toMatch(
      /#1 claude: Inference.Unavailable.*#5 llama: Inference.Unavailable/,
    );
    expect(bedrock.callCount(CLAUDE, 'converse')).toBe(3);
    expect(openAi.callCount(LLAMA)).toBe(2);
    const ledger = await listUsage(harness.db, {
      tenantId: 'demo',
      workflowId: 'gatehouse/demo/exhausted-1',
    });
    expect(ledger).toHaveLength(5);
    expect(ledger.every((row) => row.outcome === 'failed')).toBe(true);
  });

  it('stops at the total-attempt budget even when the route would allow more', async () => {
    bedrock.setScript(CLAUDE, { behaviours: ['unavailable'] });
    const error = await ask('Summarise the refund policy', { taskType: 'summarize' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InferenceExhaustedError);
    expect((error as Error).message).toMatch(/attempt budget of 2 spent/);
    expect(bedrock.callCount(CLAUDE, 'converse')).toBe(2);
    expect(openAi.callCount(LLAMA)).toBe(0);
  });

  it('stops when the next retry would pass the inference deadline', async () => {
    bedrock.setScript(CLAUDE, { behaviours: ['throttle'], retryAfterSeconds: 1 });
    const started = Date.now();
    const error = await ask('Extract the refund window', { taskType: 'extract' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InferenceExhaustedError);
    // Normally the second retry is refused in advance; on a slow machine the deadline may pass first.
    expect((error as Error).message).toMatch(
      /would pass the inference deadline|inference deadline of 1500 ms passed/,
    );
    expect(bedrock.callCount(CLAUDE, 'converse')).toBeGreaterThanOrEqual(1);
    expect(bedrock.callCount(CLAUDE, 'converse')).toBeLessThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('opens the circuit after repeated failures, skips the route, and closes it after a successful probe', async () => {
    bedrock.setScript(CLAUDE, { behaviours: ['unavailable'] });
    const first = await ask();
    expect(first.route.id).toBe('llama');
    expect(bedrock.callCount(CLAUDE, 'converse')).toBe(3);

    const second = await ask('How long does shipping take?');
    expect(second.route.id).toBe('llama');
    expect(bedrock.callCount(CLAUDE, 'converse')).toBe(3);
    expect(second.routePlan.excluded).toEqual([
      expect.objectContaining({ routeId: 'claude', reason: expect.stringMatching(/circuit open/) }),
    ]);

    bedrock.setScript(CLAUDE, { behaviours: ['ok'] });
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 100));
    const probe = await ask('What is the warranty period?');
    expect(probe.route.id).toBe('claude');
    expect(probe.routePlan.choices[0]).toEqual(expect.objectContaining({ routeId: 'claude', probe: true }));
    const after = await ask('What are the pricing tiers?');
    expect(after.routePlan.choices[0]).toEqual(expect.objectContaining({ routeId: 'claude', probe: false }));
  });

  it('keeps restricted data on the route marked for it', async () => {
    await upsertPrincipal(harness.db, {
      id: 'restricted-requester',
      tenantId: 'demo',
      name: 'Restricted requester',
      capabilities: ['qa'],
      groups: ['everyone'],
      clearance: 'restricted',
      role: 'requester',
      status: 'active',
      apiKeyHash: hashApiKey(RESTRICTED_KEY),
    });
    const version = await putPolicy(harness.db, 'demo', {
      ...DEMO_POLICY_DOCUMENT,
      allowedDataClasses: ['public', 'internal', 'confidential', 'restricted'],
    });
    try {
      for (const question of [
        'What is the refund policy?',
        'How long are backups kept?',
        'What is the warranty period?',
      ]) {
        const result = await harness.gatehouse.execute({
          tenantId: 'demo',
          apiKey: RESTRICTED_KEY,
          taskType: 'qa',
          dataClass: 'restricted',
          question,
        });
        expect(result.policyVersion).toBe(version);
        expect(result.route.id).toBe('llama');
        expect(result.routePlan.excluded).toEqual([
          { routeId: 'claude', reason: "does not carry 'restricted' data" },
        ]);
      }
      expect(bedrock.calls().filter((call) => call.operation !== 'count-tokens')).toHaveLength(0);
    } finally {
      await putPolicy(harness.db, 'demo', DEMO_POLICY_DOCUMENT);
    }
  });

  it('streams Bedrock ConverseStream deltas to the caller before the workflow completes', async () => {
    bedrock.setScript(CLAUDE, { behaviours: ['ok'], deltaIntervalMs: 40 });
    const submitted = await harness.gatehouse.submit(harness.input({ stream: true }));
    let statusAtFirstText: string | undefined;
    const pieces: string[] = [];
    for await (const piece of harness.gatehouse.stream(submitted.workflowId, harness.caller, {
      pollIntervalMs: 20,
    })) {
      statusAtFirstText ??= (await submitted.handle.describe()).status.name;
      pieces.push(piece);
    }
    const result = await harness.gatehouse.result(submitted.workflowId, harness.caller);
    expect(statusAtFirstText).toBe('RUNNING');
    expect(pieces.join('')).toBe(result.output);
    expect(bedrock.callCount(CLAUDE, 'converse-stream')).toBe(1);
    expect(result.timeToFirstTokenMs).toBeGreaterThan(0);
  });
});
