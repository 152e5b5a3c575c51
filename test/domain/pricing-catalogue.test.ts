import { usageCostMicroUsd } from '../../domain/cost';
import { FAILURE_TYPES } from '../../domain/failure-types';
import {
  pricingCatalogueSchema,
  resolveModelPrice,
  UnknownModelPriceError,
  type PricingCatalogue,
} from '../../domain/pricing-catalogue';

const catalogue: PricingCatalogue = pricingCatalogueSchema.parse({
  version: 'test-2026-12-01',
  effectiveFrom: '2026-12-01',
  inferenceProfiles: { us: {}, eu: {}, apac: {}, global: { upliftPercent: 10 } },
  models: {
    'anthropic.claude-3-5-haiku-20241022-v1:0': {
      onDemand: { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 },
      batch: { input: 0.4, output: 2, cacheRead: 0.04, cacheWrite: 0.5 },
    },
    'amazon.nova-lite-v1:0': {
      onDemand: { input: 0.06, output: 0.24, cacheRead: 0.015, cacheWrite: 0 },
      profileUpliftPercent: { global: 0, eu: 5 },
    },
  },
});

const HAIKU = 'anthropic.claude-3-5-haiku-20241022-v1:0';

describe('resolveModelPrice', () => {
  it.each([
    ['a base model id', HAIKU, undefined, { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 }],
    ['a us. profile', `us.${HAIKU}`, 'us', { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 }],
    ['an eu. profile', `eu.${HAIKU}`, 'eu', { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 }],
    ['an apac. profile', `apac.${HAIKU}`, 'apac', { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 }],
    [
      'a global. profile with the catalogue’s 10 % uplift',
      `global.${HAIKU}`,
      'global',
      { input: 0.88, output: 4.4, cacheRead: 0.088, cacheWrite: 1.1 },
    ],
    [
      'a model whose own uplift overrides the catalogue’s',
      'global.amazon.nova-lite-v1:0',
      'global',
      { input: 0.06, output: 0.24, cacheRead: 0.015, cacheWrite: 0 },
    ],
    [
      'a per-model eu. uplift',
      'eu.amazon.nova-lite-v1:0',
      'eu',
      { input: 0.063, output: 0.252, cacheRead: 0.01575, cacheWrite: 0 },
    ],
    [
      'a system inference profile ARN',
      `arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.${HAIKU}`,
      'us',
      { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 },
    ],
    [
      'a foundation model ARN',
      `arn:aws:bedrock:us-east-1::foundation-model/${HAIKU}`,
      undefined,
      { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 },
    ],
  ])('prices %s from its base model’s entry', (_case, model, profile, prices) => {
    const resolved = resolveModelPrice(catalogue, model);
    expect(resolved.prices).toEqual(prices);
    expect(resolved.profile).toBe(profile);
    expect(resolved.catalogueVersion).toBe('test-2026-12-01');
    expect(resolved.billing).toBe('on-demand');
  });

  it('prices batch separately from on-demand', () => {
    expect(resolveModelPrice(catalogue, `us.${HAIKU}`, 'batch').prices).toEqual({
      input: 0.4,
      output: 2,
      cacheRead: 0.04,
      cacheWrite: 0.5,
    });
  });

  it('charges cache reads and writes at their own prices, rounding up to a whole micro-dollar', () => {
    const route = { priceUsdPerMillionTokens: resolveModelPrice(catalogue, `us.${HAIKU}`).prices };
    // 1,000 cache-read tokens at $0.08/M = 80 µ$; the same tokens as plain input would be 800 µ$.
    expect(
      usageCostMicroUsd(route, {
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 1_000,
        cacheWriteTokens: 0,
      }),
    ).toBe(80);
    // 100 in × 0.8 + 20 out × 4 + 1,000 read × 0.08 + 200 written × 1 = 80 + 80 + 80 + 200.
    expect(
      usageCostMicroUsd(route, {
        inputTokens: 100,
        outputTokens: 20,
        cacheReadTokens: 1_000,
        cacheWriteTokens: 200,
      }),
    ).toBe(440);
    const global = { priceUsdPerMillionTokens: resolveModelPrice(catalogue, `global.${HAIKU}`).prices };
    // 1,000 × 0.088 = 88 exactly; 7 × 0.088 = 0.616 rounds up to 1.
    expect(
      usageCostMicroUsd(global, {
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 1_000,
        cacheWriteTokens: 0,
      }),
    ).toBe(88);
    expect(
      usageCostMicroUsd(global, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 7, cacheWriteTokens: 0 }),
    ).toBe(1);
  });

  it.each([
    [
      'an unknown model',
      'anthropic.claude-unknown-v9:0',
      /no price for model 'anthropic\.claude-unknown-v9:0'/,
    ],
    ['an unknown profile prefix', `xx.${HAIKU}`, /no price for model 'xx\.anthropic/],
    [
      'a known prefix on an unknown model',
      'us.meta.llama-unknown',
      /no price for model 'us\.meta\.llama-unknown'/,
    ],
    [
      'an application inference profile ARN',
      'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123',
      /set the route’s pricedAs/,
    ],
  ])('fails loudly on %s, never pricing it at $0', (_case, model, message) => {
    let thrown: unknown;
    try {
      resolveModelPrice(catalogue, model);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnknownModelPriceError);
    expect((thrown as UnknownModelPriceError).failureType).toBe(FAILURE_TYPES.pricingUnknownModel);
    expect((thrown as Error).message).toMatch(/^Pricing\.UnknownModel: /);
    expect((thrown as Error).message).toMatch(message);
  });

  it('fails loudly on a batch route whose model has no batch price', () => {
    expect(() => resolveModelPrice(catalogue, 'amazon.nova-lite-v1:0', 'batch')).toThrow(
      /no batch price for model 'amazon\.nova-lite-v1:0'/,
    );
  });
});
