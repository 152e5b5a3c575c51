import fc from 'fast-check';
import { applyBreakerEvent, closedHealth, type RouteHealth } from '../../domain/circuit-breaker';
import { dataClassSchema } from '../../domain/data-class';
import { selectRoutePlan, type RouteSelectionInput } from '../../domain/route-selection';
import { routeTableSchema, type RouteTable } from '../../domain/route-table';

function route(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    provider: 'bedrock',
    model: `model-${id}`,
    label: id,
    priceUsdPerMillionTokens: { input: 3, output: 15 },
    contextWindowTokens: 200_000,
    maxOutputTokens: 4096,
    dataClasses: ['public', 'internal', 'confidential'],
    taskQueue: `q-${id}`,
    retry: { maximumAttempts: 2, initialIntervalMs: 10 },
    ...overrides,
  };
}

const table: RouteTable = routeTableSchema.parse({
  version: 'test',
  routes: [
    route('claude'),
    route('nova', { priceUsdPerMillionTokens: { input: 0.06, output: 0.24 }, tenantTiers: ['enterprise'] }),
    route('batch-llama', { latencyClass: 'batch', contextWindowTokens: 8_000 }),
    route('self-hosted', {
      provider: 'openai-compatible',
      dataClasses: ['public', 'internal', 'confidential', 'restricted'],
    }),
    route('extractive', {
      provider: 'extractive',
      degraded: true,
      dataClasses: ['public', 'internal', 'confidential', 'restricted'],
    }),
  ],
  tasks: {
    default: { routes: ['extractive', 'claude', 'nova', 'batch-llama', 'self-hosted'] },
    qa: { routes: ['claude', 'self-hosted', 'extractive'], budget: { maxFallbacks: 1 } },
  },
  breaker: { failureThreshold: 3, windowMs: 10_000, cooldownMs: 5_000 },
});

const baseInput: RouteSelectionInput = {
  taskType: 'summarize',
  dataClass: 'internal',
  tenantTier: 'standard',
  allowedRoutes: null,
  allowDegraded: true,
  promptTokens: 1_000,
  maxOutputTokens: 512,
};

describe('route selection', () => {
  it('keeps the task order, puts degraded routes last, and says why each route was left out', () => {
    const plan = selectRoutePlan(table, baseInput, {}, 0);
    expect(plan.candidates.map((candidate) => candidate.id)).toEqual([
      'claude',
      'batch-llama',
      'self-hosted',
      'extractive',
    ]);
    expect(plan.excluded).toEqual([
      { routeId: 'nova', reason: "not offered to tier 'standard' (tiers: enterprise)" },
    ]);
    expect(plan.choices.at(-1)?.reason).toMatch(/degraded last resort/);
    expect(plan.budget.maxFallbacks).toBe(2);
    expect(selectRoutePlan(table, { ...baseInput, taskType: 'qa' }, {}, 0).budget.maxFallbacks).toBe(1);
  });

  it('applies allowlist, latency class, context window, degraded policy and cost ceiling', () => {
    const plan = selectRoutePlan(
      table,
      {
        ...baseInput,
        tenantTier: 'enterprise',
        allowedRoutes: ['claude', 'nova', 'batch-llama', 'extractive'],
        allowDegraded: false,
        latencyClass: 'standard',
        promptTokens: 10_000,
        costCeilingMicroUsd: 10_000,
      },
      {},
      0,
    );
    expect(plan.candidates.map((candidate) => candidate.id)).toEqual(['nova']);
    const reasons = Object.fromEntries(
      plan.excluded.map((exclusion) => [exclusion.routeId, exclusion.reason]),
    );
    expect(reasons['claude']).toMatch(/exceeds the request's ceiling/);
    expect(reasons['batch-llama']).toMatch(/slower than the requested 'standard'/);
    expect(reasons['self-hosted']).toBe('not in the tenant allowlist');
    expect(reasons['extractive']).toBe('degraded route, not allowed by policy');
  });

  it('never sends restricted data to a route not marked for it (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          taskType: fc.constantFrom('qa', 'summarize', 'anything'),
          dataClass: fc.constantFrom(...dataClassSchema.options),
          tenantTier: fc.constantFrom('standard', 'enterprise'),
          allowedRoutes: fc.option(fc.subarray(table.routes.map((candidate) => candidate.id)), { nil: null }),
          allowDegraded: fc.boolean(),
          latencyClass: fc.option(
            fc.constantFrom('interactive' as const, 'standard' as const, 'batch' as const),
            { nil: undefined },
          ),
          promptTokens: fc.integer({ min: 0, max: 250_000 }),
          maxOutputTokens: fc.integer({ min: 1, max: 8_000 }),
          costCeilingMicroUsd: fc.option(fc.integer({ min: 0, max: 5_000_000 }), { nil: undefined }),
        }),
        (input) => {
          const plan = selectRoutePlan(table, input, {}, 0);
          for (const candidate of plan.candidates) {
            expect(candidate.dataClasses).toContain(input.dataClass);
            if (input.allowedRoutes) expect(input.allowedRoutes).toContain(candidate.id);
            if (!input.allowDegraded) expect(candidate.degraded).toBe(false);
          }
          if (input.dataClass === 'restricted') {
            expect(
              plan.candidates.every((candidate) => ['self-hosted', 'extractive'].includes(candidate.id)),
            ).toBe(true);
          }
          // Every route of the task is either a candidate or excluded with a reason.
          expect(plan.candidates.length + plan.excluded.length).toBe(
            (table.tasks[input.taskType] ?? table.tasks['default'])!.routes.length,
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('circuit breaker', () => {
  const settings = table.breaker;
  const fail = (health: RouteHealth, at: number) =>
    applyBreakerEvent(health, { kind: 'failure' }, at, settings);

  it('opens after the threshold inside the window, skips the route, then lets one probe through', () => {
    let health = closedHealth('claude');
    health = fail(fail(health, 1_000), 2_000);
    expect(health.state).toBe('closed');
    health = fail(health, 3_000);
    expect(health.state).toBe('open');

    const whileOpen = selectRoutePlan(table, baseInput, { claude: health }, 4_000);
    expect(whileOpen.candidates.map((candidate) => candidate.id)).not.toContain('claude');
    expect(whileOpen.excluded.find((exclusion) => exclusion.routeId === 'claude')?.reason).toMatch(
      /circuit open/,
    );

    const afterCooldown = selectRoutePlan(table, baseInput, { claude: health }, 8_001);
    expect(afterCooldown.choices[0]).toEqual(expect.objectContaining({ routeId: 'claude', probe: true }));
  });

  it('forgets failures outside the window', () => {
    let health = closedHealth('claude');
    health = fail(fail(health, 0), 1_000);
    health = fail(health, 20_000);
    expect(health.state).toBe('closed');
    expect(health.recentFailures).toEqual([20_000]);
  });

  it('re-opens on a failed probe and closes on a successful one', () => {
    const open = fail(fail(fail(closedHealth('claude'), 0), 1), 2);
    const halfOpen: RouteHealth = { ...open, state: 'half-open', probeStartedAt: 6_000 };
    expect(fail(halfOpen, 6_500).state).toBe('open');
    expect(applyBreakerEvent(halfOpen, { kind: 'success' }, 6_500, settings).state).toBe('closed');
  });
});
