/**
 * Traces and metrics of real requests: a real worker on the test dev server with Temporal's OpenTelemetry
 * interceptors, spans caught in memory and by a minimal OTLP/HTTP receiver on loopback, and the worker's
 * Prometheus endpoint scraped over HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadRouteTable } from '../../config/load-route-table';
import { microToUsd } from '../../domain/cost';
import type { ProviderErrorClass } from '../../domain/classify-provider-error';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import { putPolicy } from '../../store/policy-repository';
import { DEMO_POLICY_DOCUMENT } from '../../store/seed-demo';
import { listUsage } from '../../store/usage-repository';
import { startTelemetry, type Telemetry } from '../../telemetry/start-telemetry';
import { startHealthServer, type HealthServer } from '../../worker/health-server';
import { scriptedProvider, type ScriptStep } from '../support/fake-providers';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const MODEL = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const THROTTLED: ProviderErrorClass = {
  failureType: 'Inference.RateLimited',
  retryable: true,
  fallback: true,
  code: 'ThrottlingException',
  nextRetryDelayMs: 10,
};
const ok: ScriptStep = { kind: 'ok', text: 'Refunds are accepted within 30 days [refund-policy].' };
const throttle: ScriptStep = { kind: 'fail', classification: THROTTLED };
const STEPS_OF_A_REQUEST = [
  'authorize',
  'plan-retrieval',
  'retrieve',
  'assemble-prompt',
  'select-route',
  'reserve-budget',
  'infer',
  'validate',
  'record',
];

/** A throttled Bedrock primary (a scripted model) with the offline extractive route behind it. */
function tracedTable(suffix: string): RouteTable {
  const shipped = loadRouteTable(path.resolve(__dirname, '../../config/routes.json'));
  const extractive = shipped.routes.find((route) => route.id === 'extractive')!;
  return routeTableSchema.parse({
    version: 'telemetry-test',
    routes: [
      {
        id: 'primary',
        provider: 'bedrock',
        model: MODEL,
        label: 'Claude on Bedrock (scripted)',
        region: 'us-east-1',
        priceUsdPerMillionTokens: { input: 0.8, output: 4 },
        contextWindowTokens: 200_000,
        maxOutputTokens: 1024,
        dataClasses: ['public', 'internal', 'confidential'],
        timeoutMs: 5_000,
        taskQueue: `route-primary-${suffix}`,
        retry: { maximumAttempts: 2, initialIntervalMs: 10 },
      },
      { ...extractive, taskQueue: `${extractive.taskQueue}-${suffix}` },
    ],
    tasks: {
      default: {
        routes: ['primary', 'extractive'],
        budget: { maxTotalAttempts: 6, maxFallbacks: 1, deadlineMs: 20_000 },
      },
    },
    breaker: { failureThreshold: 100, windowMs: 60_000, cooldownMs: 30_000 },
  });
}

interface OtlpSpan {
  traceId: string;
  name: string;
}

/** The smallest OTLP/HTTP (JSON) trace receiver: keeps every span it is sent. */
async function startOtlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const resource of payload.resourceSpans)
          for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The sum of a Prometheus series' samples whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) total += Number(match[3]);
  }
  return total;
}

const traceOf = (span: ReadableSpan) => span.spanContext().traceId;

