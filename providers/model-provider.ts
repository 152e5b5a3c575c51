import type { ClientSideFailure, ProviderErrorClass } from '../domain/classify-provider-error';
import type { InferenceRequest, InferenceResponse } from '../domain/step-contracts';

export interface GenerateOptions {
  /** When given, the provider streams and calls this with each text delta as it arrives. */
  onDelta?: (text: string) => void;
  /** Aborted when the activity is cancelled or times out. */
  signal?: AbortSignal;
}

/**
 * One small interface for every model provider. A provider throws `ProviderError` for failures it
 * understands (classified by the table in domain/classify-provider-error.ts); anything else is treated
 * as a retryable unknown failure.
 */
export interface ModelProvider {
  readonly name: InferenceRequest['route']['provider'];
  generate(request: InferenceRequest, options?: GenerateOptions): Promise<InferenceResponse>;
  /** The provider's own token count of a prompt, where the model supports it (e.g. Bedrock CountTokens). */
  countTokens?(request: Pick<InferenceRequest, 'route' | 'prompt'>): Promise<number>;
}

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly classification: ProviderErrorClass,
    /** Tokens the provider reported before failing (e.g. a stream that broke mid-way). */
    readonly partialUsage?: InferenceResponse['usage'],
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** A failure a provider noticed itself (a broken body, a stream cut short), classified by CLIENT_SIDE_FAILURE_TABLE. */
export class ClientSideFailureError extends Error {
  constructor(
    readonly failure: ClientSideFailure,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
