import type { Route } from './route-table';

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export const ZERO_USAGE: TokenUsage = {
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
};

/** Money is counted in integer micro-dollars so that sums are exact; USD only at the edges. */
export const MICRO_USD_PER_USD = 1_000_000;

export function usdToMicro(usd: number): number {
  return Math.round(usd * MICRO_USD_PER_USD);
}

export function microToUsd(micro: number): number {
  return micro / MICRO_USD_PER_USD;
}

/** Cost of actual usage on a route, rounded up to a whole micro-dollar so nothing is under-charged. */
export function usageCostMicroUsd(route: Pick<Route, 'priceUsdPerMillionTokens'>, usage: TokenUsage): number {
  const price = route.priceUsdPerMillionTokens;
  // Prices are USD per 1M tokens, so tokens × price is already micro-dollars.
  const micro =
    usage.inputTokens * price.input +
    usage.outputTokens * price.output +
    usage.cacheReadTokens * price.cacheRead +
    usage.cacheWriteTokens * price.cacheWrite;
  return Math.ceil(micro);
}

/** The most a request can cost: full prompt plus maximum output at the costliest candidate route. */
export function worstCaseCostMicroUsd(
  routes: Route[],
  promptTokens: number,
  maxOutputTokens: number,
): number {
  let worst = 0;
  for (const route of routes) {
    const outputTokens = Math.min(maxOutputTokens, route.maxOutputTokens);
    const cost = usageCostMicroUsd(route, { ...ZERO_USAGE, inputTokens: promptTokens, outputTokens });
    worst = Math.max(worst, cost);
  }
  return worst;
}

export function addUsage(left: TokenUsage, right: TokenUsage): TokenUsage {
  return {
    inputTokens: left.inputTokens + right.inputTokens,
    outputTokens: left.outputTokens + right.outputTokens,
    cacheReadTokens: left.cacheReadTokens + right.cacheReadTokens,
    cacheWriteTokens: left.cacheWriteTokens + right.cacheWriteTokens,
  };
}
