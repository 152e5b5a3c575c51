/**
 * Dotted failure types carried by `ApplicationFailure.type`. Clients map them to typed errors, operators
 * filter on them, and the audit trail records them; treat each string as a public contract.
 */
export const FAILURE_TYPES = {
  requestInvalid: 'Request.Invalid',
  policyDenied: 'Policy.Denied',
  promptNotFound: 'Prompt.NotFound',
  contextBudgetExceeded: 'Prompt.ContextBudgetExceeded',
  routeUnavailable: 'Route.Unavailable',
  budgetExceeded: 'Budget.Exceeded',
  inferenceExhausted: 'Inference.Exhausted',
  inferenceProviderError: 'Inference.ProviderError',
  streamInterrupted: 'Inference.StreamInterrupted',
  approvalDenied: 'Approval.Denied',
  approvalTimedOut: 'Approval.TimedOut',
  validationFailed: 'Validation.Failed',
  /** A guardrail (Bedrock ApplyGuardrail or the local one) blocked the request's input or output. */
  guardrailBlocked: 'Guardrail.Blocked',
  /** A guardrail could not give a verdict and the tenant's policy fails closed. */
  guardrailUnavailable: 'Guardrail.Unavailable',
  cancelled: 'Request.Cancelled',
  internal: 'Gatehouse.Internal',
} as const;

export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

const KNOWN_FAILURE_TYPES: ReadonlySet<string> = new Set(Object.values(FAILURE_TYPES));

export function isFailureType(value: unknown): value is FailureType {
  return typeof value === 'string' && KNOWN_FAILURE_TYPES.has(value);
}
