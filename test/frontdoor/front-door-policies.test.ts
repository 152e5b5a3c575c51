import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  WorkflowFailedError,
} from '@temporalio/client';
import {
  BudgetExceededError,
  GatehouseRequestError,
  PolicyDeniedError,
  RequestConflictError,
  RequestInvalidError,
  RequestNotFoundError,
} from '../../client/errors';
import { FAILURE_TYPES } from '../../domain/failure-types';
import { routeTableSchema } from '../../domain/route-table';
import { cacheKeyHolders } from '../../frontdoor/front-door-directory';
import { describeError, FRONT_DOOR_FAILURE_TYPES, FrontDoorError } from '../../frontdoor/openai-error';
import { createRateLimiter, formatResetDuration } from '../../frontdoor/rate-limiter';
import { taskModelsFor, taskTypeOfModel } from '../../frontdoor/task-models';

describe('errors in OpenAI format', () => {
  it.each([
    [
      new RequestInvalidError('invalid request: question: Required'),
      400,
      'invalid_request_error',
      'Request.Invalid',
      false,
    ],
    [
      new RequestConflictError('gatehouse/demo/a', ['question']),
      409,
      'invalid_request_error',
      'Request.Conflict',
      false,
    ],
    [new RequestNotFoundError('gatehouse/demo/a'), 404, 'invalid_request_error', 'Request.NotFound', false],
    [
      new PolicyDeniedError('no', FAILURE_TYPES.policyDenied),
      403,
      'permission_error',
      'Policy.Denied',
      false,
    ],
    [
      new BudgetExceededError('spent', FAILURE_TYPES.budgetExceeded),
      429,
      'insufficient_quota',
      'Budget.Exceeded',
      false,
    ],
    [
      new GatehouseRequestError('exhausted', FAILURE_TYPES.inferenceExhausted),
      502,
      'server_error',
      'Inference.Exhausted',
      false,
    ],
    [
      new GatehouseRequestError('bad output', FAILURE_TYPES.validationFailed),
      422,
      'invalid_response_error',
      'Validation.Failed',
      false,
    ],
    [new GatehouseRequestError('what', 'Some.FutureType'), 500, 'server_error', 'Gatehouse.Internal', false],
    [
      new FrontDoorError(FRONT_DOOR_FAILURE_TYPES.invalidApiKey, 'no key'),
      401,
      'invalid_request_error',
      'Auth.InvalidApiKey',
      false,
    ],
    [
      new FrontDoorError(FRONT_DOOR_FAILURE_TYPES.rateLimited, 'slow down'),
      429,
      'requests',
      'Request.RateLimited',
      true,
    ],
    [
      new FrontDoorError(FRONT_DOOR_FAILURE_TYPES.tooLarge, 'big'),
      413,
      'invalid_request_error',
      'Request.TooLarge',
      false,
    ],
    [
      new FrontDoorError(FRONT_DOOR_FAILURE_TYPES.capabilityNotAvailable, 'none'),
      501,
      'invalid_request_error',
      'Capability.NotAvailable',
      false,
    ],
    [
      new WorkflowFailedError('failed', new TerminatedFailure('terminated'), 'NON_RETRYABLE_FAILURE'),
      409,
      'invalid_request_error',
      'Request.Cancelled',
      false,
    ],
    [
      new WorkflowFailedError('failed', new CancelledFailure('cancelled'), 'NON_RETRYABLE_FAILURE'),
      409,
      'invalid_request_error',
      'Request.Cancelled',
      false,
    ],
    [
      new WorkflowFailedError(
        'failed',
        ApplicationFailure.create({ type: 'Route.Unavailable', message: 'none' }),
        'NON_RETRYABLE_FAILURE',
      ),
      503,
      'server_error',
      'Route.Unavailable',
      false,
    ],
    [
      Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }),
      503,
      'server_error',
      'Gatehouse.Unavailable',
      true,
    ],
    [
      new Error('wrapped', { cause: Object.assign(new Error('deadline'), { code: 4 }) }),
      503,
      'server_error',
      'Gatehouse.Unavailable',
      true,
    ],
  ])('%s → %i %s %s', (error, status, type, code, retry) => {
    const described = describeError(error);
    expect(described.status).toBe(status);
    expect(described.body.error).toMatchObject({ type, code });
    expect(described.headers['x-should-retry']).toBe(String(retry));
  });

  it('keeps a known failure’s message but never an unexpected error’s', () => {
    expect(
      describeError(new PolicyDeniedError('tenant suspended', FAILURE_TYPES.policyDenied)).body.error.message,
    ).toBe('tenant suspended');
    const unexpected = describeError(new Error('SQLITE_CORRUPT at /var/lib/secret/path'));
    expect(unexpected.body.error.message).toBe('internal error in the Gatehouse front door');
    expect(unexpected.internal).toBe(true);
  });

  it('has a response for every failure type a request or the front door can end with', () => {
    for (const type of [...Object.values(FAILURE_TYPES), ...Object.values(FRONT_DOOR_FAILURE_TYPES)]) {
      expect(describeError(new FrontDoorError(type, 'x')).body.error.code).toBe(type);
    }
  });
});

