import { RequestInvalidError } from '../../client/errors';
import type { LlmRequestInput } from '../../domain/request-contract';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';

const MIXED_SCRIPTS = Array.from({ length: 100_000 }, (_, index) =>
  String.fromCodePoint([0x61, 0x416, 0x5d0, 0x627, 0x4e00, 0x1f600, 0x3b1][index % 7]! + (index % 13)),
).join('');
/** Passes of (20 ordinary alone, 20 ordinary beside the pathological ones); the median pass is judged. */
const PASSES = 5;
const DEEP_SCHEMA = JSON.parse(`${'{"a":'.repeat(40)}{}${'}'.repeat(40)}`) as Record<string, unknown>;

function p95(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}

describe('a pathological request cannot slow anyone else down', () => {
  let harness: GatehouseHarness;
  let round = 0;
  beforeAll(async () => {
    harness = await startHarness();
    await harness.gatehouse.execute(harness.input({ question: 'warm up' }));
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function ordinaryLatencies(count: number): Promise<number[]> {
    round += 1;
    return Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const started = performance.now();
        await harness.gatehouse.execute(
          harness.input({
            requestId: `ordinary-${round}-${index}`,
            question: `What is the refund policy? (${index})`,
          }),
        );
        return performance.now() - started;
      }),
    );
  }

  it.each<[string, Partial<LlmRequestInput>]>([
    ['100k characters of mixed scripts', { question: MIXED_SCRIPTS }],
    ['a lone surrogate', { question: 'refund \uDC00 policy' }],
    ['an output schema nested 40 deep', { outputSchema: DEEP_SCHEMA }],
    ['an invalid output schema', { outputSchema: { type: 12345 } }],
    ['wrong types', { question: 42 as unknown as string, maxOutputTokens: 'many' as unknown as number }],
  ])('rejects %s before any workflow starts, within a second', async (_name, overrides) => {
    const started = performance.now();
    const error = await harness.gatehouse
      .submit(harness.input({ requestId: `poison-${round++}`, ...overrides }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RequestInvalidError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('answers a 32k question without spaces cheaply while 20 ordinary requests keep their p95 within 1.5×', async () => {
    const ratios: number[] = [];
    const slowest: number[] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      const baseline = await ordinaryLatencies(20);
      const pathological = harness.gatehouse.execute(
        harness.input({ requestId: `pathological-${pass}`, question: `${'x'.repeat(31_990)} refund?` }),
      );
      const rejected = harness.gatehouse
        .submit(harness.input({ question: MIXED_SCRIPTS }))
        .catch((caught: unknown) => caught);
      const loaded = await ordinaryLatencies(20);
      ratios.push(p95(loaded) / p95(baseline));
      const result = await pathological;
      expect(await rejected).toBeInstanceOf(RequestInvalidError);
      // Its own work: each step's activity time and the model call, not time spent queued behind others.
      const { infer: _queuedAndWorking, ...ownSteps } = result.timings;
      slowest.push(
        Math.max(...Object.values(ownSteps), ...result.attempts.map((attempt) => attempt.latencyMs)),
      );
    }
    process.stdout.write(
      `ordinary p95 beside / without the pathological requests, per pass: ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')}; ` +
        `its slowest step or model call, per pass: ${slowest.map((ms) => ms.toFixed(0)).join(', ')} ms\n`,
    );
    // The median pass is judged: a cost that grows with the input shows in every pass, a burst of load on
    // shared cores in one. (Each ratio compares with a run without it just before.)
    const median = (values: number[]) =>
      [...values].sort((left, right) => left - right)[Math.floor(PASSES / 2)]!;
    expect(median(slowest)).toBeLessThan(2_000);
    expect(median(ratios)).toBeLessThanOrEqual(1.5);
  });
});
