import { z } from 'zod';
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  WorkflowFailedError,
} from '@temporalio/client';
import { GatehouseRequestError, RequestInvalidError } from '../client/errors';
import { FAILURE_TYPES, type FailureType } from '../domain/failure-types';

/**
 * OpenAI's error body, which every OpenAI client parses (https://platform.openai.com/docs/guides/error-codes).
 * `type` is OpenAI's error class; `code` is always Gatehouse's dotted failure type, so a caller can branch
 * on `FAILURE_TYPES.budgetExceeded` or `FAILURE_TYPES.policyDenied` through any OpenAI client.
 */
export const openAiErrorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string(),
  }),
});
export type OpenAiErrorBody = z.infer<typeof openAiErrorBodySchema>;

interface ErrorResponse {
  status: number;
  type: string;
  /** Whether an OpenAI client should retry by itself (sent as `x-should-retry`, which those clients obey). */
  retry: boolean;
}

/**
 * The registry of the front door's own refusals, made before any workflow starts (or, for `unavailable`,
 * when Temporal cannot be reached): each one's dotted failure type, carried as the `code` of the error body
 * beside the request failure types of domain/failure-types.ts so a caller branches on one dotted vocabulary,
 * and its HTTP answer.
 */
const FRONT_DOOR_REFUSALS = {
  /** Missing, malformed, unknown or disabled API key. */
  invalidApiKey: { code: 'Auth.InvalidApiKey', status: 401, type: 'invalid_request_error', retry: false },
  /** The key's per-minute request allowance is used up. */
  rateLimited: { code: 'Request.RateLimited', status: 429, type: 'requests', retry: true },
  /** The body is over the size limit. */
  tooLarge: { code: 'Request.TooLarge', status: 413, type: 'invalid_request_error', retry: false },
  /** The `model` names no task type. */
  modelNotFound: { code: 'Request.ModelNotFound', status: 404, type: 'invalid_request_error', retry: false },
  /** No such endpoint. */
  endpointNotFound: {
    code: 'Request.EndpointNotFound',
    status: 404,
    type: 'invalid_request_error',
    retry: false,
  },
  /** The endpoint exists but this deployment has no capability to serve it (e.g. embeddings): not our fault. */
  capabilityNotAvailable: {
    code: 'Capability.NotAvailable',
    status: 501,
    type: 'invalid_request_error',
    retry: false,
  },
  /** Temporal or the database cannot be reached. */
  unavailable: { code: 'Gatehouse.Unavailable', status: 503, type: 'server_error', retry: true },
} as const satisfies Record<string, ErrorResponse & { code: string }>;

type FrontDoorRefusals = typeof FRONT_DOOR_REFUSALS;

/** The failure types of the front door's refusals, by name. */
export const FRONT_DOOR_FAILURE_TYPES = Object.fromEntries(
  Object.entries(FRONT_DOOR_REFUSALS).map(([name, refusal]) => [name, refusal.code]),
) as { readonly [Name in keyof FrontDoorRefusals]: FrontDoorRefusals[Name]['code'] };

export type FrontDoorFailureType = FrontDoorRefusals[keyof FrontDoorRefusals]['code'];

/**
 * Failure type → HTTP status and OpenAI error type. Gatehouse already retried and fell back within the
 * request's budgets, so a failed request is not retried by the client again: only a refusal that time
 * cures (rate limit, Temporal unreachable) invites a retry.
 */
const REQUEST_FAILURE_RESPONSES: Record<FailureType, ErrorResponse> = {
  [FAILURE_TYPES.requestInvalid]: { status: 400, type: 'invalid_request_error', retry: false },
  [FAILURE_TYPES.requestConflict]: { status: 409, type: 'invalid_request_error', retry: false },
  [FAILURE_TYPES.requestNotFound]: { status: 404, type: 'invalid_request_error', retry: false },
  [FAILURE_TYPES.policyDenied]: { status: 403, type: 'permission_error', retry: false },
  [FAILURE_TYPES.promptNotFound]: { status: 400, type: 'invalid_request_error', retry: false },
  [FAILURE_TYPES.contextBudgetExceeded]: { status: 400, type: 'invalid_request_error', retry: false },
  [FAILURE_TYPES.promptVariablesInvalid]: { status: 400, type: 'invalid_request_error', retry: false },
  // The tenant's configuration was edited outside Gatehouse: nothing the caller can change or retry.
  [FAILURE_TYPES.governanceUnattested]: { status: 500, type: 'server_error', retry: false },
  [FAILURE_TYPES.routeUnavailable]: { status: 503, type: 'server_error', retry: false },
  // OpenAI answers a spent quota with 429 insufficient_quota; clients know not to hammer it.
  [FAILURE_TYPES.budgetExceeded]: { status: 429, type: 'insufficient_quota', retry: false },
  [FAILURE_TYPES.rateLimitExceeded]: { status: 429, type: 'requests', retry: true },
  [FAILURE_TYPES.pricingUnknownModel]: { status: 500, type: 'server_error', retry: false },
  [FAILURE_TYPES.inferenceExhausted]: { status: 502, type: 'server_error', retry: false },
  [FAILURE_TYPES.streamInterrupted]: { status: 502, type: 'server_error', retry: false },
  [FAILURE_TYPES.approvalDenied]: { status: 403, type: 'permission_error', retry: false },
  [FAILURE_TYPES.approvalTimedOut]: { status: 403, type: 'permission_error', retry: false },
  [FAILURE_TYPES.validationFailed]: { status: 422, type: 'invalid_response_error', retry: false },
  // OpenAI refuses content its policy blocks with 400; a guardrail's verdict is the same kind of answer.
  [FAILURE_TYPES.guardrailBlocked]: { status: 400, type: 'invalid_request_error', retry: false },
  [FAILURE_TYPES.guardrailUnavailable]: { status: 503, type: 'server_error', retry: false },
  [FAILURE_TYPES.retrievalUnavailable]: { status: 503, type: 'server_error', retry: false },
  [FAILURE_TYPES.contentIntegrityFailed]: { status: 500, type: 'server_error', retry: false },
  [FAILURE_TYPES.cancelled]: { status: 409, type: 'invalid_request_error', retry: false },
  [FAILURE_TYPES.internal]: { status: 500, type: 'server_error', retry: false },
};