describe('the per-key rate limiter', () => {
  it('allows a minute’s allowance at once, then refills evenly', () => {
    let now = 0;
    const limiter = createRateLimiter({ perMinute: 60, now: () => now });
    const decisions = Array.from({ length: 61 }, () => limiter.take('key-a'));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(60);
    expect(decisions[59]).toMatchObject({ allowed: true, remaining: 0 });
    expect(decisions[60]).toMatchObject({
      allowed: false,
      remaining: 0,
      retryAfterMs: 1000,
      resetMs: 60_000,
    });
    now = 999;
    expect(limiter.take('key-a').allowed).toBe(false);
    now = 2000;
    expect(limiter.take('key-a')).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.take('key-b')).toMatchObject({ allowed: true, remaining: 59 });
  });

  it('forgets full buckets first when it holds too many keys, keeping the ones in use', () => {
    let now = 0;
    const limiter = createRateLimiter({ perMinute: 2, now: () => now, maxKeys: 2 });
    limiter.take('busy');
    limiter.take('busy');
    now = 60_000;
    limiter.take('idle'); // `idle` refills fully by the next minute
    now = 120_000;
    limiter.take('busy');
    limiter.take('busy');
    expect(limiter.take('newcomer').allowed).toBe(true);
    // `busy` kept its spent allowance: it was not forgotten.
    expect(limiter.take('busy').allowed).toBe(false);
  });

  it.each([
    [250, '250ms'],
    [1500, '1.5s'],
    [60_000, '1m0s'],
    [361_000, '6m1s'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatResetDuration(ms)).toBe(text);
  });
});

