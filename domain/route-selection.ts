import { admitThroughBreaker, closedHealth, type RouteHealth } from './circuit-breaker';
import { attemptWorstCaseMicroUsd, usdToMicro } from './cost';
import type { PolicyDecision } from './policy';
import type { LlmRequest } from './request-contract';
import type { DataClass } from './data-class';
import { routesForDataClass } from './task-routes';
import {
  taskRoutingFor,
  type InferenceBudget,
  type LatencyClass,
  type Route,
  type RouteTable,
} from './route-table';

export interface RouteChoice {
  routeId: string;
  reason: string;
  /** This request is the half-open probe that decides whether the route's circuit closes. */
  probe: boolean;
}

export interface RouteExclusion {
  routeId: string;
  reason: string;
}

/** The ordered routes a request may try, why each was chosen or left out, and the budgets that bound it. */
export interface RoutePlan {
  tableVersion: string;
  candidates: Route[];
  choices: RouteChoice[];
  excluded: RouteExclusion[];
  budget: InferenceBudget;
}

export interface RouteSelectionInput {
  taskType: string;
  /** The request's effective data class. */
  dataClass: DataClass;
  /**
   * Every class present in what the route would be sent (the declaration and each retrieved document):
   * a route must carry all of them, not only the strictest.
   */
  contentClasses?: DataClass[];
  tenantTier: string;
  /** Tenant allowlist from policy; null means every route. */
  allowedRoutes: string[] | null;
  allowDegraded: boolean;
  latencyClass?: LatencyClass;
  promptTokens: number;
  maxOutputTokens: number;
  /** Per-request ceiling: routes whose worst case costs more are left out. */
  costCeilingMicroUsd?: number;
}

const LATENCY_RANK: Record<LatencyClass, number> = { interactive: 0, standard: 1, batch: 2 };

/** Static reasons a route cannot serve a request, checked in order; the first that applies is reported. */
const EXCLUSION_RULES: Array<(route: Route, input: RouteSelectionInput) => string | undefined> = [
  (route, input) =>
    input.allowedRoutes && !input.allowedRoutes.includes(route.id)
      ? 'not in the tenant allowlist'
      : undefined,
  (route, input) =>
    route.tenantTiers && !route.tenantTiers.includes(input.tenantTier)
      ? `not offered to tier '${input.tenantTier}' (tiers: ${route.tenantTiers.join(', ')})`
      : undefined,
  (route, input) => {
    const missing = [input.dataClass, ...(input.contentClasses ?? [])].find(
      (dataClass) => !route.dataClasses.includes(dataClass),
    );
    return missing === undefined ? undefined : `does not carry '${missing}' data`;
  },
  (route, input) =>
    route.degraded && !input.allowDegraded ? 'degraded route, not allowed by policy' : undefined,
  (route, input) =>
    input.latencyClass && LATENCY_RANK[route.latencyClass] > LATENCY_RANK[input.latencyClass]
      ? `latency class '${route.latencyClass}' is slower than the requested '${input.latencyClass}'`
      : undefined,
  (route, input) => {
    const needed = input.promptTokens + Math.min(input.maxOutputTokens, route.maxOutputTokens);
    return needed > route.contextWindowTokens
      ? `needs ${needed} tokens, context window is ${route.contextWindowTokens}`
      : undefined;
  },
  (route, input) => {
    if (input.costCeilingMicroUsd === undefined) return undefined;
    const worst = attemptWorstCaseMicroUsd(route, input.promptTokens, input.maxOutputTokens);
    return worst > input.costCeilingMicroUsd
      ? `worst case ${worst} micro-USD exceeds the request's ceiling of ${input.costCeilingMicroUsd}`
      : undefined;
  },
];

/**
 * Orders the candidate routes for a request and says why each other route was left out. Pure: the same
 * table, input, health and clock always give the same plan, which is kept in history and the audit trail.
 * Degraded routes always come last, whatever their place in the task's list.
 */
