import {
  classifyBedrockError,
  classifyClientSideFailure,
  parseRetryAfter,
} from '../domain/classify-provider-error';
import { ClientSideFailureError, ProviderError } from './model-provider';

/** The fields of an AWS SDK (or Node) error that classification needs. */
export interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/** A Node system error's code (`ECONNRESET`…), which it carries in `code`, not in `name`. */
export function codeOf(error: unknown): string | undefined {
  const code: unknown =
    typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Turns an AWS SDK, Node or client-side error into a classified ProviderError (by exception name first). */
export function toProviderError(error: unknown, modelId: string, delivered: boolean): ProviderError {
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? error : {};
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  if (error instanceof ClientSideFailureError) {
    const failure = delivered ? 'streamInterrupted' : error.failure;
    return new ProviderError(
      `bedrock ${modelId}: ${message}`,
      classifyClientSideFailure(failure, error.code),
    );
  }
  // Node system errors say what happened in `code`, not in `name`; a cancelled HTTP/2 stream carries the
  // socket's own error (e.g. ECONNREFUSED) as its cause, which is the more useful of the two.
  const rawName = typeof shape.name === 'string' ? shape.name : 'Error';
  const name = rawName === 'Error' ? (codeOf(shape.cause) ?? codeOf(shape) ?? rawName) : rawName;
  const httpStatus = shape.$metadata?.httpStatusCode;
  if (delivered) {
    return new ProviderError(
      `bedrock ${modelId}: the stream broke after text was delivered: ${name}: ${message}`,
      classifyClientSideFailure('streamInterrupted', name),
    );
  }
  // A 2xx answer the SDK could not parse carries no service fault: the body itself was broken.
  if (shape.$fault === undefined && httpStatus !== undefined && httpStatus >= 200 && httpStatus < 300) {
    return new ProviderError(
      `bedrock ${modelId}: unreadable response: ${message}`,
      classifyClientSideFailure('malformedResponse', name),
    );
  }
  const retryAfterMs = parseRetryAfter(shape.$response?.headers?.['retry-after'], Date.now());
  return new ProviderError(
    `bedrock ${modelId}: ${name}: ${message}`,
    classifyBedrockError({ name, httpStatus, retryAfterMs, message }),
  );
}