function errorResponseOf(failureType: FailureType | FrontDoorFailureType): ErrorResponse {
  const refusal = Object.values(FRONT_DOOR_REFUSALS).find((candidate) => candidate.code === failureType);
  return refusal ?? REQUEST_FAILURE_RESPONSES[failureType as FailureType];
}

/** A refusal of the front door itself, with the failure type that decides its status. */
export class FrontDoorError extends Error {
  constructor(
    readonly failureType: FailureType | FrontDoorFailureType,
    message: string,
    readonly options: { param?: string; headers?: Record<string, string>; status?: number } = {},
  ) {
    super(message);
    this.name = 'FrontDoorError';
  }
}

/** An HTTP error response: status, headers and the OpenAI-format body. */
export interface DescribedError {
  status: number;
  headers: Record<string, string>;
  body: OpenAiErrorBody;
  /** Whether this is our fault (logged with its cause) rather than the caller's. */
  internal: boolean;
}

function response(
  failureType: FailureType | FrontDoorFailureType,
  message: string,
  extra: { param?: string | null; headers?: Record<string, string>; status?: number } = {},
): DescribedError {
  const entry = errorResponseOf(failureType);
  return {
    status: extra.status ?? entry.status,
    headers: { 'x-should-retry': String(entry.retry), ...extra.headers },
    body: { error: { message, type: entry.type, param: extra.param ?? null, code: failureType } },
    internal: entry.status >= 500 && failureType !== FRONT_DOOR_FAILURE_TYPES.capabilityNotAvailable,
  };
}

/** gRPC status codes that mean "Temporal is not reachable right now". */
const UNREACHABLE_GRPC_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

/** The gRPC status of an error or of what it wraps (the Temporal client wraps them in `ServiceError`). */
function grpcCodeOf(error: unknown): number | undefined {
  let current = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isKnownFailureType(value: string): value is FailureType | FrontDoorFailureType {
  return (
    Object.hasOwn(REQUEST_FAILURE_RESPONSES, value) ||
    Object.values(FRONT_DOOR_REFUSALS).some((refusal) => refusal.code === value)
  );
}

/**
 * Any error a handler meets → the response a caller gets. Known failures keep their message (written for
 * callers, never holding content of other requests); anything unexpected becomes `FAILURE_TYPES.internal`
 * with a generic message, and the caller of this function logs the cause.
 */
export function describeError(error: unknown): DescribedError {
  if (error instanceof FrontDoorError) {
    return response(error.failureType, error.message, {
      param: error.options.param,
      headers: error.options.headers,
      status: error.options.status,
    });
  }
  if (error instanceof RequestInvalidError) {
    return response(FAILURE_TYPES.requestInvalid, error.message);
  }
  if (error instanceof GatehouseRequestError) {
    const failureType = isKnownFailureType(error.failureType) ? error.failureType : FAILURE_TYPES.internal;
    return response(failureType, error.message);
  }
  if (error instanceof WorkflowFailedError) {
    // Typed failures became GatehouseRequestErrors in the client; what is left was ended from outside.
    if (error.cause instanceof TerminatedFailure)
      return response(FAILURE_TYPES.cancelled, 'the request was terminated by an operator');
    if (error.cause instanceof CancelledFailure)
      return response(FAILURE_TYPES.cancelled, 'the request was cancelled');
    if (error.cause instanceof ApplicationFailure && error.cause.type && isKnownFailureType(error.cause.type))
      return response(error.cause.type, error.cause.message);
  }
  const grpcCode = grpcCodeOf(error);
  if (grpcCode !== undefined && UNREACHABLE_GRPC_CODES.has(grpcCode)) {
    return response(FRONT_DOOR_FAILURE_TYPES.unavailable, 'Temporal cannot be reached; try again shortly');
  }
  return response(FAILURE_TYPES.internal, 'internal error in the Gatehouse front door');
}
