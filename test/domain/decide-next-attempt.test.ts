import type { ProviderErrorClass } from '../../domain/classify-provider-error';
import {
  backoffMs,
  decideNextAttempt,
  initialAttemptState,
  type AttemptDecision,
  type AttemptFailureFacts,
  type AttemptLoopState,
  type AttemptPlan,
} from '../../domain/decide-next-attempt';
import { INFERENCE_FAILURE_TYPES } from '../../domain/failure-types';
import { routeSchema, type InferenceBudget, type Route } from '../../domain/route-table';

function route(id: string, retry: Partial<Route['retry']> = {}, timeoutMs = 5_000): Route {
  return routeSchema.parse({
    id,
    provider: 'bedrock',
    model: id,
    label: id,
    priceUsdPerMillionTokens: { input: 1, output: 1 },
    contextWindowTokens: 100_000,
    maxOutputTokens: 1_000,
    dataClasses: ['internal'],
    taskQueue: `q-${id}`,
    timeoutMs,
    retry: {
      maximumAttempts: 3,
      initialIntervalMs: 100,
      backoffCoefficient: 2,
      maximumIntervalMs: 350,
      ...retry,
    },
  });
}

const budget = (overrides: Partial<InferenceBudget> = {}): InferenceBudget => ({
  maxTotalAttempts: 6,
  maxFallbacks: 2,
  maxRetrySpendUsd: 0.5,
  deadlineMs: 60_000,
  ...overrides,
});

const plan = (
  overrides: Partial<InferenceBudget> = {},
  candidates = [route('a'), route('b'), route('c')],
): AttemptPlan => ({
  candidates,
  budget: budget(overrides),
});

const failure = (
  classification: Partial<ProviderErrorClass>,
  extra: Partial<AttemptFailureFacts> = {},
): AttemptFailureFacts => ({
  classification: {
    failureType: INFERENCE_FAILURE_TYPES.unavailable,
    retryable: true,
    fallback: true,
    code: '503',
    ...classification,
  },
  costMicroUsd: 0,
  delivered: false,
  message: 'boom',
  ...extra,
});

const RETRYABLE = failure({});
const NOT_RETRYABLE = failure({
  failureType: INFERENCE_FAILURE_TYPES.invalidRequest,
  retryable: false,
  code: '400',
});
const FATAL = failure({
  failureType: INFERENCE_FAILURE_TYPES.streamInterrupted,
  retryable: false,
  fallback: false,
});
const CIRCUIT_OPEN = failure({
  failureType: INFERENCE_FAILURE_TYPES.circuitOpen,
  retryable: false,
  code: 'circuit-open',
});

/** Runs the loop against a sequence of failures and returns every decision, as the workflow would. */
function run(
  sequence: AttemptFailureFacts[],
  attemptPlan = plan(),
  startAt = 0,
  stepMs = 0,
): AttemptDecision[] {
  let now = startAt;
  let decision = decideNextAttempt(initialAttemptState(attemptPlan.budget, now), undefined, attemptPlan, now);
  const decisions = [decision];
  for (const next of sequence) {
    if (decision.kind !== 'attempt') break;
    now += decision.delayMs + stepMs;
    decision = decideNextAttempt(decision.state, next, attemptPlan, now);
    decisions.push(decision);
  }
  return decisions;
}

const describeDecision = (decision: AttemptDecision) =>
  decision.kind === 'attempt'
    ? `#${decision.attempt} ${decision.route.id}${decision.delayMs ? ` after ${decision.delayMs}ms` : ''}${decision.fallback ? ' (fallback)' : ''}`
    : `stop: ${decision.reason}`;

