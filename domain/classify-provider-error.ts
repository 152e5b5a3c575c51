import { INFERENCE_FAILURE_TYPES, type InferenceFailureType } from './failure-types';

/**
 * How a provider failure should be handled: retry the same route, fall back to the next one, or give up.
 * Pure tables and functions so the workflow, the activities and the tests all read the same decisions.
 */
export interface ProviderErrorClass {
  /** Dotted failure type, e.g. `INFERENCE_FAILURE_TYPES.rateLimited` (one of INFERENCE_FAILURE_TYPES for our providers). */
  failureType: string;
  /** Try the same route again (within its retry budget). */
  retryable: boolean;
  /** Move to the next route when this one gives up. */
  fallback: boolean;
  /** From Retry-After when the provider sent one. */
  nextRetryDelayMs?: number;
  /** The provider's own name for the error (exception name or HTTP status). */
  code: string;
}

export { INFERENCE_FAILURE_TYPES, type InferenceFailureType };

interface Decision {
  failureType: InferenceFailureType;
  retryable: boolean;
  fallback: boolean;
}

const TYPES = INFERENCE_FAILURE_TYPES;

/** What a provider failure can come to. Every one lets another route try once this one gives up. */
const RETRY_RATE_LIMITED: Decision = { failureType: TYPES.rateLimited, retryable: true, fallback: true };
const QUOTA_SPENT: Decision = { failureType: TYPES.rateLimited, retryable: false, fallback: true };
const RETRY_UNAVAILABLE: Decision = { failureType: TYPES.unavailable, retryable: true, fallback: true };
const RETRY_TIMEOUT: Decision = { failureType: TYPES.timeout, retryable: true, fallback: true };
const RETRY_MODEL_ERROR: Decision = { failureType: TYPES.modelError, retryable: true, fallback: true };
const RETRY_MALFORMED: Decision = { failureType: TYPES.malformedResponse, retryable: true, fallback: true };
const REJECTED: Decision = { failureType: TYPES.invalidRequest, retryable: false, fallback: true };
const DENIED: Decision = { failureType: TYPES.accessDenied, retryable: false, fallback: true };

/** A lookup table written as decision → the provider's names for it. */
function byDecision<Name extends string | number>(
  groups: ReadonlyArray<readonly [Decision, readonly Name[]]>,
): Readonly<Record<Name, Decision>> {
  return Object.fromEntries(
    groups.flatMap(([decision, names]) => names.map((name) => [name, decision])),
  ) as Record<Name, Decision>;
}

/**
 * Bedrock Runtime exceptions by NAME, never by the SDK's `$fault`: `ThrottlingException` is a client
 * fault yet the textbook retryable error.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors
 */
export const BEDROCK_EXCEPTION_TABLE: Readonly<Record<string, Decision>> = byDecision<string>([
  [RETRY_RATE_LIMITED, ['ThrottlingException']],
  // Account-level quota (e.g. tokens per day): waiting seconds will not lift it, another route might.
  [QUOTA_SPENT, ['ServiceQuotaExceededException']],
  [
    RETRY_UNAVAILABLE,
    [
      'ServiceUnavailableException',
      'InternalServerException',
      // Documented as retried automatically by the AWS SDKs; we own retries, so we retry it ourselves.
      'ModelNotReadyException',
      'ConflictException',
    ],
  ],
  [RETRY_TIMEOUT, ['ModelTimeoutException']],
  // 424: the model failed while processing; AWS's own message for it says "try your request again".
  [RETRY_MODEL_ERROR, ['ModelErrorException', 'ModelStreamErrorException']],
  // Bedrock reports model-specific limits (context window, unsupported parameters) as validation errors,
  // so the same request can succeed on another route's model; it never succeeds on this one.
  [REJECTED, ['ValidationException', 'ResourceNotFoundException']],
  // Model not enabled for this account or region: another route may use another account or model.
  [DENIED, ['AccessDeniedException']],
  // The SDK raises this itself when a 2xx body is not the JSON it expected.
  [RETRY_MALFORMED, ['SyntaxError']],
]);

/**
 * Failures below HTTP, by error name or Node/undici error code: the request may never have reached the
 * model, so they are worth retrying. https://nodejs.org/api/errors.html#common-system-errors
 * https://nodejs.org/api/errors.html#nodejs-error-codes https://undici.nodejs.org/#/docs/api/Errors
 */
