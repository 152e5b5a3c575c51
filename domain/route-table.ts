import { z } from 'zod';
import { dataClassSchema } from './data-class';

/** Attempts on one route and the backoff between them, applied by the workflow's attempt loop. */
export const routeRetrySchema = z.object({
  maximumAttempts: z.number().int().min(1).max(10),
  initialIntervalMs: z.number().int().min(1),
  backoffCoefficient: z.number().min(1).max(10).default(2),
  maximumIntervalMs: z.number().int().min(1).default(10_000),
});
export type RouteRetry = z.infer<typeof routeRetrySchema>;

export const latencyClassSchema = z.enum(['interactive', 'standard', 'batch']);
export type LatencyClass = z.infer<typeof latencyClassSchema>;

export const routeSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/),
  provider: z.enum(['extractive', 'bedrock', 'openai-compatible']),
  /** Bedrock: a model id, an inference profile id (us./eu./apac./global.) or an application inference profile ARN. */
  model: z.string().min(1),
  /** What every response from this route says it is, e.g. "extractive (offline, no model)". */
  label: z.string().min(1),
  region: z.string().optional(),
  endpoint: z.string().url().optional(),
  /**
   * What the route is charged per million tokens. A route table file leaves it out and the loader fills
   * it from the pricing catalogue (config/pricing-catalogue.json) by `model` (or `pricedAs`) and
   * `billing`; a route that states it has a contract price of its own (docs/decisions/0021).
   */
  priceUsdPerMillionTokens: z.object({
    input: z.number().min(0),
    output: z.number().min(0),
    cacheRead: z.number().min(0).default(0),
    cacheWrite: z.number().min(0).default(0),
  }),
  /** On-demand or batch prices of the model. */
  billing: z.enum(['on-demand', 'batch']).default('on-demand'),
  /** The catalogue model id to price the route by, where `model` cannot say it (an application inference profile ARN). */
  pricedAs: z.string().min(1).optional(),
  /** Where the price came from: the catalogue's version, or `route-table <version>` for a stated price. Recorded on the ledger. */
  pricingVersion: z.string().min(1).optional(),
  contextWindowTokens: z.number().int().positive(),
  maxOutputTokens: z.number().int().positive(),
  /** Data classes this route may carry; `restricted` only on routes whose data never leaves our control. */
  dataClasses: z.array(dataClassSchema).min(1),
  /** Tenant tiers that may use the route; absent means every tier. */
  tenantTiers: z.array(z.string()).optional(),
  latencyClass: latencyClassSchema.default('standard'),
  /** A route of last resort (e.g. extractive): used only where the tenant's policy allows degraded answers. */
  degraded: z.boolean().default(false),
  /** Whether to count prompt tokens with the provider's own API (Bedrock CountTokens) instead of locally. */
  countTokensWith: z.enum(['local', 'provider']).default('local'),
  /**
   * Reservations assume the prompt is this much larger than counted, so a provider that counts more
   * tokens than our estimate cannot push spend past the budget (the overrun that remains is recorded).
   */
  promptTokenMargin: z.number().min(1).max(4).default(1.25),
  /** The attempt must report progress this often or it is treated as lost (and can be cancelled). */
  heartbeatTimeoutMs: z.number().int().min(1000).default(10_000),
  taskQueue: z.string().min(1),
  /** Shapes traffic across all workers: Temporal enforces the rate on the route's task queue. */
  rateLimit: z
    .object({
      maxConcurrent: z.number().int().min(1).max(1000).default(16),
      activitiesPerSecond: z.number().positive().optional(),
    })
    .default({}),
  timeoutMs: z.number().int().positive().default(60_000),
  retry: routeRetrySchema,
  tags: z.array(z.string()).default([]),
});
export type Route = z.infer<typeof routeSchema>;

/** Retry and fallback budgets of one task type's inference phase. */
export const inferenceBudgetSchema = z.object({
  maxTotalAttempts: z.number().int().min(1).max(30).default(6),
  maxFallbacks: z.number().int().min(0).max(10).default(2),
  /** What failed attempts may cost in total before the request gives up. */
  maxRetrySpendUsd: z.number().min(0).default(0.5),
  /** Wall-clock limit of the whole inference phase, retries and fallbacks included. */
  deadlineMs: z.number().int().positive().default(120_000),
});
export type InferenceBudget = z.infer<typeof inferenceBudgetSchema>;

export const taskRoutingSchema = z.object({
  /** Route ids in order of preference. */
  routes: z.array(z.string()).min(1),
  budget: inferenceBudgetSchema.default({}),
});
export type TaskRouting = z.infer<typeof taskRoutingSchema>;

export const circuitBreakerSettingsSchema = z.object({
  failureThreshold: z.number().int().min(1).default(5),
  windowMs: z.number().int().positive().default(60_000),
  cooldownMs: z.number().int().positive().default(30_000),
});
export type CircuitBreakerSettings = z.infer<typeof circuitBreakerSettingsSchema>;

export const routeTableSchema = z
  .object({
    version: z.string().min(1),
    routes: z.array(routeSchema).min(1),
    /** Task type → routing; `default` applies to every other task type. */
    tasks: z
      .record(taskRoutingSchema)
      .refine((tasks) => 'default' in tasks, { message: "a 'default' task entry is required" }),
    breaker: circuitBreakerSettingsSchema.default({}),
  })
  .superRefine((table, context) => {
    const ids = new Set<string>();
    for (const route of table.routes) {
      if (ids.has(route.id))
        context.addIssue({ code: 'custom', message: `route '${route.id}' is defined twice` });
      ids.add(route.id);
    }
    for (const [taskType, routing] of Object.entries(table.tasks)) {
      for (const routeId of routing.routes) {
        if (!ids.has(routeId)) {
          context.addIssue({
            code: 'custom',
            path: ['tasks', taskType],
            message: `names unknown route '${routeId}'`,
          });
        }
      }
    }
  });
export type RouteTable = z.infer<typeof routeTableSchema>;

/** The longest prompt any route could take with `maxOutputTokens` of answer: the hard cap at assembly. */
export function maxPromptTokens(table: RouteTable, maxOutputTokens: number): number {
  return Math.max(...table.routes.map((route) => route.contextWindowTokens)) - maxOutputTokens;
}

export function taskRoutingFor(table: RouteTable, taskType: string): TaskRouting {
  // The schema guarantees a default entry.
  return table.tasks[taskType] ?? (table.tasks['default'] as TaskRouting);
}
