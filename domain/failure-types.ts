/**
 * Dotted failure types: the registry. Request failures are carried by the workflow's
 * `ApplicationFailure.type`; clients map them to typed errors, operators filter on them, and the audit
 * trail records them. Inference failure types classify one attempt. Treat each string as a public
 * contract: it appears nowhere else in the source. The HTTP front door's own refusals, made before any
 * workflow starts, are registered with their HTTP answers in frontdoor/openai-error.ts.
 */
export const FAILURE_TYPES = {
  requestInvalid: 'Request.Invalid',
  requestConflict: 'Request.Conflict',
  requestNotFound: 'Request.NotFound',
  policyDenied: 'Policy.Denied',
  promptNotFound: 'Prompt.NotFound',
  contextBudgetExceeded: 'Prompt.ContextBudgetExceeded',
  /** The prompt version's variables are missing or break its variables description. */
  promptVariablesInvalid: 'Prompt.VariablesInvalid',
  /**
   * A policy version, principal, API key or prompt the request relies on differs from what the tenant's
   * audit chain last attested for it (edited outside Gatehouse), or the attesting events fail their check.
   */
  governanceUnattested: 'Governance.Unattested',
  routeUnavailable: 'Route.Unavailable',
  budgetExceeded: 'Budget.Exceeded',
  /** The tenant's requests or tokens per minute are used up; retry once the next minute opens. */
  rateLimitExceeded: 'RateLimit.Exceeded',
  /** A route's model, inference profile or billing mode has no price in the pricing catalogue. */
  pricingUnknownModel: 'Pricing.UnknownModel',
  inferenceExhausted: 'Inference.Exhausted',
  streamInterrupted: 'Inference.StreamInterrupted',
  approvalDenied: 'Approval.Denied',
  approvalTimedOut: 'Approval.TimedOut',
  validationFailed: 'Validation.Failed',
  /** A guardrail (Bedrock ApplyGuardrail or the local one) blocked the request's input or output. */
  guardrailBlocked: 'Guardrail.Blocked',
  /** A guardrail could not give a verdict and the tenant's policy fails closed. */
  guardrailUnavailable: 'Guardrail.Unavailable',
  /** The request's retrieval source refused the search (bad configuration, access denied), or its retries ran out. */
  retrievalUnavailable: 'Retrieval.Unavailable',
  contentIntegrityFailed: 'Content.IntegrityFailed',
  cancelled: 'Request.Cancelled',
  internal: 'Gatehouse.Internal',
} as const;

export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

/** How one inference attempt failed (domain/classify-provider-error.ts maps provider errors to these). */
export const INFERENCE_FAILURE_TYPES = {
  rateLimited: 'Inference.RateLimited',
  unavailable: 'Inference.Unavailable',
  timeout: 'Inference.Timeout',
  invalidRequest: 'Inference.InvalidRequest',
  accessDenied: 'Inference.AccessDenied',
  modelError: 'Inference.ModelError',
  malformedResponse: 'Inference.MalformedResponse',
  streamInterrupted: FAILURE_TYPES.streamInterrupted,
  /** The worker serving the route has no provider of the route's kind configured. */
  notConfigured: 'Inference.NotConfigured',
  /** The route's circuit opened after the route plan was made. */
  circuitOpen: 'Inference.CircuitOpen',
  /** The attempt was cancelled with its request. */
  cancelled: 'Inference.Cancelled',
  unknown: 'Inference.Unknown',
} as const;

export type InferenceFailureType = (typeof INFERENCE_FAILURE_TYPES)[keyof typeof INFERENCE_FAILURE_TYPES];

const KNOWN_FAILURE_TYPES: ReadonlySet<string> = new Set(Object.values(FAILURE_TYPES));
const KNOWN_INFERENCE_FAILURE_TYPES: ReadonlySet<string> = new Set(Object.values(INFERENCE_FAILURE_TYPES));

export function isFailureType(value: unknown): value is FailureType {
  return typeof value === 'string' && KNOWN_FAILURE_TYPES.has(value);
}

export function isInferenceFailureType(value: unknown): value is InferenceFailureType {
  return typeof value === 'string' && KNOWN_INFERENCE_FAILURE_TYPES.has(value);
}
