import { canaryBucket, CANARY_BUCKETS, takesCanary } from '../../domain/prompt-canary';

const requestIds = Array.from({ length: 2000 }, (_, index) => `req-${index.toString().padStart(5, '0')}`);

describe('canary prompt split', () => {
  it.each([1, 5, 10, 25, 50, 90])('%i %% of 2,000 request ids take the canary, within ±3 %%', (percent) => {
    const taken = requestIds.filter((id) => takesCanary(percent, 'acme', 'qa', id)).length;
    const share = (100 * taken) / requestIds.length;
    process.stdout.write(`canary ${percent} %: ${taken} of ${requestIds.length} (${share.toFixed(2)} %)\n`);
    expect(Math.abs(share - percent)).toBeLessThanOrEqual(3);
  });

  it('is stable for the same request id and differs between prompts and tenants', () => {
    for (const id of requestIds.slice(0, 100)) {
      expect(canaryBucket('acme', 'qa', id)).toBe(canaryBucket('acme', 'qa', id));
    }
    const sameAcrossPrompts = requestIds.filter(
      (id) => takesCanary(10, 'acme', 'qa', id) === takesCanary(10, 'acme', 'summarize', id),
    ).length;
    // Independent 10 % splits agree on about 82 % of ids; identical ones would agree on all.
    expect(sameAcrossPrompts).toBeLessThan(requestIds.length * 0.9);
    expect(requestIds.some((id) => canaryBucket('acme', 'qa', id) !== canaryBucket('globex', 'qa', id))).toBe(
      true,
    );
  });

  it('0 % never and 100 % always takes the canary; buckets cover the whole range', () => {
    expect(requestIds.some((id) => takesCanary(0, 'acme', 'qa', id))).toBe(false);
    expect(requestIds.every((id) => takesCanary(100, 'acme', 'qa', id))).toBe(true);
    const buckets = requestIds.map((id) => canaryBucket('acme', 'qa', id));
    expect(Math.min(...buckets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...buckets)).toBeLessThan(CANARY_BUCKETS);
    expect(Math.max(...buckets) - Math.min(...buckets)).toBeGreaterThan(CANARY_BUCKETS * 0.9);
  });
});
