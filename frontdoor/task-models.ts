import { taskTypeSchema } from '../domain/request-contract';
import { taskRoutingFor, type RouteTable } from '../domain/route-table';

/**
 * OpenAI clients choose a `model`; Gatehouse chooses routes itself, from the task type. So the front door's
 * models are task types: `gatehouse-qa` asks a `qa` request, routed by the route table and the tenant's
 * policy. `GET /v1/models` lists the ones the key's principal may use.
 */
export const TASK_MODEL_PREFIX = 'gatehouse-';

export function taskModelId(taskType: string): string {
  return `${TASK_MODEL_PREFIX}${taskType}`;
}

/** The task type a model id names, or undefined when it names none (`gpt-4o`, `gatehouse-`). */
export function taskTypeOfModel(model: string): string | undefined {
  if (!model.startsWith(TASK_MODEL_PREFIX)) return undefined;
  const taskType = model.slice(TASK_MODEL_PREFIX.length);
  return taskTypeSchema.safeParse(taskType).success ? taskType : undefined;
}

/** A task type a principal may request, as a model, with the routes that may answer it. */
export interface TaskModel {
  id: string;
  taskType: string;
  /** Route ids in the order they are tried, after the tenant's allowlist, tier and degraded policy. */
  routes: Array<{ id: string; label: string; degraded: boolean }>;
}

/** What the tenant's policy and tier say about routes. */
export interface RouteEntitlement {
  /** Null: every route. */
  allowedRoutes: string[] | null;
  tenantTier: string;
  allowDegraded: boolean;
}

/**
 * The task models of a principal's capabilities. Only the static route rules apply here (allowlist, tier,
 * degraded); data class, context size, cost ceiling and circuit state are decided per request.
 */
export function taskModelsFor(
  capabilities: readonly string[],
  table: RouteTable,
  entitlement: RouteEntitlement,
): TaskModel[] {
  const routesById = new Map(table.routes.map((route) => [route.id, route]));
  return [...new Set(capabilities)]
    .filter((taskType) => taskTypeSchema.safeParse(taskType).success)
    .sort()
    .map((taskType) => ({
      id: taskModelId(taskType),
      taskType,
      routes: taskRoutingFor(table, taskType)
        .routes.map((routeId) => routesById.get(routeId))
        .filter((route) => route !== undefined)
        .filter(
          (route) =>
            (entitlement.allowedRoutes === null || entitlement.allowedRoutes.includes(route.id)) &&
            (route.tenantTiers === undefined || route.tenantTiers.includes(entitlement.tenantTier)) &&
            (!route.degraded || entitlement.allowDegraded),
        )
        .map((route) => ({ id: route.id, label: route.label, degraded: route.degraded })),
    }));
}
