import {
  selectRoutePlan,
  withoutLostProbes,
  type RoutePlan,
  type RouteSelectionInput,
} from '../domain/route-selection';
import { claimRouteProbe, getRouteHealth } from '../store/route-health-repository';
import type { ActivityDependencies } from './activity-dependencies';

/**
 * Step 5. The pure route selection over the shared route health; a half-open route is probed by one
 * request only, so whoever loses the claim leaves it out.
 */
export function createSelectRouteActivity(deps: Pick<ActivityDependencies, 'db' | 'routeTable' | 'clock'>) {
  return async function selectRoute(input: RouteSelectionInput): Promise<RoutePlan> {
    const table = deps.routeTable;
    const now = deps.clock();
    const health = await getRouteHealth(
      deps.db,
      table.routes.map((route) => route.id),
    );
    const plan = selectRoutePlan(table, input, health, now);
    const lost = new Set<string>();
    for (const choice of plan.choices.filter((entry) => entry.probe)) {
      if (!(await claimRouteProbe(deps.db, choice.routeId, now, table.breaker))) lost.add(choice.routeId);
    }
    return withoutLostProbes(plan, lost);
  };
}