describe('decideNextAttempt', () => {
  it.each<[string, AttemptFailureFacts[], AttemptPlan, string[]]>([
    [
      'retries a retryable failure on the same route with exponential backoff, then falls back',
      [RETRYABLE, RETRYABLE, RETRYABLE],
      plan(),
      ['#1 a', '#2 a after 100ms', '#3 a after 200ms', '#4 b (fallback)'],
    ],
    [
      'falls back at once when the failure is not retryable',
      [NOT_RETRYABLE, NOT_RETRYABLE],
      plan(),
      ['#1 a', '#2 b (fallback)', '#3 c (fallback)'],
    ],
    [
      'stops when neither a retry nor another route can help',
      [FATAL],
      plan(),
      [
        '#1 a',
        'stop: Inference.StreamInterrupted from a is not something a retry or another route can fix: boom',
      ],
    ],
    [
      'stops after the last route gives up',
      [NOT_RETRYABLE, NOT_RETRYABLE, NOT_RETRYABLE],
      plan(),
      ['#1 a', '#2 b (fallback)', '#3 c (fallback)', 'stop: every candidate route gave up'],
    ],
    [
      'stops when the fallback budget is spent',
      [NOT_RETRYABLE, NOT_RETRYABLE],
      plan({ maxFallbacks: 1 }),
      ['#1 a', '#2 b (fallback)', 'stop: fallback budget of 1 spent'],
    ],
    [
      'stops when the total-attempt budget is spent',
      [RETRYABLE, RETRYABLE],
      plan({ maxTotalAttempts: 2 }),
      ['#1 a', '#2 a after 100ms', 'stop: attempt budget of 2 spent'],
    ],
    [
      'stops when failed attempts cost more than the retry budget',
      [failure({}, { costMicroUsd: 300_000 }), failure({}, { costMicroUsd: 300_000 })],
      plan(),
      [
        '#1 a',
        '#2 a after 100ms',
        'stop: failed attempts cost 600000 micro-USD, over the retry budget of 500000',
      ],
    ],
    [
      'never retries or falls back once text reached the caller',
      [failure({}, { delivered: true })],
      plan(),
      ['#1 a', 'stop: a failed after streaming had begun (boom); nothing may replace delivered text'],
    ],
    [
      'waits what Retry-After says instead of its own backoff',
      [failure({ failureType: INFERENCE_FAILURE_TYPES.rateLimited, nextRetryDelayMs: 1_000, code: '429' })],
      plan(),
      ['#1 a', '#2 a after 1000ms'],
    ],
    [
      'moves on from a route whose circuit opened after the plan was made',
      [CIRCUIT_OPEN],
      plan(),
      ['#1 a', '#2 b (fallback)'],
    ],
    [
      'caps the backoff at the route maximum',
      [RETRYABLE, RETRYABLE, RETRYABLE],
      plan({}, [route('a', { maximumAttempts: 5, initialIntervalMs: 200 }), route('b')]),
      ['#1 a', '#2 a after 200ms', '#3 a after 350ms', '#4 a after 350ms'],
    ],
    ['has nothing to try without candidates', [], plan({}, []), ['stop: no candidate routes']],
  ])('%s', (_name, sequence, attemptPlan, expected) => {
    expect(run(sequence, attemptPlan).map(describeDecision)).toEqual(expected);
  });

  it('stops when the next retry would start after the deadline, and bounds each attempt by it', () => {
    const tight = plan({ deadlineMs: 1_000 }, [
      route('a', { initialIntervalMs: 600, maximumIntervalMs: 1_000 }, 5_000),
      route('b'),
    ]);
    const decisions = run([RETRYABLE, RETRYABLE], tight, 0, 500);
    expect(decisions.map(describeDecision)).toEqual([
      '#1 a',
      'stop: the next retry (in 600 ms) would pass the inference deadline',
    ]);
    const first = decisions[0]!;
    expect(first.kind === 'attempt' && first.startToCloseMs).toBe(1_000);
  });

  it('stops when the deadline passed before a fallback could start', () => {
    const decisions = run([NOT_RETRYABLE], plan({ deadlineMs: 1_000 }), 0, 1_500);
    expect(decisions.map(describeDecision)).toEqual(['#1 a', 'stop: inference deadline of 1000 ms passed']);
  });

  it('carries the budgets it used in its state', () => {
    const decisions = run([failure({}, { costMicroUsd: 10 }), NOT_RETRYABLE]);
    const last = decisions.at(-1)!;
    expect(last.kind).toBe('attempt');
    const state = (last as { state: AttemptLoopState }).state;
    expect(state).toMatchObject({
      attempts: 3,
      routeIndex: 1,
      routeAttempts: 1,
      fallbacks: 1,
      failedSpendMicroUsd: 10,
    });
  });

  it('computes backoff from the route settings', () => {
    const r = route('a', { initialIntervalMs: 50, backoffCoefficient: 3, maximumIntervalMs: 1_000 });
    expect([1, 2, 3, 4].map((attempt) => backoffMs(r, attempt))).toEqual([50, 150, 450, 1_000]);
  });
});