export function selectRoutePlan(
  table: RouteTable,
  input: RouteSelectionInput,
  health: Record<string, RouteHealth | undefined>,
  now: number,
): RoutePlan {
  const routing = taskRoutingFor(table, input.taskType);
  const byId = new Map(table.routes.map((route) => [route.id, route]));
  const ordered = routing.routes
    .map((routeId, index) => ({ route: byId.get(routeId), index }))
    .filter((entry): entry is { route: Route; index: number } => entry.route !== undefined)
    .sort(
      (left, right) => Number(left.route.degraded) - Number(right.route.degraded) || left.index - right.index,
    );
  const candidates: Route[] = [];
  const choices: RouteChoice[] = [];
  const excluded: RouteExclusion[] = [];
  for (const { route, index } of ordered) {
    const staticReason = EXCLUSION_RULES.map((rule) => rule(route, input)).find(
      (reason) => reason !== undefined,
    );
    if (staticReason) {
      excluded.push({ routeId: route.id, reason: staticReason });
      continue;
    }
    const admission = admitThroughBreaker(health[route.id] ?? closedHealth(route.id), now, table.breaker);
    if (!admission.admitted) {
      excluded.push({ routeId: route.id, reason: admission.reason });
      continue;
    }
    candidates.push(route);
    const place = `preference ${index + 1} for task '${input.taskType}'`;
    choices.push({
      routeId: route.id,
      probe: admission.probe,
      reason: admission.probe
        ? `${place}; half-open probe after cool-down`
        : route.degraded
          ? `${place}; degraded last resort`
          : place,
    });
  }
  return { tableVersion: table.version, candidates, choices, excluded, budget: routing.budget };
}

/**
 * The plan without the half-open routes whose single probe another request claimed first: each such
 * route leaves the candidates and says why.
 */
export function withoutLostProbes(plan: RoutePlan, lostRouteIds: ReadonlySet<string>): RoutePlan {
  if (lostRouteIds.size === 0) return plan;
  return {
    ...plan,
    candidates: plan.candidates.filter((route) => !lostRouteIds.has(route.id)),
    choices: plan.choices.filter((choice) => !lostRouteIds.has(choice.routeId)),
    excluded: [
      ...plan.excluded,
      ...[...lostRouteIds].map((routeId) => ({
        routeId,
        reason: 'circuit half-open, another request is probing it',
      })),
    ],
  };
}

/**
 * The selection input of a request once its prompt is assembled: the effective class and every class in
 * the content, the tenant's allowlist and tier, and the lower of the policy's and the request's ceilings.
 */
export function routeSelectionFor(
  request: Pick<LlmRequest, 'taskType' | 'dataClass' | 'latencyClass' | 'maxCostUsd'>,
  authorization: Extract<PolicyDecision, { allowed: true }>,
  effectiveDataClass: DataClass,
  documentClasses: DataClass[],
  promptTokens: number,
): RouteSelectionInput {
  const ceilings = [
    authorization.costCeilingMicroUsd,
    request.maxCostUsd === undefined ? undefined : usdToMicro(request.maxCostUsd),
  ].filter((ceiling): ceiling is number => ceiling !== undefined);
  return {
    taskType: request.taskType,
    dataClass: effectiveDataClass,
    contentClasses: [...new Set([request.dataClass, ...documentClasses])],
    tenantTier: authorization.tenantTier,
    allowedRoutes: authorization.routesByDataClass
      ? routesForDataClass(authorization.allowedRoutes, authorization.routesByDataClass, effectiveDataClass)
      : authorization.allowedRoutes,
    allowDegraded: authorization.allowDegradedRoutes,
    latencyClass: request.latencyClass,
    promptTokens,
    maxOutputTokens: authorization.maxOutputTokens,
    costCeilingMicroUsd: ceilings.length > 0 ? Math.min(...ceilings) : undefined,
  };
}
