import { z } from 'zod';
import { FAILURE_TYPES } from './failure-types';

/** USD per million tokens of each kind; tokens × price is micro-dollars (docs/decisions/0004). */
export const tokenPricesSchema = z.object({
  input: z.number().min(0),
  output: z.number().min(0),
  cacheRead: z.number().min(0),
  cacheWrite: z.number().min(0),
});
export type TokenPrices = z.infer<typeof tokenPricesSchema>;

export const billingModeSchema = z.enum(['on-demand', 'batch']);
export type BillingMode = z.infer<typeof billingModeSchema>;

const upliftPercentSchema = z.number().min(-100).max(1000);

export const modelPriceSchema = z.object({
  /** Where the figures come from (the provider's pricing page). */
  source: z.string().url().optional(),
  onDemand: tokenPricesSchema,
  /** Absent: the model has no batch price, and a batch route on it is refused. */
  batch: tokenPricesSchema.optional(),
  /** Per-model uplift of a profile prefix (percent), overriding the catalogue-wide one. */
  profileUpliftPercent: z.record(upliftPercentSchema).optional(),
});
export type ModelPrice = z.infer<typeof modelPriceSchema>;

export const pricingCatalogueSchema = z.object({
  /** Recorded on every ledger row priced with this catalogue. */
  version: z.string().min(1),
  /** The day (UTC) these prices took effect. */
  effectiveFrom: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /**
   * Cross-region inference profile prefixes (`us.`, `eu.`, `apac.`, `global.`, …) and the uplift, in
   * percent of the base model's price, that each one carries.
   */
  inferenceProfiles: z.record(z.object({ upliftPercent: upliftPercentSchema.default(0) })),
  /** Base model id → prices. */
  models: z.record(modelPriceSchema),
});
export type PricingCatalogue = z.infer<typeof pricingCatalogueSchema>;

/** What a route (or one model id) is charged, and which catalogue entry said so. */
export interface ResolvedPrice {
  prices: TokenPrices;
  catalogueVersion: string;
  /** The catalogue's model id the price came from. */
  baseModel: string;
  /** The cross-region profile prefix, when the model id was a profile. */
  profile?: string;
  billing: BillingMode;
}

/**
 * A model, inference profile or billing mode the pricing catalogue does not know. Pricing it at $0 would
 * hide real spend from budgets and reports, so it stops the worker at start-up instead.
 */
export class UnknownModelPriceError extends Error {
  override readonly name = 'UnknownModelPriceError';
  readonly failureType = FAILURE_TYPES.pricingUnknownModel;
  constructor(message: string) {
    super(`${FAILURE_TYPES.pricingUnknownModel}: ${message}`);
  }
}

const FOUNDATION_MODEL_ARN =
  /^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile)\/(.+)$/;

/** A Bedrock model or system inference profile ARN names its id after the slash. */
function modelIdOf(model: string): string {
  return FOUNDATION_MODEL_ARN.exec(model)?.[1] ?? model;
}

/**
 * Resolves `model` (a model id, a cross-region profile id such as `us.anthropic…`/`global.…`, or the ARN
 * of either) to its price under `billing`. Throws `UnknownModelPriceError` when the catalogue has no
 * price for it; never returns zero for something it does not know.
 */
export function resolveModelPrice(
  catalogue: PricingCatalogue,
  model: string,
  billing: BillingMode = 'on-demand',
): ResolvedPrice {
  const id = modelIdOf(model);
  let baseModel = id;
  let profile: string | undefined;
  if (!(id in catalogue.models)) {
    const dot = id.indexOf('.');
    const prefix = dot > 0 ? id.slice(0, dot) : '';
    if (prefix in catalogue.inferenceProfiles && id.slice(dot + 1) in catalogue.models) {
      profile = prefix;
      baseModel = id.slice(dot + 1);
    }
  }
  const entry = catalogue.models[baseModel];
  if (entry === undefined) {
    throw new UnknownModelPriceError(
      `pricing catalogue ${catalogue.version} has no price for model '${model}'` +
        (model.includes(':application-inference-profile/')
          ? ' (an application inference profile: set the route’s pricedAs to its model id)'
          : ''),
    );
  }
  const base = billing === 'batch' ? entry.batch : entry.onDemand;
  if (base === undefined) {
    throw new UnknownModelPriceError(
      `pricing catalogue ${catalogue.version} has no ${billing} price for model '${baseModel}'`,
    );
  }
  const uplift =
    profile === undefined
      ? 0
      : (entry.profileUpliftPercent?.[profile] ?? catalogue.inferenceProfiles[profile]?.upliftPercent ?? 0);
  return {
    prices: uplift === 0 ? base : scalePrices(base, 1 + uplift / 100),
    catalogueVersion: catalogue.version,
    baseModel,
    ...(profile === undefined ? {} : { profile }),
    billing,
  };
}

function scalePrices(prices: TokenPrices, factor: number): TokenPrices {
  // Rounded to a millionth of a dollar per million tokens: the catalogue's own precision.
  const scale = (price: number) => Math.round(price * factor * 1_000_000) / 1_000_000;
  return {
    input: scale(prices.input),
    output: scale(prices.output),
    cacheRead: scale(prices.cacheRead),
    cacheWrite: scale(prices.cacheWrite),
  };
}
