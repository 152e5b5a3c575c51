import type { RouteTable } from '../domain/route-table';

/** How one route task queue is polled; routes sharing a queue share these limits. */
export interface RouteQueueLimits {
  maxConcurrent: number;
  /** Enforced by the server across every worker polling the queue. */
  activitiesPerSecond?: number;
}

/** Which task queues one worker process polls. */
export interface TaskQueuePlan {
  /** The request queue (workflows and the non-inference activities), when this process polls it. */
  requestQueue?: string;
  /** The route queues this process polls (only `infer` runs there), in route-table order. */
  routeQueues: Map<string, RouteQueueLimits>;
}

/**
 * Every queue Gatehouse serves, or only the selected ones — so a deployment can run the request queue
 * and each route queue as separately scaled processes. Naming a queue Gatehouse does not serve is an
 * error: a typo would otherwise leave that queue without any worker and its requests waiting forever.
 */
export function planTaskQueues(
  requestQueue: string,
  routeTable: RouteTable,
  selection?: readonly string[],
): TaskQueuePlan {
  // Routes sharing a queue share its limits; the strictest one wins.
  const allRouteQueues = new Map<string, RouteQueueLimits>();
  for (const route of routeTable.routes) {
    const known = allRouteQueues.get(route.taskQueue);
    const rates = [known?.activitiesPerSecond, route.rateLimit.activitiesPerSecond].filter(
      (rate): rate is number => rate !== undefined,
    );
    allRouteQueues.set(route.taskQueue, {
      maxConcurrent: Math.min(known?.maxConcurrent ?? Infinity, route.rateLimit.maxConcurrent),
      activitiesPerSecond: rates.length > 0 ? Math.min(...rates) : undefined,
    });
  }
  if (selection === undefined) return { requestQueue, routeQueues: allRouteQueues };

  if (selection.length === 0) throw new Error('no task queue selected: name at least one to poll');
  const served = [requestQueue, ...allRouteQueues.keys()];
  const unknown = selection.filter((queue) => !served.includes(queue));
  if (unknown.length > 0) {
    throw new Error(
      `task queue${unknown.length > 1 ? 's' : ''} ${unknown.map((queue) => `'${queue}'`).join(', ')} ` +
        `${unknown.length > 1 ? 'are' : 'is'} not served by Gatehouse with route table ${routeTable.version}; ` +
        `known: ${served.join(', ')}`,
    );
  }
  return {
    requestQueue: selection.includes(requestQueue) ? requestQueue : undefined,
    routeQueues: new Map([...allRouteQueues].filter(([queue]) => selection.includes(queue))),
  };
}