describe('request telemetry', () => {
  const memory = new InMemorySpanExporter();
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let telemetry: Telemetry;
  let metricsServer: HealthServer;
  let harness: GatehouseHarness;
  const bedrock = scriptedProvider('bedrock', [ok, throttle, throttle, ok, ok, ok, throttle, throttle]);

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // The exporters read the standard variables, as in a deployment.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    telemetry = startTelemetry({
      serviceName: 'gatehouse-test',
      otlp: { protocol: 'http/json' },
      prometheus: true,
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const prometheus = telemetry.prometheus!;
    metricsServer = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      workers: () => [],
      metrics: () => prometheus.scrape(),
    });
    harness = await startHarness({ routeTable: tracedTable, providers: { bedrock }, telemetry });
  });
  afterAll(async () => {
    await harness?.close();
    await metricsServer?.close();
    await telemetry?.shutdown();
    await receiver?.close();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });
  beforeEach(() => memory.reset());

  /** The spans of one request, once its workflow spans (exported through the sink) have arrived. */
  async function spansOfRequest(): Promise<ReadableSpan[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await telemetry.spanProcessor.forceFlush();
      const spans = memory.getFinishedSpans();
      if (spans.some((span) => span.name === 'RunWorkflow:llmRequestWorkflow')) return spans;
      if (Date.now() > deadline) throw new Error(`no workflow span among ${spans.length} spans`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function scrape(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  }

  it('links the caller, the workflow and every step in one trace, with GenAI attributes equal to the ledger’s', async () => {
    // Hash-only logging: neither the question nor the answer may appear anywhere in telemetry.
    await putPolicy(harness.db, 'demo', { ...DEMO_POLICY_DOCUMENT, logging: 'hash' });
    const result = await harness.gatehouse.execute(harness.input({ feature: 'refund-faq' }));
    const spans = await spansOfRequest();

    const caller = spans.find((span) => span.name === 'StartWorkflow:llmRequestWorkflow');
    expect(caller).toBeDefined();
    expect(new Set(spans.map(traceOf))).toEqual(new Set([traceOf(caller!)]));
    const workflow = spans.find((span) => span.name === 'RunWorkflow:llmRequestWorkflow')!;
    expect(workflow.parentSpanId).toBe(caller!.spanContext().spanId);
    const stepNames = spans.filter((span) => STEPS_OF_A_REQUEST.includes(span.name)).map((span) => span.name);
    expect([...new Set(stepNames)].sort()).toEqual([...STEPS_OF_A_REQUEST].sort());
    expect(stepNames.filter((name) => name === 'record')).toHaveLength(1);

    const inference = spans.filter((span) => span.name === `chat ${MODEL}`);
    expect(inference).toHaveLength(1);
    const inferStep = spans.find((span) => span.name === 'infer')!;
    expect(inference[0]!.parentSpanId).toBe(inferStep.spanContext().spanId);
    const [row] = await listUsage(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    // The documents the model was given, as the provider received them.
    const retrieved = [...new Set(bedrock.calls.at(-1)!.chunks.map((chunk) => chunk.documentId))];
    expect(retrieved.length).toBeGreaterThan(0);
    expect(inference[0]!.attributes).toEqual(
      expect.objectContaining({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'aws.bedrock',
        'gen_ai.request.model': row!.model,
        'gen_ai.response.model': row!.model,
        'gen_ai.request.max_tokens': expect.any(Number),
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.usage.input_tokens': row!.inputTokens,
        'gen_ai.usage.output_tokens': row!.outputTokens,
        'gatehouse.cost.usd': microToUsd(row!.costMicroUsd),
        'gatehouse.tenant_id': row!.tenantId,
        'gatehouse.task_type': row!.taskType,
        'gatehouse.feature': row!.feature,
        'gatehouse.route': row!.routeId,
        'gatehouse.prompt.version': row!.promptRef,
        'gatehouse.policy.version': result.policyVersion,
        'gatehouse.retrieval.document_ids': retrieved,
        'gatehouse.attempt': 1,
        'gatehouse.retry.number': 0,
      }),
    );
    expect(row!.feature).toBe('refund-faq');

    const everyValue = JSON.stringify(spans.map((span) => span.attributes));
    expect(everyValue).not.toContain('refund policy');
    expect(everyValue).not.toContain(result.output.slice(0, 20));

    // The same trace reached the OTLP/HTTP receiver.
    await telemetry.spanProcessor.forceFlush();
    const received = receiver.spans.filter((span) => span.traceId === traceOf(caller!));
    expect(received.map((span) => span.name)).toEqual(
      expect.arrayContaining(['StartWorkflow:llmRequestWorkflow', 'RunWorkflow:llmRequestWorkflow', 'infer']),
    );
    expect(received.length).toBe(spans.length);
  });

  it('shows a retried-then-fallback request as its attempts, with the retry number and the fallback reason', async () => {
    await putPolicy(harness.db, 'demo', { ...DEMO_POLICY_DOCUMENT, logging: 'full' });
    const question = 'What is the refund policy for opened items?';
    const result = await harness.gatehouse.execute(harness.input({ question }));
    expect(result.route.id).toBe('extractive');
    const spans = await spansOfRequest();
    const attempts = spans
      .filter((span) => span.name.startsWith('chat '))
      .sort((a, b) => Number(a.attributes['gatehouse.attempt']) - Number(b.attributes['gatehouse.attempt']));
    expect(attempts.map((span) => [span.name, span.attributes['gatehouse.retry.number']])).toEqual([
      [`chat ${MODEL}`, 0],
      [`chat ${MODEL}`, 1],
      ['chat extractive-v1', 0],
    ]);
    expect(attempts.slice(0, 2).map((span) => span.attributes['error.type'])).toEqual([
      'Inference.RateLimited',
      'Inference.RateLimited',
    ]);
    expect(attempts[2]!.attributes).toEqual(
      expect.objectContaining({
        'gatehouse.fallback.from_route': 'primary',
        'gatehouse.fallback.reason': result.fallbacks[0]!.reason,
        'gen_ai.provider.name': 'gatehouse.extractive',
      }),
    );
    expect(result.fallbacks[0]!.reason).toMatch(/RateLimited/);
    // Each attempt's span carries the ledger's tokens and cost for that attempt.
    const rows = await listUsage(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    expect(
      attempts.map((span) => [
        span.attributes['gatehouse.attempt'],
        span.attributes['gen_ai.usage.input_tokens'],
        span.attributes['gatehouse.cost.usd'],
      ]),
    ).toEqual(rows.map((row) => [row.attempt, row.inputTokens, microToUsd(row.costMicroUsd)]));
    // The tenant logs in full, so its prompt and answer may be in the trace.
    expect(String(attempts[2]!.attributes['gen_ai.input.messages'])).toContain(question);
    expect(String(attempts[2]!.attributes['gen_ai.output.messages'])).toContain(
      JSON.stringify(result.output).slice(1, 30),
    );
  });

  it('counts successes, throttles, retries and fallbacks on the Prometheus endpoint', async () => {
    const before = await scrape();
    // Three answered by the primary at once, one throttled twice and answered by the fallback.
    for (let index = 0; index < 4; index += 1)
      await harness.gatehouse.execute(harness.input({ feature: 'metrics-mix' }));
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    const mix = { gatehouse_feature: 'metrics-mix' };

    expect(delta('gatehouse_requests_total', { ...mix, gatehouse_outcome: 'succeeded' })).toBe(4);
    expect(delta('gatehouse_inference_throttles_total', mix)).toBe(2);
    expect(delta('gatehouse_inference_retries_total', mix)).toBe(1);
    expect(delta('gatehouse_inference_fallbacks_total', mix)).toBe(1);
    expect(
      delta('gatehouse_inference_attempts_total', {
        ...mix,
        gatehouse_route: 'primary',
        gatehouse_outcome: 'failed',
      }),
    ).toBe(2);
    expect(delta('gatehouse_step_duration_seconds_count', { ...mix, gatehouse_step: 'record' })).toBe(4);
    expect(
      delta('gen_ai_client_operation_duration_seconds_count', {
        gatehouse_route: 'primary',
        error_type: 'Inference.RateLimited',
      }),
    ).toBe(2);
    expect(
      delta('gen_ai_client_token_usage_count', { gatehouse_route: 'primary', gen_ai_token_type: 'input' }),
    ).toBe(5);
    // Cost: the counter equals the ledger's sum for the same requests.
    const rows = (await listUsage(harness.db, { tenantId: 'demo' })).filter(
      (row) => row.feature === 'metrics-mix',
    );
    expect(delta('gatehouse_request_cost_usd_total', mix)).toBeCloseTo(
      microToUsd(rows.reduce((total, row) => total + row.costMicroUsd, 0)),
      9,
    );
    expect(sample(after, 'gatehouse_route_circuit_state', { gatehouse_route: 'primary' })).toBe(0);
  });
});
