/**
 * The attribute and metric names Gatehouse emits, in one place.
 *
 * `gen_ai.*` follows the OpenTelemetry GenAI semantic conventions **v1.37.0**
 * (https://github.com/open-telemetry/semantic-conventions/tree/v1.37.0/docs/gen-ai), the first release
 * with `gen_ai.provider.name` (replacing `gen_ai.system`) and `gen_ai.input.messages`/`output.messages`.
 * The conventions are still "development" status; a newer pin changes names here only (this comment
 * is the pin: nothing reads the version at run time).
 * `gatehouse.*` is the project's own namespace; deploy/README.md ("Telemetry contract") lists the
 * Prometheus names the dashboards read.
 */

/** The GenAI conventions' attributes Gatehouse sets on spans and metrics. */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  tokenType: 'gen_ai.token.type',
  /** Opt-in content (only where the tenant's logging policy allows it). */
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  systemInstructions: 'gen_ai.system_instructions',
} as const;

/** `error.type`, from the general semantic conventions: the failure type of a failed call. */
export const ERROR_TYPE = 'error.type';

/** The project's own attributes (ids and numbers only, never content). */
export const GATEHOUSE = {
  step: 'gatehouse.step',
  tenantId: 'gatehouse.tenant_id',
  taskType: 'gatehouse.task_type',
  feature: 'gatehouse.feature',
  route: 'gatehouse.route',
  outcome: 'gatehouse.outcome',
  promptVersion: 'gatehouse.prompt.version',
  policyVersion: 'gatehouse.policy.version',
  retrievalDocumentIds: 'gatehouse.retrieval.document_ids',
  attempt: 'gatehouse.attempt',
  retryNumber: 'gatehouse.retry.number',
  fallbackFromRoute: 'gatehouse.fallback.from_route',
  fallbackReason: 'gatehouse.fallback.reason',
  failureType: 'gatehouse.failure.type',
  costUsd: 'gatehouse.cost.usd',
  cacheReadTokens: 'gatehouse.usage.cache_read_tokens',
  cacheWriteTokens: 'gatehouse.usage.cache_write_tokens',
  usageEstimated: 'gatehouse.usage.estimated',
  workflowId: 'gatehouse.workflow_id',
  circuitState: 'gatehouse.circuit.state',
} as const;

/** Metric instruments: name, unit, kind and what is measured. */
export const METRICS = {
  tokenUsage: {
    name: 'gen_ai.client.token.usage',
    unit: '{token}',
    kind: 'histogram',
    description: 'Tokens per provider call, by type (input, output)',
  },
  operationDuration: {
    name: 'gen_ai.client.operation.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Duration of each provider call',
  },
  /** Streaming only; the v1.37.0 conventions define these for servers, so they live in our namespace. */
  timeToFirstToken: {
    name: 'gatehouse.inference.time_to_first_token',
    unit: 's',
    kind: 'histogram',
    description: 'Streaming: from the start of the attempt to its first delivered text',
  },
  timePerOutputToken: {
    name: 'gatehouse.inference.time_per_output_token',
    unit: 's',
    kind: 'histogram',
    description: 'Streaming: time per output token after the first',
  },
  stepDuration: {
    name: 'gatehouse.step.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Duration of each step of a request, as the workflow logged it',
  },
  requestCost: {
    name: 'gatehouse.request.cost.usd',
    unit: '{USD}',
    kind: 'counter',
    description: 'Cost of every inference attempt, failed ones included',
  },
  requests: {
    name: 'gatehouse.requests',
    unit: '{request}',
    kind: 'counter',
    description: 'Requests recorded, by outcome',
  },
  attempts: {
    name: 'gatehouse.inference.attempts',
    unit: '{attempt}',
    kind: 'counter',
    description: 'Inference attempts, by outcome',
  },
  retries: {
    name: 'gatehouse.inference.retries',
    unit: '{attempt}',
    kind: 'counter',
    description: 'Attempts that tried a route again after it failed',
  },
  fallbacks: {
    name: 'gatehouse.inference.fallbacks',
    unit: '{fallback}',
    kind: 'counter',
    description: 'Attempts that moved to another route, by reason',
  },
  throttles: {
    name: 'gatehouse.inference.throttles',
    unit: '{attempt}',
    kind: 'counter',
    description: 'Attempts the provider refused for its rate limit',
  },
  budgetDenials: {
    name: 'gatehouse.budget.denials',
    unit: '{request}',
    kind: 'counter',
    description: 'Requests denied for want of budget',
  },
  circuitState: {
    name: 'gatehouse.route.circuit_state',
    unit: '1',
    kind: 'gauge',
    description: 'Circuit breaker state per route: 0 closed, 1 half-open, 2 open',
  },
} as const;

export type MetricKey = keyof typeof METRICS;

/**
 * `gen_ai.provider.name` per route provider: the conventions' well-known value where one exists, our own
 * namespace otherwise (a self-hosted OpenAI-compatible server is not OpenAI).
 */
export const GEN_AI_PROVIDER_NAMES = {
  bedrock: 'aws.bedrock',
  'openai-compatible': 'gatehouse.openai_compatible',
  extractive: 'gatehouse.extractive',
} as const;

/** The circuit state as a gauge value. */
export const CIRCUIT_STATE_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Histogram buckets in seconds: from a local step's milliseconds to a slow model's minute. */
export const DURATION_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];

/** The conventions' recommended token buckets. */
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
