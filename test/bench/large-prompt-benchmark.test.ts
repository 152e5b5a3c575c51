/**
 * B6 runs the request path with a ~100k-token prompt template the benchmark adds itself: it must add it
 * the way a deployment does (attested), or every request is refused and the scenario measures nothing.
 */
import { startBenchEnvironment, type BenchEnvironment } from '../../bench/bench-environment';
import { runLargePromptBenchmark } from '../../bench/prompt-size-benchmarks';

describe('the B6 benchmark', () => {
  let env: BenchEnvironment | undefined;
  afterAll(async () => {
    await env?.close();
  });

  it('serves every large-prompt request, with the prompt by reference', async () => {
    const lines: string[] = [];
    env = await startBenchEnvironment({ latencyMs: 0, log: (line) => lines.push(line) });
    const result = await runLargePromptBenchmark(env, { quick: true, log: (line) => lines.push(line) });
    expect(lines.filter((line) => line.includes('failed'))).toEqual([]);
    expect(result.errors).toBe(0);
    expect(result.promptTokens).toBeGreaterThan(90_000);
    expect(result.b6Added.count).toBeGreaterThan(0);
    // The prompt alone is ~466 KB: a history this small holds a reference, not the text.
    expect(result.historyBytesPerRequest.b6).toBeLessThan(64 * 1024);
  }, 300_000);
});