describe('task types as models', () => {
  const table = routeTableSchema.parse({
    version: 't',
    routes: [
      {
        id: 'claude',
        provider: 'bedrock',
        model: 'm',
        label: 'Claude',
        priceUsdPerMillionTokens: { input: 1, output: 1 },
        contextWindowTokens: 1000,
        maxOutputTokens: 100,
        dataClasses: ['internal'],
        taskQueue: 'q1',
        retry: { maximumAttempts: 1, initialIntervalMs: 10 },
        tenantTiers: ['enterprise'],
      },
      {
        id: 'llama',
        provider: 'openai-compatible',
        model: 'm',
        label: 'Llama',
        priceUsdPerMillionTokens: { input: 1, output: 1 },
        contextWindowTokens: 1000,
        maxOutputTokens: 100,
        dataClasses: ['internal'],
        taskQueue: 'q2',
        retry: { maximumAttempts: 1, initialIntervalMs: 10 },
      },
      {
        id: 'extractive',
        provider: 'extractive',
        model: 'm',
        label: 'Extractive',
        degraded: true,
        priceUsdPerMillionTokens: { input: 1, output: 1 },
        contextWindowTokens: 1000,
        maxOutputTokens: 100,
        dataClasses: ['internal'],
        taskQueue: 'q3',
        retry: { maximumAttempts: 1, initialIntervalMs: 10 },
      },
    ],
    tasks: {
      default: { routes: ['claude', 'llama', 'extractive'] },
      extract: { routes: ['llama'] },
    },
  });

  it.each([
    ['gatehouse-qa', 'qa'],
    ['gatehouse-long-form', 'long-form'],
    ['gatehouse-', undefined],
    ['gatehouse-QA', undefined],
    ['gpt-4o', undefined],
  ])('%s names task %s', (model, taskType) => {
    expect(taskTypeOfModel(model)).toBe(taskType);
  });

  it.each([
    [
      'every route for an enterprise tenant',
      { allowedRoutes: null, tenantTier: 'enterprise', allowDegraded: true },
      ['claude', 'llama', 'extractive'],
    ],
    [
      'no route of another tier',
      { allowedRoutes: null, tenantTier: 'team', allowDegraded: true },
      ['llama', 'extractive'],
    ],
    [
      'no degraded route where policy forbids it',
      { allowedRoutes: null, tenantTier: 'team', allowDegraded: false },
      ['llama'],
    ],
    [
      'only the allowlist',
      { allowedRoutes: ['extractive'], tenantTier: 'enterprise', allowDegraded: true },
      ['extractive'],
    ],
  ])('lists %s', (_name, entitlement, routes) => {
    const models = taskModelsFor(['summarize', 'qa', 'qa', 'extract', 'Not A Task'], table, entitlement);
    expect(models.map((model) => model.id)).toEqual([
      'gatehouse-extract',
      'gatehouse-qa',
      'gatehouse-summarize',
    ]);
    expect(models.find((model) => model.taskType === 'qa')!.routes.map((route) => route.id)).toEqual(routes);
    expect(models.find((model) => model.taskType === 'extract')!.routes.map((route) => route.id)).toEqual(
      routes.includes('llama') ? ['llama'] : [],
    );
  });
});

describe('the key holder cache', () => {
  const holder = {
    principalId: 'p',
    tenantId: 'demo',
    keyId: 'k'.repeat(32),
    capabilities: ['qa'],
    tenantActive: true,
  };

  it('asks the store once per interval for a known key, and every time for an unknown one', async () => {
    let now = 0;
    const asked: string[] = [];
    const directory = cacheKeyHolders(
      {
        findKeyHolder: async (apiKey) => {
          asked.push(apiKey);
          return apiKey === 'known-key-0123456789' ? holder : undefined;
        },
        taskModels: async () => [],
      },
      { ttlMs: 5_000, now: () => now },
    );
    expect(await directory.findKeyHolder('known-key-0123456789')).toBe(holder);
    now = 4_999;
    expect(await directory.findKeyHolder('known-key-0123456789')).toBe(holder);
    expect(await directory.findKeyHolder('unknown-key-0123456789')).toBeUndefined();
    expect(await directory.findKeyHolder('unknown-key-0123456789')).toBeUndefined();
    expect(asked).toEqual(['known-key-0123456789', 'unknown-key-0123456789', 'unknown-key-0123456789']);
    now = 5_000;
    await directory.findKeyHolder('known-key-0123456789');
    expect(asked).toHaveLength(4);
  });

  it('forgets the oldest key when full', async () => {
    const asked: string[] = [];
    const directory = cacheKeyHolders(
      {
        findKeyHolder: async (apiKey) => {
          asked.push(apiKey);
          return holder;
        },
        taskModels: async () => [],
      },
      { ttlMs: 60_000, maxEntries: 2, now: () => 0 },
    );
    for (const key of ['a', 'b', 'c', 'b', 'a']) await directory.findKeyHolder(key);
    expect(asked).toEqual(['a', 'b', 'c', 'a']);
  });
});
