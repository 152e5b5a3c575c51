import {
  context,
  createNoopMeter,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type Tracer,
} from '@opentelemetry/api';
import { microToUsd } from '../domain/cost';
import { FAILURE_TYPES, INFERENCE_FAILURE_TYPES } from '../domain/failure-types';
import type { RouteHealth } from '../domain/circuit-breaker';
import type {
  InferenceAttempt,
  InferenceRequest,
  InferenceResponse,
  RecordInput,
} from '../domain/step-contracts';
import { contentForLog } from '../governance/redaction/content-for-log';
import {
  CIRCUIT_STATE_VALUES,
  DURATION_BUCKETS_SECONDS,
  ERROR_TYPE,
  GATEHOUSE,
  GEN_AI,
  GEN_AI_PROVIDER_NAMES,
  METRICS,
  type MetricKey,
  TOKEN_BUCKETS,
} from './semantic-conventions';

/** The GenAI operation every provider call of Gatehouse performs. */
const OPERATION = 'chat';

/** The inference span of one attempt, ended by the infer activity with what the attempt came to. */
export interface InferenceObservation {
  succeeded(attempt: InferenceAttempt, response: InferenceResponse): void;
  failed(attempt: InferenceAttempt): void;
}

/**
 * What the request path reports to OpenTelemetry: an inference span and the GenAI metrics per attempt
 * (from the infer activity, where the provider call happens), and per request the step durations, cost
 * roll-ups and denials (from `record`, which runs once per real execution and never on replay).
 */
export interface RequestTelemetry {
  startInference(request: InferenceRequest): InferenceObservation;
  requestRecorded(input: RecordInput, recordElapsedMs: number): void;
  /** Reports each route's circuit state whenever metrics are collected. */
  observeCircuits(read: () => Promise<RouteHealth[]>): void;
}

const seconds = (ms: number) => ms / 1000;

/** Attribute sets drop undefined values, so an absent feature is no label rather than an empty one. */
function defined(attributes: Record<string, string | number | boolean | string[] | undefined>): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined));
}

/** The outcome label of a recorded request: the values of the `Outcome` search attribute. */
export function recordedOutcome(input: Pick<RecordInput, 'failure'>): 'succeeded' | 'failed' | 'cancelled' {
  if (input.failure === undefined) return 'succeeded';
  return input.failure.type === FAILURE_TYPES.cancelled ? 'cancelled' : 'failed';
}

/**
 * Content the tenant's logging policy lets telemetry carry: the text itself (`full`), with entities
 * masked (`redacted`), or nothing (`hash`, and any request that does not say).
 */
function loggableContent(text: string, request: InferenceRequest): string | undefined {
  const mode = request.attribution.logging;
  return mode === undefined ? undefined : contentForLog(text, mode).text;
}

function textMessages(role: string, text: string): string {
  return JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);
}

/** The metric keys of one instrument kind. */
type MetricKeyOf<Kind extends string> = {
  [Key in MetricKey]: (typeof METRICS)[Key]['kind'] extends Kind ? Key : never;
}[MetricKey];

function metricKeys<Kind extends string>(kind: Kind): MetricKeyOf<Kind>[] {
  return (Object.keys(METRICS) as MetricKey[]).filter(
    (key) => METRICS[key].kind === kind,
  ) as MetricKeyOf<Kind>[];
}

/** Every instrument of METRICS, created once per meter: token histograms get token buckets, others seconds. */
function createInstruments(meter: Meter) {
  const options = (key: MetricKey) => ({ unit: METRICS[key].unit, description: METRICS[key].description });
  const histogram = (key: MetricKeyOf<'histogram'>): Histogram =>
    meter.createHistogram(METRICS[key].name, {
      ...options(key),
      advice: {
        explicitBucketBoundaries: METRICS[key].unit === '{token}' ? TOKEN_BUCKETS : DURATION_BUCKETS_SECONDS,
      },
    });
  const counter = (key: MetricKeyOf<'counter'>): Counter =>
    meter.createCounter(METRICS[key].name, options(key));
  return {
    histograms: Object.fromEntries(metricKeys('histogram').map((key) => [key, histogram(key)])) as Record<
      MetricKeyOf<'histogram'>,
      Histogram
    >,
    counters: Object.fromEntries(metricKeys('counter').map((key) => [key, counter(key)])) as Record<
      MetricKeyOf<'counter'>,
      Counter
    >,
    circuitState: meter.createObservableGauge(METRICS.circuitState.name, options('circuitState')),
  };
}

