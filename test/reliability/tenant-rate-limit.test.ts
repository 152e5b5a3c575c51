/**
 * A tenant's requests-per-minute limit holds across two worker processes: both count in the same
 * database row under the tenant's budget lock, so the fleet admits the limit, not the limit per process.
 */
import { RateLimitExceededError } from '../../client/errors';
import { putTenantRateLimit, rateWindowOf } from '../../store/rate-limits';
import { getTestTemporalAddress } from '../support/temporal-test-env';
import { startFleet, type Fleet } from './fleet';
import { report } from './processes';

const PER_MINUTE = 30;
const REQUESTS = 80;
const CONCURRENCY = 16;

describe('a tenant rate limit across worker processes', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ address: getTestTemporalAddress(), latencyMs: 20 });
    await putTenantRateLimit(fleet.db, {
      tenantId: 'demo',
      requestsPerMinute: PER_MINUTE,
      tokensPerMinute: null,
      author: 'reliability test',
    });
    await Promise.all([fleet.startWorker('worker-a'), fleet.startWorker('worker-b')]);
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it(`admits ${PER_MINUTE} ± 10 % of ${REQUESTS} requests in one minute across two workers`, async () => {
    // One fixed window: start early in a minute so the burst does not straddle two.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 25_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 200));
    const window = rateWindowOf(new Date());
    let next = 0;
    const admitted: string[] = [];
    let limited = 0;
    const others: unknown[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          const index = next++;
          try {
            const result = await fleet.gatehouse.execute(
              fleet.input({ requestId: `rate-${index}`, question: `What is the refund policy? (${index})` }),
            );
            admitted.push(result.workflowId);
          } catch (error) {
            if (error instanceof RateLimitExceededError) limited += 1;
            else others.push(error);
          }
        }
      }),
    );
    const finishedIn = rateWindowOf(new Date());
    expect(others).toEqual([]);
    expect(finishedIn).toBe(window);
    expect(admitted.length + limited).toBe(REQUESTS);
    expect(Math.abs(admitted.length - PER_MINUTE)).toBeLessThanOrEqual(PER_MINUTE * 0.1);

    // Both processes ran reservations: the workflow tasks of the admitted requests name both workers.
    const identities = new Set<string>();
    for (const workflowId of admitted) {
      const history = await fleet.client.workflow.getHandle(workflowId).fetchHistory();
      for (const event of history.events ?? []) {
        const identity = event.workflowTaskStartedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    }
    expect(identities.size).toBeGreaterThanOrEqual(2);
    report('tenant rate limit, two workers', {
      'limit per minute': PER_MINUTE,
      requests: REQUESTS,
      admitted: admitted.length,
      'rate limited': limited,
      'worker identities': identities.size,
    });
  });
});
