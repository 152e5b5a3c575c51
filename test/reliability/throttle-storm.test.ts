import { InferenceExhaustedError } from '../../client/errors';
import { getTestTemporalAddress } from '../support/temporal-test-env';
import { compareLedger, MODEL, startFleet, type Fleet } from './fleet';
import { report, scaled } from './processes';

const REQUESTS = scaled(8, 40);
const RETRY_AFTER_SECONDS = 1;
const ROUTE_ATTEMPTS = 3;
const MAX_TOTAL_ATTEMPTS = 5;

describe('a 429 storm from the provider', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      address: getTestTemporalAddress(),
      script: { behaviours: ['throttle'], retryAfterSeconds: RETRY_AFTER_SECONDS },
      fallback: {},
      retry: {
        maximumAttempts: ROUTE_ATTEMPTS,
        initialIntervalMs: 50,
        backoffCoefficient: 2,
        maximumIntervalMs: 200,
      },
      budget: { maxTotalAttempts: MAX_TOTAL_ATTEMPTS, maxFallbacks: 1 },
    });
    await fleet.startWorker('worker');
  });
  afterAll(async () => {
    await fleet?.close();
  });

  /** Each request's calls, by the marker in its question. */
  function callsByRequest(wave: string) {
    const byRequest = new Map<string, { model: string; at: number }[]>();
    for (const call of fleet.emulator.calls()) {
      const marker = /\((storm-[a-z]+ \d+)\)/.exec(call.userText ?? '')?.[1];
      if (!marker?.startsWith(`storm-${wave} `)) continue;
      byRequest.set(marker, [...(byRequest.get(marker) ?? []), { model: call.model, at: call.at }]);
    }
    return byRequest;
  }

  /** The shortest pause between two calls of one request to the throttling route. */
  function shortestRetryGapMs(byRequest: ReturnType<typeof callsByRequest>): number {
    let shortest = Number.POSITIVE_INFINITY;
    for (const calls of byRequest.values()) {
      const primary = calls
        .filter((call) => call.model === MODEL)
        .map((call) => call.at)
        .sort((a, b) => a - b);
      for (let index = 1; index < primary.length; index++) {
        shortest = Math.min(shortest, primary[index]! - primary[index - 1]!);
      }
    }
    return shortest;
  }

  const ask = (wave: string) =>
    Promise.all(
      Array.from({ length: REQUESTS }, (_, index) =>
        fleet.gatehouse
          .execute(
            fleet.input({
              requestId: `storm-${wave}-${index}`,
              question: `What is the refund policy? (storm-${wave} ${index})`,
            }),
          )
          .then(
            (result) => ({ result, error: undefined }),
            (error: unknown) => ({ result: undefined, error }),
          ),
      ),
    );

  it('honours Retry-After, falls back within the fallback budget and answers', async () => {
    const outcomes = await ask('fallback');
    expect(outcomes.filter((outcome) => outcome.error !== undefined)).toEqual([]);
    const byRequest = callsByRequest('fallback');
    expect(byRequest.size).toBe(REQUESTS);
    for (const [marker, calls] of byRequest) {
      expect({ marker, primary: calls.filter((call) => call.model === MODEL).length }).toEqual({
        marker,
        primary: ROUTE_ATTEMPTS,
      });
      expect({ marker, fallback: calls.filter((call) => call.model !== MODEL).length }).toEqual({
        marker,
        fallback: 1,
      });
    }
    for (const { result } of outcomes) {
      expect(result!.route.id).toBe('fallback');
      expect(result!.fallbacks).toHaveLength(1);
    }
    const gap = shortestRetryGapMs(byRequest);
    expect(gap).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000);
    report('429 storm, fallback healthy', {
      requests: REQUESTS,
      answered: outcomes.length,
      'attempts per request': ROUTE_ATTEMPTS + 1,
      'shortest retry after a 429 (ms)': gap,
      'Retry-After (ms)': RETRY_AFTER_SECONDS * 1000,
    });
  });

  it('stops at the attempt budget when every route throttles, and charges nothing it was not billed', async () => {
    fleet.emulator.setScript(`${MODEL}-fallback`, {
      behaviours: ['throttle'],
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
    const outcomes = await ask('everywhere');
    for (const outcome of outcomes) expect(outcome.error).toBeInstanceOf(InferenceExhaustedError);
    const byRequest = callsByRequest('everywhere');
    const attempts = [...byRequest.values()].map((calls) => calls.length);
    const fallbackCalls = [...byRequest.values()].map(
      (calls) => calls.filter((call) => call.model !== MODEL).length,
    );
    expect(Math.max(...attempts)).toBeLessThanOrEqual(MAX_TOTAL_ATTEMPTS);
    expect(attempts.every((count) => count === MAX_TOTAL_ATTEMPTS)).toBe(true);
    expect(Math.min(...fallbackCalls)).toBeGreaterThan(0);
    const gap = shortestRetryGapMs(byRequest);
    expect(gap).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000);
    const ledger = await compareLedger(fleet);
    expect(ledger.chargedRows).toBe(ledger.billedCalls);
    report('429 storm, every route throttling', {
      requests: REQUESTS,
      failed: outcomes.length,
      'most attempts for one request': Math.max(...attempts),
      'attempt budget': MAX_TOTAL_ATTEMPTS,
      'shortest retry after a 429 (ms)': gap,
      'billed calls': ledger.billedCalls,
      'ledger rows charged': ledger.chargedRows,
    });
  });
});
