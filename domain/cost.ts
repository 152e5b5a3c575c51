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

/** The most one attempt on `route` can cost: the whole prompt plus the maximum output. */
export function attemptWorstCaseMicroUsd(
  route: Pick<Route, 'priceUsdPerMillionTokens' | 'maxOutputTokens'>,
  promptTokens: number,
  maxOutputTokens: number,
): number {
  const outputTokens = Math.min(maxOutputTokens, route.maxOutputTokens);
  return usageCostMicroUsd(route, { ...ZERO_USAGE, inputTokens: promptTokens, outputTokens });
}

/** The largest of `perRoute` over `routes`; 0 for none. */
function mostOfAny<R>(routes: ReadonlyArray<R>, perRoute: (route: R) => number): number {
  return Math.max(0, ...routes.map(perRoute));
}

/**
 * What to reserve before an attempt: its worst case at the costliest of `routes`, with each route's
 * prompt counted `promptTokenMargin` times larger to absorb a provider counting more than we estimated.
 */
export function reservationMicroUsd(
  routes: ReadonlyArray<Pick<Route, 'priceUsdPerMillionTokens' | 'maxOutputTokens' | 'promptTokenMargin'>>,
  promptTokens: number,
  maxOutputTokens: number,
): number {
  return mostOfAny(routes, (route) =>
    attemptWorstCaseMicroUsd(route, Math.ceil(promptTokens * route.promptTokenMargin), maxOutputTokens),
  );
}

export function addUsage(left: TokenUsage, right: TokenUsage): TokenUsage {
  return {
    inputTokens: left.inputTokens + right.inputTokens,
    outputTokens: left.outputTokens + right.outputTokens,
    cacheReadTokens: left.cacheReadTokens + right.cacheReadTokens,
    cacheWriteTokens: left.cacheWriteTokens + right.cacheWriteTokens,
  };
}

/**
 * Tokens to hold against token budgets before an attempt: the most one attempt can use at any of
 * `routes` — its prompt with the route's margin plus the route's maximum output.
 */
export function reservationTokens(
  routes: ReadonlyArray<Pick<Route, 'maxOutputTokens' | 'promptTokenMargin'>>,
  promptTokens: number,
  maxOutputTokens: number,
): number {
  return mostOfAny(
    routes,
    (route) =>
      Math.ceil(promptTokens * route.promptTokenMargin) + Math.min(maxOutputTokens, route.maxOutputTokens),
  );
}
