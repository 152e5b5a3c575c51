import { z } from 'zod';
import { dataClassSchema, type DataClass } from './data-class';

/** Temporal's own retry knobs, applied by the workflow's attempt loop for one route. */
export const routeRetrySchema = z.object({
  maximumAttempts: z.number().int().min(1).max(10),
  initialIntervalMs: z.number().int().min(1),
  backoffCoefficient: z.number().min(1).max(10).default(2),
  maximumIntervalMs: z.number().int().min(1).default(10_000),
});
export type RouteRetry = z.infer<typeof routeRetrySchema>;

export const routeSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/),
  provider: z.enum(['extractive', 'bedrock', 'openai-compatible']),
  model: z.string().min(1),
  /** What every response from this route says it is, e.g. "extractive (offline, no model)". */
  label: z.string().min(1),
  region: z.string().optional(),
  endpoint: z.string().url().optional(),
  priceUsdPerMillionTokens: z.object({
    input: z.number().min(0),
    output: z.number().min(0),
    cacheRead: z.number().min(0).default(0),
    cacheWrite: z.number().min(0).default(0),
  }),
  contextWindowTokens: z.number().int().positive(),
  maxOutputTokens: z.number().int().positive(),
  dataClasses: z.array(dataClassSchema).min(1),
  taskQueue: z.string().min(1),
  timeoutMs: z.number().int().positive().default(60_000),
  retry: routeRetrySchema,
});
export type Route = z.infer<typeof routeSchema>;

export const routeTableSchema = z
  .object({
    version: z.string().min(1),
    routes: z.array(routeSchema).min(1),
    /** Task type → route ids in order of preference; `default` applies to any other task type. */
    taskRoutes: z.record(z.array(z.string()).min(1)),
  })
  .superRefine((table, context) => {
    const ids = new Set<string>();
    for (const route of table.routes) {
      if (ids.has(route.id)) context.addIssue({ code: 'custom', message: `route '${route.id}' is defined twice` });
      ids.add(route.id);
    }
    for (const [taskType, routeIds] of Object.entries(table.taskRoutes)) {
      for (const routeId of routeIds) {
        if (!ids.has(routeId)) {
          context.addIssue({ code: 'custom', message: `task '${taskType}' names unknown route '${routeId}'` });
        }
      }
    }
  });
export type RouteTable = z.infer<typeof routeTableSchema>;

export interface RouteExclusion {
  routeId: string;
  reason: string;
}

export interface RoutePlan {
  tableVersion: string;
  candidates: Route[];
  excluded: RouteExclusion[];
}

export interface RouteSelectionInput {
  taskType: string;
  dataClass: DataClass;
  allowedRoutes: string[] | null;
  promptTokens: number;
  maxOutputTokens: number;
}

/**
 * Orders the candidate routes for a request and says why each other route was left out. Pure: the same
 * table and input always give the same plan, which is kept in history and in the audit trail.
 */
export function selectRoutePlan(table: RouteTable, input: RouteSelectionInput): RoutePlan {
  const preferred = table.taskRoutes[input.taskType] ?? table.taskRoutes['default'] ?? [];
  const byId = new Map(table.routes.map((route) => [route.id, route]));
  const candidates: Route[] = [];
  const excluded: RouteExclusion[] = [];
  for (const routeId of preferred) {
    const route = byId.get(routeId);
    if (!route) continue;
    const reason = exclusionReason(route, input);
    if (reason) excluded.push({ routeId, reason });
    else candidates.push(route);
  }
  return { tableVersion: table.version, candidates, excluded };
}

function exclusionReason(route: Route, input: RouteSelectionInput): string | undefined {
  if (input.allowedRoutes && !input.allowedRoutes.includes(route.id)) {
    return 'not in the tenant allowlist';
  }
  if (!route.dataClasses.includes(input.dataClass)) {
    return `does not carry '${input.dataClass}' data`;
  }
  const needed = input.promptTokens + Math.min(input.maxOutputTokens, route.maxOutputTokens);
  if (needed > route.contextWindowTokens) {
    return `needs ${needed} tokens, context window is ${route.contextWindowTokens}`;
  }
  return undefined;
}
