/**
 * The request path's spans and metrics without Temporal: what an attempt's span carries under each
 * logging policy, and that the Prometheus endpoint exposes deploy/README.md's contract names and labels.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { usageCostMicroUsd } from '../../domain/cost';
import type { LoggingMode } from '../../domain/policy';
import { routeTableSchema, type Route } from '../../domain/route-table';
import type { InferenceAttempt, InferenceRequest, RecordInput } from '../../domain/step-contracts';
import { prometheusBaseName, PrometheusMetrics } from '../../telemetry/prometheus-metrics';
import { createRequestTelemetry } from '../../telemetry/request-telemetry';

const ROOT = path.resolve(__dirname, '..', '..');
const ROUTE: Route = routeTableSchema.parse({
  version: 'unit',
  routes: [
    {
      id: 'claude',
      provider: 'bedrock',
      model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      label: 'Claude',
      region: 'us-east-1',
      priceUsdPerMillionTokens: { input: 0.8, output: 4 },
      contextWindowTokens: 200_000,
      maxOutputTokens: 1024,
      dataClasses: ['public'],
      timeoutMs: 5_000,
      taskQueue: 'route-claude',
      retry: { maximumAttempts: 2, initialIntervalMs: 10 },
    },
  ],
  tasks: { default: { routes: ['claude'] } },
}).routes[0]!;

const PROMPT = 'Write to ada@example.com about the refund';

function inferenceRequest(logging: LoggingMode | undefined, overrides: Partial<InferenceRequest> = {}) {
  return {
    workflowId: 'gatehouse/demo/r-1',
    tenantId: 'demo',
    attempt: 2,
    route: ROUTE,
    prompt: { system: 'Answer from the documents.', user: PROMPT },
    promptTokens: 12,
    question: PROMPT,
    chunks: [
      {
        chunkId: 'c1',
        documentId: 'refund-policy',
        documentVersion: 1,
        title: 't',
        classification: 'public',
        text: 'x',
        score: 1,
      },
      {
        chunkId: 'c2',
        documentId: 'refund-policy',
        documentVersion: 1,
        title: 't',
        classification: 'public',
        text: 'y',
        score: 1,
      },
    ],
    maxOutputTokens: 512,
    responseFormat: 'text',
    stream: true,
    attribution: {
      principalId: 'p',
      taskType: 'qa',
      feature: 'faq',
      promptRef: 'qa@3',
      policyVersion: 7,
      logging,
    },
    retryNumber: 1,
    ...overrides,
  } satisfies InferenceRequest;
}

function attemptOf(outcome: InferenceAttempt['outcome'], failureType?: string): InferenceAttempt {
  const usage = { inputTokens: 120, outputTokens: 30, cacheReadTokens: 5, cacheWriteTokens: 0 };
  return {
    attempt: 2,
    runId: 'run-1',
    routeId: ROUTE.id,
    provider: ROUTE.provider,
    model: ROUTE.model,
    outcome,
    failureType,
    usage,
    usageEstimated: false,
    costMicroUsd: usageCostMicroUsd(ROUTE, usage),
    latencyMs: 900,
  };
}

function setUp() {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer(
    't',
  );
  const prometheus = new PrometheusMetrics();
  const meter = new MeterProvider({ readers: [prometheus.reader] }).getMeter('t');
  return { memory, prometheus, telemetry: createRequestTelemetry({ tracer, meter }) };
}

describe('prometheusBaseName', () => {
  it.each([
    [{ name: 'gen_ai.client.operation.duration', unit: 's' }, 'gen_ai.client.operation.duration.seconds'],
    [{ name: 'gen_ai.client.token.usage', unit: '{token}' }, 'gen_ai.client.token.usage'],
    [{ name: 'gatehouse.request.cost.usd', unit: '{USD}' }, 'gatehouse.request.cost.usd'],
    [{ name: 'latency.seconds', unit: 's' }, 'latency.seconds'],
    [{ name: 'payload', unit: 'By' }, 'payload.bytes'],
  ])('%j → %s', (descriptor, expected) => {
    expect(prometheusBaseName(descriptor)).toBe(expected);
  });
});

describe('the inference span of an attempt', () => {
  it.each([
    ['full', PROMPT],
    ['redacted', 'Write to [EMAIL] about the refund'],
    ['hash', undefined],
    [undefined, undefined],
  ] as const)('carries content per the %s logging policy', (logging, expected) => {
    const { memory, telemetry } = setUp();
    telemetry.startInference(inferenceRequest(logging)).succeeded(attemptOf('succeeded'), {
      text: 'Reply to ada@example.com',
      citedDocumentIds: [],
      finishReason: 'stop',
      usage: attemptOf('succeeded').usage,
      latencyMs: 900,
    });
    const [span] = memory.getFinishedSpans();
    const input = span!.attributes['gen_ai.input.messages'];
    if (expected === undefined) {
      expect(input).toBeUndefined();
      expect(JSON.stringify(span!.attributes)).not.toContain('ada@example.com');
    } else {
      expect(JSON.parse(String(input))).toEqual([
        { role: 'user', parts: [{ type: 'text', content: expected }] },
      ]);
    }
  });

  it('names the call, its model, usage, cost and the request it belongs to; a failure by its type only', () => {
    const { memory, telemetry } = setUp();
    telemetry
      .startInference(
        inferenceRequest('hash', {
          fallback: { fromRouteId: 'llama', toRouteId: 'claude', reason: 'llama: X (y)' },
        }),
      )
      .failed(attemptOf('failed', 'Inference.RateLimited'));
    const [span] = memory.getFinishedSpans();
    expect(span!.name).toBe(`chat ${ROUTE.model}`);
    expect(span!.status).toEqual({ code: 2, message: 'Inference.RateLimited' });
    expect(span!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'aws.bedrock',
      'gen_ai.request.model': ROUTE.model,
      'gen_ai.request.max_tokens': 512,
      'gen_ai.response.model': ROUTE.model,
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 30,
      'error.type': 'Inference.RateLimited',
      'gatehouse.failure.type': 'Inference.RateLimited',
      'gatehouse.route': 'claude',
      'gatehouse.tenant_id': 'demo',
      'gatehouse.task_type': 'qa',
      'gatehouse.feature': 'faq',
      'gatehouse.workflow_id': 'gatehouse/demo/r-1',
      'gatehouse.prompt.version': 'qa@3',
      'gatehouse.policy.version': 7,
      'gatehouse.retrieval.document_ids': ['refund-policy'],
      'gatehouse.attempt': 2,
      'gatehouse.retry.number': 1,
      'gatehouse.fallback.from_route': 'llama',
      'gatehouse.fallback.reason': 'llama: X (y)',
      'gatehouse.usage.cache_read_tokens': 5,
      'gatehouse.usage.cache_write_tokens': 0,
      'gatehouse.usage.estimated': false,
      'gatehouse.cost.usd': attemptOf('failed').costMicroUsd / 1_000_000,
      'gatehouse.outcome': 'failed',
    });
  });
});

/** `| \`name\` | … | \`label\`, \`label\` | …` rows of deploy/README.md's "Metrics" table. */
function contractRows(): { name: string; labels: string[] }[] {
  const text = readFileSync(path.join(ROOT, 'deploy', 'README.md'), 'utf8');
  const section = text.slice(text.indexOf('### Metrics'), text.indexOf('### Temporal server metrics'));
  return section
    .split('\n')
    .filter((line) => /^\| `/.test(line))
    .map((line) => {
      const cells = line.split('|').map((cell) => cell.trim());
      const code = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
      return { name: code(cells[1]!)[0]!, labels: code(cells[4]!) };
    });
}

describe('the Prometheus endpoint', () => {
  it('exposes every metric of the telemetry contract under its name, with its labels', async () => {
    const { prometheus, telemetry } = setUp();
    const request = inferenceRequest('hash');
    telemetry.startInference(request).failed(attemptOf('failed', 'Inference.RateLimited'));
    telemetry.startInference(request).succeeded(attemptOf('succeeded'), {
      text: 'ok',
      citedDocumentIds: [],
      finishReason: 'stop',
      usage: attemptOf('succeeded').usage,
      latencyMs: 900,
      timeToFirstTokenMs: 300,
    });
    const record: RecordInput = {
      workflowId: request.workflowId,
      runId: 'run-1',
      originalRunId: 'run-1',
      tenantId: 'demo',
      requestId: 'r-1',
      taskType: 'qa',
      feature: 'faq',
      dataClass: { declared: 'public', effective: 'public', raisedBy: [] },
      logging: 'hash',
      question: PROMPT,
      steps: [
        { step: 'authorize', attempt: 0, status: 'succeeded', elapsedMs: 4, detail: {} },
        { step: 'retrieve', attempt: 0, status: 'skipped', elapsedMs: 0, detail: {} },
        { step: 'reserve-budget', attempt: 0, status: 'failed', elapsedMs: 3, detail: {} },
      ],
      attempts: [],
      fallbacks: [],
      failure: { type: 'Budget.Exceeded', step: 'reserve-budget', message: 'no headroom' },
    };
    telemetry.requestRecorded(record, 12);
    const text = await prometheus.scrape();

    const rows = contractRows();
    expect(rows.map((row) => row.name).sort()).toEqual(
      [
        'gatehouse_request_cost_usd_total',
        'gatehouse_step_duration_seconds',
        'gen_ai_client_operation_duration_seconds',
        'gen_ai_client_token_usage',
      ].sort(),
    );
    for (const { name, labels } of rows) {
      const series = text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name}_count{`));
      expect({ name, exposed: series.length > 0 }).toEqual({ name, exposed: true });
      const labelsSeen = new Set(
        series.flatMap((line) => [...line.matchAll(/(\w+)="/g)].map((match) => match[1]!)),
      );
      // `error_type` appears on failed calls only: the failed call's series has it.
      expect({ name, missing: labels.filter((label) => !labelsSeen.has(label)) }).toEqual({
        name,
        missing: [],
      });
    }
    expect(text).toContain(
      'gatehouse_step_duration_seconds_count{gatehouse_tenant_id="demo",gatehouse_task_type="qa",gatehouse_feature="faq",gatehouse_outcome="failed",gatehouse_step="record"} 1',
    );
    expect(text).not.toMatch(/gatehouse_step="retrieve"/);
    expect(text).toMatch(/gatehouse_budget_denials_total\{[^}]*\} 1/);
    expect(text).toMatch(/gatehouse_inference_throttles_total\{[^}]*\} 1/);
    expect(text).toMatch(/gatehouse_inference_retries_total\{[^}]*\} 2/);
    expect(text).toMatch(/gatehouse_inference_time_to_first_token_seconds_count\{[^}]*\} 1/);
    // (900 − 300) ms over 29 tokens after the first.
    expect(text).toMatch(
      new RegExp(`gatehouse_inference_time_per_output_token_seconds_sum\\{[^}]*\\} ${0.6 / 29}`),
    );
    const cost = 2 * (attemptOf('succeeded').costMicroUsd / 1_000_000);
    expect(text).toMatch(new RegExp(`gatehouse_request_cost_usd_total\\{[^}]*\\} ${cost}`));
  });
});
