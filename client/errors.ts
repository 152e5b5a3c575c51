import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { FAILURE_TYPES, type FailureType } from '../domain/failure-types';

/** A Gatehouse request that ended in a known failure type. `instanceof` works per type. */
export class GatehouseRequestError extends Error {
  constructor(
    message: string,
    readonly failureType: FailureType | string,
    readonly workflowId?: string,
    readonly step?: string,
  ) {
    super(message);
    this.name = 'GatehouseRequestError';
  }
}

export class RequestInvalidError extends GatehouseRequestError {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message, FAILURE_TYPES.requestInvalid);
    this.name = 'RequestInvalidError';
  }
}
/**
 * No request with this id that the caller may see. A wrong key and a request that does not exist get the
 * same error: a caller learns nothing about requests that are not theirs.
 */
export class RequestNotFoundError extends GatehouseRequestError {
  constructor(workflowId: string) {
    super(`request ${workflowId} was not found`, FAILURE_TYPES.requestNotFound, workflowId);
    this.name = 'RequestNotFoundError';
  }
}

/**
 * The request id is already used by a request with different content: resubmitting it would silently
 * return the other answer. Nothing was started. `differingFields` names what differs, never the values.
 */
export class RequestConflictError extends GatehouseRequestError {
  constructor(
    workflowId: string,
    readonly differingFields: string[],
  ) {
    super(
      `request ${workflowId} already exists with a different ${differingFields.join(', ')}; use a new request id`,
      FAILURE_TYPES.requestConflict,
      workflowId,
    );
    this.name = 'RequestConflictError';
  }
}

/** Failure type → error class, filled as each class below is made: the mapping survives minification of class names. */
const ERROR_CLASSES = new Map<string, typeof GatehouseRequestError>();

/**
 * An error class that adds nothing to GatehouseRequestError but its name: one per failure a caller branches
 * on. `toGatehouseError` turns a workflow failure of any of `failureTypes` (FAILURE_TYPES' names) into it.
 */
function errorClass(
  className: string,
  ...failureTypes: (keyof typeof FAILURE_TYPES)[]
): typeof GatehouseRequestError {
  const ErrorClass = class extends GatehouseRequestError {
    override name = className;
  };
  // The constructor carries the name too, for debuggers and test failure messages.
  Object.defineProperty(ErrorClass, 'name', { value: className });
  for (const failureType of failureTypes) ERROR_CLASSES.set(FAILURE_TYPES[failureType], ErrorClass);
  return ErrorClass;
}

export const PolicyDeniedError = errorClass('PolicyDeniedError', 'policyDenied');
export const BudgetExceededError = errorClass('BudgetExceededError', 'budgetExceeded');
/** The tenant's requests or tokens per minute are used up (`FAILURE_TYPES.rateLimitExceeded`); retry in the next minute. */
export const RateLimitExceededError = errorClass('RateLimitExceededError', 'rateLimitExceeded');
export const InferenceExhaustedError = errorClass('InferenceExhaustedError', 'inferenceExhausted');
export const ValidationFailedError = errorClass('ValidationFailedError', 'validationFailed');
export const ApprovalDeniedError = errorClass('ApprovalDeniedError', 'approvalDenied', 'approvalTimedOut');
export const StreamInterruptedError = errorClass('StreamInterruptedError', 'streamInterrupted');
/** A guardrail blocked the question or the answer (`FAILURE_TYPES.guardrailBlocked`). */
export const GuardrailBlockedError = errorClass('GuardrailBlockedError', 'guardrailBlocked');
/** A guardrail gave no verdict and the tenant's policy fails closed (`FAILURE_TYPES.guardrailUnavailable`). */
export const GuardrailUnavailableError = errorClass('GuardrailUnavailableError', 'guardrailUnavailable');
/** The request's retrieval source refused the search or stayed unreachable (`FAILURE_TYPES.retrievalUnavailable`). */
export const RetrievalUnavailableError = errorClass('RetrievalUnavailableError', 'retrievalUnavailable');
/** A policy, principal, key or prompt the request relies on is not what the audit chain attests (`FAILURE_TYPES.governanceUnattested`). */
export const GovernanceUnattestedError = errorClass('GovernanceUnattestedError', 'governanceUnattested');

/** Their instances' types, for annotations and casts (`error as PolicyDeniedError`). */
export type PolicyDeniedError = GatehouseRequestError;
export type BudgetExceededError = GatehouseRequestError;
export type RateLimitExceededError = GatehouseRequestError;
export type InferenceExhaustedError = GatehouseRequestError;
export type ValidationFailedError = GatehouseRequestError;
export type ApprovalDeniedError = GatehouseRequestError;
export type StreamInterruptedError = GatehouseRequestError;
export type GuardrailBlockedError = GatehouseRequestError;
export type GuardrailUnavailableError = GatehouseRequestError;
export type RetrievalUnavailableError = GatehouseRequestError;
export type GovernanceUnattestedError = GatehouseRequestError;

/** Turns a workflow failure into the typed error a caller can branch on; other errors pass through. */
export function toGatehouseError(error: unknown, workflowId: string): unknown {
  if (!(error instanceof WorkflowFailedError)) return error;
  const cause = error.cause;
  if (!(cause instanceof ApplicationFailure) || !cause.type) return error;
  const details = cause.details?.[0] as { step?: string } | undefined;
  if (cause.type === FAILURE_TYPES.requestInvalid) return new RequestInvalidError(cause.message);
  const ErrorClass = ERROR_CLASSES.get(cause.type) ?? GatehouseRequestError;
  return new ErrorClass(cause.message, cause.type, workflowId, details?.step);
}
