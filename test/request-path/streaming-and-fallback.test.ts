import { StreamInterruptedError } from '../../client/errors';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';
import { createExtractiveProvider } from '../../providers/extractive-provider';
import { createLocalTokenCounter } from '../../providers/token-counter';
import { listUsage } from '../../store/usage-repository';
import { scriptedProvider, slowStreaming, type ScriptStep } from '../support/fake-providers';
import { saveHistoryIfRecording } from '../support/history-recording';
import { isolatedRouteTable, startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { loadRouteTable } from '../../config/load-route-table';

const RATE_LIMITED = {
  failureType: 'Inference.RateLimited',
  retryable: true,
  fallback: true,
  code: 'ThrottlingException',
};

/** The shipped table plus a model route in front of extractive. */
function tableWithModelRoute(suffix: string): RouteTable {
  const shipped = loadRouteTable(`${__dirname}/../../config/routes.json`);
  const extractive = shipped.routes[0]!;
  return isolatedRouteTable(
    suffix,
    routeTableSchema.parse({
      ...shipped,
      routes: [
        {
          ...extractive,
          id: 'self-hosted',
          provider: 'openai-compatible',
          model: 'llama-3.1-8b',
          label: 'self-hosted llama',
          degraded: false,
          taskQueue: 'gatehouse-route-self-hosted',
          retry: { maximumAttempts: 3, initialIntervalMs: 10, backoffCoefficient: 1, maximumIntervalMs: 10 },
        },
        extractive,
      ],
      tasks: {
        default: { routes: ['self-hosted', 'extractive'], budget: { maxTotalAttempts: 6, maxFallbacks: 1 } },
      },
    }),
  );
}

describe('streaming', () => {
  let harness: GatehouseHarness;
  beforeAll(async () => {
    harness = await startHarness({
      providers: { extractive: slowStreaming(createExtractiveProvider(createLocalTokenCounter()), 250) },
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('delivers the first text before the workflow completes, and the result is the streamed text', async () => {
    const submitted = await harness.gatehouse.submit(harness.input({ stream: true }));
    const started = Date.now();
    const pieces: string[] = [];
    let firstPieceAt: number | undefined;
    let runningAtFirstPiece: string | undefined;
    for await (const piece of harness.gatehouse.stream(submitted.workflowId, harness.caller, {
      pollIntervalMs: 20,
    })) {
      if (firstPieceAt === undefined) {
        firstPieceAt = Date.now() - started;
        runningAtFirstPiece = (await submitted.handle.describe()).status.name;
      }
      pieces.push(piece);
    }
    const result = await harness.gatehouse.result(submitted.workflowId, harness.caller);
    expect(runningAtFirstPiece).toBe('RUNNING');
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(result.output);
    expect(result.streamed).toBe(true);
    expect(result.timeToFirstTokenMs).toBeGreaterThan(200);
    expect(result.timeToFirstTokenMs!).toBeLessThan(result.attempts[0]!.latencyMs);
  });
});

describe('retries and fallback', () => {
  let harness: GatehouseHarness;
  const script: ScriptStep[] = [];
  const provider = scriptedProvider('openai-compatible', script);
  beforeAll(async () => {
    harness = await startHarness({
      routeTable: tableWithModelRoute,
      providers: { 'openai-compatible': provider },
    });
  });
  afterAll(async () => {
    await harness?.close();
  });
  beforeEach(() => {
    script.length = 0;
    provider.calls.length = 0;
  });

  it('retries a rate-limited route within its budget, then falls back and records every attempt', async () => {
    script.push(
      ...Array.from({ length: 3 }, () => ({ kind: 'fail' as const, classification: RATE_LIMITED })),
    );
    const result = await harness.gatehouse.execute(harness.input());
    expect(provider.calls).toHaveLength(3);
    expect(result.route.id).toBe('extractive');
    expect(result.attempts.map((attempt) => [attempt.routeId, attempt.outcome])).toEqual([
      ['self-hosted', 'failed'],
      ['self-hosted', 'failed'],
      ['self-hosted', 'failed'],
      ['extractive', 'succeeded'],
    ]);
    expect(result.fallbacks).toEqual([
      {
        fromRouteId: 'self-hosted',
        toRouteId: 'extractive',
        reason: 'self-hosted: Inference.RateLimited (ThrottlingException)',
      },
    ]);
    const ledger = await listUsage(harness.db, { tenantId: 'demo', workflowId: result.workflowId });
    expect(ledger).toHaveLength(4);
    expect(ledger.filter((row) => row.outcome === 'failed').every((row) => row.inputTokens === 100)).toBe(
      true,
    );
    const charged = ledger.reduce((total, row) => total + row.costMicroUsd, 0);
    expect(charged / 1_000_000).toBeCloseTo(result.costUsd, 9);
    await saveHistoryIfRecording(
      harness.client.workflow.getHandle(result.workflowId),
      'retried-then-fell-back',
    );
  });

  it('does not retry a non-retryable failure on the same route', async () => {
    script.push({
      kind: 'fail',
      classification: {
        failureType: 'Inference.AccessDenied',
        retryable: false,
        fallback: true,
        code: 'AccessDeniedException',
      },
    });
    const result = await harness.gatehouse.execute(
      harness.input({ question: 'How long does shipping take?' }),
    );
    expect(provider.calls).toHaveLength(1);
    expect(result.attempts).toHaveLength(2);
    expect(result.route.id).toBe('extractive');
  });

  it('never falls back once streamed text has reached the caller', async () => {
    script.push({ kind: 'fail', classification: RATE_LIMITED, afterDeltas: ['Refunds are '] });
    const submitted = await harness.gatehouse.submit(harness.input({ stream: true }));
    const error = await harness.gatehouse
      .result(submitted.workflowId, harness.caller)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(provider.calls).toHaveLength(1);
    const view = await submitted.handle.query<{ text: string }>('stream');
    expect(view.text).toBe('Refunds are ');
    await saveHistoryIfRecording(submitted.handle, 'stream-interrupted');
  });

  it('falls back while nothing has been streamed yet', async () => {
    script.push({ kind: 'fail', classification: { ...RATE_LIMITED, retryable: false } });
    const submitted = await harness.gatehouse.submit(harness.input({ stream: true }));
    const result = await harness.gatehouse.result(submitted.workflowId, harness.caller);
    expect(result.route.id).toBe('extractive');
    expect(result.output).toMatch(/refund/i);
  });
});