export const TRANSPORT_ERROR_TABLE: Readonly<Record<string, Decision>> = byDecision<string>([
  [
    RETRY_TIMEOUT,
    [
      'AbortError',
      'TimeoutError',
      'ETIMEDOUT',
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
    ],
  ],
  [
    RETRY_UNAVAILABLE,
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'EPIPE',
      'ENOTFOUND',
      'EAI_AGAIN',
      'UND_ERR_SOCKET',
      // The Bedrock Runtime client speaks HTTP/2; a dropped session or stream surfaces with these codes.
      'ERR_HTTP2_SESSION_ERROR',
      'ERR_HTTP2_STREAM_ERROR',
      'ERR_HTTP2_GOAWAY_SESSION',
      'ERR_HTTP2_STREAM_CANCEL',
    ],
  ],
]);

/**
 * HTTP statuses for OpenAI-compatible servers (vLLM, TGI, Ollama, LM Studio): 408/409/429/5xx retry,
 * other 4xx do not. https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export const HTTP_STATUS_TABLE: Readonly<Record<number, Decision>> = byDecision<number>([
  [REJECTED, [400, 404, 413, 422]],
  [DENIED, [401, 403]],
  [RETRY_TIMEOUT, [408, 504]],
  [RETRY_UNAVAILABLE, [409, 500, 502, 503]],
  [RETRY_RATE_LIMITED, [429]],
]);

const OTHER_CLIENT_ERROR = REJECTED;
const OTHER_SERVER_ERROR = RETRY_UNAVAILABLE;
const UNREACHABLE = RETRY_UNAVAILABLE;
// Something we cannot name may well be transient; the retry budget bounds the cost of being wrong.
const UNKNOWN: Decision = { failureType: TYPES.unknown, retryable: true, fallback: true };

/** A failure nothing classified: retried, and another route may try if it persists. */
export const UNKNOWN_FAILURE: ProviderErrorClass = { ...UNKNOWN, code: 'unexpected' };

/**
 * Failures the provider detects itself rather than reads from the service. A stream that broke after
 * text reached the caller can be neither retried nor moved to another route without the caller seeing
 * the answer twice (issue 3: fallback only before the first token).
 */
export const CLIENT_SIDE_FAILURE_TABLE = {
  malformedResponse: RETRY_MALFORMED,
  streamInterrupted: { failureType: TYPES.streamInterrupted, retryable: false, fallback: false },
  invalidRoute: REJECTED,
} as const satisfies Record<string, Decision>;

export type ClientSideFailure = keyof typeof CLIENT_SIDE_FAILURE_TABLE;

function withDelay(decision: Decision, code: string, retryAfterMs: number | undefined): ProviderErrorClass {
  return retryAfterMs === undefined
    ? { ...decision, code }
    : { ...decision, code, nextRetryDelayMs: retryAfterMs };
}

export function classifyHttpStatus(status: number, retryAfterMs?: number): ProviderErrorClass {
  const decision =
    HTTP_STATUS_TABLE[status] ??
    (status >= 500 ? OTHER_SERVER_ERROR : status >= 400 ? OTHER_CLIENT_ERROR : UNKNOWN);
  return withDelay(decision, String(status), retryAfterMs);
}

export interface BedrockErrorFacts {
  /** The exception name (`error.name`), or a Node system error code such as `ECONNRESET`. */
  name: string;
  httpStatus?: number;
  retryAfterMs?: number;
  message?: string;
}

/**
 * By exception name first (then as a transport failure); an unknown name with an HTTP status falls back
 * to the status table.
 */
export function classifyBedrockError(facts: BedrockErrorFacts): ProviderErrorClass {
  const byName = BEDROCK_EXCEPTION_TABLE[facts.name] ?? TRANSPORT_ERROR_TABLE[facts.name];
  if (byName) return withDelay(byName, facts.name, facts.retryAfterMs);
  if (facts.httpStatus !== undefined && facts.httpStatus >= 400) {
    return { ...classifyHttpStatus(facts.httpStatus, facts.retryAfterMs), code: facts.name };
  }
  return withDelay(UNKNOWN, facts.name, facts.retryAfterMs);
}

/** Unlisted transport failures are still below HTTP, so treated as the provider being unreachable. */
export function classifyTransportError(code: string): ProviderErrorClass {
  return { ...(TRANSPORT_ERROR_TABLE[code] ?? UNREACHABLE), code };
}

export function classifyClientSideFailure(failure: ClientSideFailure, code: string): ProviderErrorClass {
  return { ...CLIENT_SIDE_FAILURE_TABLE[failure], code };
}

/**
 * Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Returns milliseconds from
 * `nowMs`, never negative; undefined when absent or unreadable. `nowMs` is a parameter so workflows can
 * pass their deterministic clock.
 */
export function parseRetryAfter(headerValue: string | null | undefined, nowMs: number): number | undefined {
  if (headerValue === null || headerValue === undefined) return undefined;
  const value = headerValue.trim();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // An HTTP-date always names its weekday and month; Date.parse alone would accept '-5' as a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