export function createRequestTelemetry(options: { tracer?: Tracer; meter?: Meter } = {}): RequestTelemetry {
  const tracer = options.tracer ?? trace.getTracer('gatehouse');
  const meter = options.meter ?? createNoopMeter();
  const { histograms, counters, circuitState } = createInstruments(meter);

  return {
    startInference(request) {
      const { route, attribution } = request;
      const providerName = GEN_AI_PROVIDER_NAMES[route.provider];
      const callAttributes = {
        [GEN_AI.operationName]: OPERATION,
        [GEN_AI.providerName]: providerName,
        [GEN_AI.requestModel]: route.model,
        [GATEHOUSE.route]: route.id,
      };
      const requestAttributes = defined({
        [GATEHOUSE.tenantId]: request.tenantId,
        [GATEHOUSE.taskType]: attribution.taskType,
        [GATEHOUSE.feature]: attribution.feature,
      });
      const span = tracer.startSpan(
        `${OPERATION} ${route.model}`,
        {
          kind: SpanKind.CLIENT,
          attributes: defined({
            ...callAttributes,
            ...requestAttributes,
            [GEN_AI.requestMaxTokens]: request.maxOutputTokens,
            [GATEHOUSE.workflowId]: request.workflowId,
            [GATEHOUSE.promptVersion]: attribution.promptRef,
            [GATEHOUSE.policyVersion]: attribution.policyVersion,
            [GATEHOUSE.retrievalDocumentIds]: [...new Set(request.chunks.map((chunk) => chunk.documentId))],
            [GATEHOUSE.attempt]: request.attempt,
            [GATEHOUSE.retryNumber]: request.retryNumber,
            [GATEHOUSE.fallbackFromRoute]: request.fallback?.fromRouteId,
            [GATEHOUSE.fallbackReason]: request.fallback?.reason,
          }),
        },
        context.active(),
      );
      const system = loggableContent(request.prompt.system, request);
      const user = loggableContent(request.prompt.user, request);
      if (system !== undefined) span.setAttribute(GEN_AI.systemInstructions, system);
      if (user !== undefined) span.setAttribute(GEN_AI.inputMessages, textMessages('user', user));
      if ((request.retryNumber ?? 0) > 0)
        counters.retries.add(1, { ...callAttributes, ...requestAttributes });
      if (request.fallback)
        counters.fallbacks.add(1, {
          ...callAttributes,
          ...requestAttributes,
          [GATEHOUSE.fallbackFromRoute]: request.fallback.fromRouteId,
        });

      function finish(attempt: InferenceAttempt, failureType?: string): void {
        const { usage } = attempt;
        span.setAttributes({
          [GEN_AI.responseModel]: attempt.model,
          [GEN_AI.usageInputTokens]: usage.inputTokens,
          [GEN_AI.usageOutputTokens]: usage.outputTokens,
          [GATEHOUSE.cacheReadTokens]: usage.cacheReadTokens,
          [GATEHOUSE.cacheWriteTokens]: usage.cacheWriteTokens,
          [GATEHOUSE.usageEstimated]: attempt.usageEstimated,
          [GATEHOUSE.costUsd]: microToUsd(attempt.costMicroUsd),
          [GATEHOUSE.outcome]: attempt.outcome,
        });
        const errorAttributes = failureType === undefined ? {} : { [ERROR_TYPE]: failureType };
        histograms.operationDuration.record(seconds(attempt.latencyMs), {
          ...callAttributes,
          ...errorAttributes,
        });
        if (usage.inputTokens > 0 || usage.outputTokens > 0) {
          const tokenAttributes = { ...callAttributes, [GATEHOUSE.tenantId]: request.tenantId };
          histograms.tokenUsage.record(usage.inputTokens, {
            ...tokenAttributes,
            [GEN_AI.tokenType]: 'input',
          });
          histograms.tokenUsage.record(usage.outputTokens, {
            ...tokenAttributes,
            [GEN_AI.tokenType]: 'output',
          });
        }
        counters.requestCost.add(microToUsd(attempt.costMicroUsd), {
          ...requestAttributes,
          [GATEHOUSE.route]: route.id,
          [GEN_AI.requestModel]: route.model,
        });
        counters.attempts.add(1, {
          ...callAttributes,
          ...requestAttributes,
          [GATEHOUSE.outcome]: attempt.outcome,
          ...errorAttributes,
        });
        if (failureType === INFERENCE_FAILURE_TYPES.rateLimited)
          counters.throttles.add(1, { ...callAttributes, ...requestAttributes });
      }

      return {
        succeeded(attempt, response) {
          finish(attempt);
          span.setAttribute(GEN_AI.responseFinishReasons, [response.finishReason]);
          const output = loggableContent(response.text, request);
          if (output !== undefined)
            span.setAttribute(GEN_AI.outputMessages, textMessages('assistant', output));
          if (request.stream && response.timeToFirstTokenMs !== undefined) {
            histograms.timeToFirstToken.record(seconds(response.timeToFirstTokenMs), callAttributes);
            if (response.usage.outputTokens > 1) {
              histograms.timePerOutputToken.record(
                seconds(attempt.latencyMs - response.timeToFirstTokenMs) / (response.usage.outputTokens - 1),
                callAttributes,
              );
            }
          }
          span.end();
        },
        failed(attempt) {
          const failureType = attempt.failureType ?? 'unknown';
          finish(attempt, failureType);
          span.setAttributes({ [ERROR_TYPE]: failureType, [GATEHOUSE.failureType]: failureType });
          // The failure type, never the provider's message: a message may quote the prompt.
          span.setStatus({ code: SpanStatusCode.ERROR, message: failureType });
          span.end();
        },
      };
    },

    requestRecorded(input, recordElapsedMs) {
      const outcome = recordedOutcome(input);
      const requestAttributes = defined({
        [GATEHOUSE.tenantId]: input.tenantId,
        [GATEHOUSE.taskType]: input.taskType,
        [GATEHOUSE.feature]: input.feature,
      });
      const stepAttributes = { ...requestAttributes, [GATEHOUSE.outcome]: outcome };
      for (const entry of input.steps) {
        if (entry.status === 'skipped') continue;
        histograms.stepDuration.record(seconds(entry.elapsedMs), {
          ...stepAttributes,
          [GATEHOUSE.step]: entry.step,
        });
      }
      histograms.stepDuration.record(seconds(recordElapsedMs), {
        ...stepAttributes,
        [GATEHOUSE.step]: 'record',
      });
      counters.requests.add(
        1,
        defined({ ...stepAttributes, [GATEHOUSE.failureType]: input.failure?.type ?? undefined }),
      );
      if (input.failure?.type === FAILURE_TYPES.budgetExceeded)
        counters.budgetDenials.add(1, requestAttributes);
    },

    observeCircuits(read) {
      circuitState.addCallback(async (observer) => {
        for (const health of await read()) {
          observer.observe(CIRCUIT_STATE_VALUES[health.state], { [GATEHOUSE.route]: health.routeId });
        }
      });
    },
  };
}
