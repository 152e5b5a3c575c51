import {
  BedrockRuntimeClient,
  ConverseCommand,
  CountTokensCommand,
  ConverseStreamCommand,
  type BedrockRuntimeClientConfig,
  type ConverseCommandInput,
  type TokenUsage as BedrockTokenUsage,
} from '@aws-sdk/client-bedrock-runtime';
import {
  classifyBedrockError,
  classifyClientSideFailure,
  parseRetryAfter,
  type ClientSideFailure,
} from '../domain/classify-provider-error';
import type { TokenUsage } from '../domain/cost';
import type { InferenceRequest, InferenceResponse } from '../domain/step-contracts';
import { extractCitations } from './extract-citations';
import { ProviderError, type GenerateOptions, type ModelProvider } from './model-provider';

export interface BedrockProviderOptions {
  /** Region for routes that name none (and whose model id is not a regional ARN). */
  defaultRegion: string;
  /** Builds the client for a region instead of the default one (tests, custom HTTP handlers). */
  clientFor?: (region: string) => BedrockRuntimeClient;
  /** Endpoint for every client unless a route names its own, e.g. a VPC endpoint or the emulator. */
  endpoint?: string;
  credentials?: BedrockRuntimeClientConfig['credentials'];
}

type FinishReason = InferenceResponse['finishReason'];

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-response-stopReason */
export const BEDROCK_STOP_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  guardrail_intervened: 'content-filter',
  content_filtered: 'content-filter',
  tool_use: 'other',
  malformed_model_output: 'other',
  malformed_tool_use: 'other',
};

export type BedrockModelIdKind =
  | 'foundation-model'
  | 'inference-profile'
  | 'foundation-model-arn'
  | 'inference-profile-arn'
  | 'application-inference-profile-arn'
  | 'provisioned-model-arn';

const ARN_PREFIX = String.raw`arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]{1,20}`;

/**
 * Shapes Bedrock accepts as `modelId`, most specific first: a cross-region inference profile id is a
 * model id with a geography prefix, so it must be tested before the plain model id.
 * https://docs.aws.amazon.com/bedrock/latest/userguide/model-ids.html
 * https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-request-uri-modelId
 */
export const BEDROCK_MODEL_ID_SHAPES: ReadonlyArray<{ kind: BedrockModelIdKind; pattern: RegExp }> = [
  {
    kind: 'inference-profile',
    pattern: /^(?:us|us-gov|eu|apac|jp|au|ca|global)\.[a-z0-9-]{1,63}\.[a-z0-9-:.]{1,63}$/,
  },
  { kind: 'foundation-model', pattern: /^[a-z0-9-]{1,63}\.[a-z0-9-:.]{1,63}$/ },
  {
    kind: 'foundation-model-arn',
    pattern: new RegExp(`^${ARN_PREFIX}::foundation-model/[a-z0-9-]{1,63}\\.[a-z0-9-:.]{1,63}$`),
  },
  {
    kind: 'inference-profile-arn',
    pattern: new RegExp(`^${ARN_PREFIX}:\\d{12}:inference-profile/[a-zA-Z0-9-:.]+$`),
  },
  {
    kind: 'application-inference-profile-arn',
    pattern: new RegExp(`^${ARN_PREFIX}:\\d{12}:application-inference-profile/[a-zA-Z0-9]+$`),
  },
  {
    kind: 'provisioned-model-arn',
    pattern: new RegExp(`^${ARN_PREFIX}:\\d{12}:provisioned-model/[a-zA-Z0-9]+$`),
  },
];

export function describeBedrockModelId(modelId: string): BedrockModelIdKind | undefined {
  return BEDROCK_MODEL_ID_SHAPES.find((shape) => shape.pattern.test(modelId))?.kind;
}

/**
 * requestMetadata keys and values allow letters, digits, whitespace and `:_@$#=/+,.-`, at most 256
 * characters; anything else is replaced so an unusual tenant id cannot fail the call.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-request-requestMetadata
 */
export function sanitizeRequestMetadataValue(value: string): string {
  return value.replace(/[^a-zA-Z0-9\s:_@$#=/+,.-]/g, '_').slice(0, 256);
}

/**
 * Bedrock through Converse (or ConverseStream when the caller wants deltas). Clients are built with
 * `maxAttempts: 1` because Temporal owns retries; one client per region and endpoint, reused.
 */
export function createBedrockProvider(options: BedrockProviderOptions): ModelProvider {
  const clients = new Map<string, BedrockRuntimeClient>();

  function clientFor(region: string, endpoint: string | undefined): BedrockRuntimeClient {
    const key = `${region} ${options.clientFor ? '' : (endpoint ?? '')}`;
    let client = clients.get(key);
    if (!client) {
      client =
        options.clientFor?.(region) ??
        new BedrockRuntimeClient({ region, endpoint, credentials: options.credentials, maxAttempts: 1 });
      clients.set(key, client);
    }
    return client;
  }

  return {
    name: 'bedrock',
    async generate(
      request: InferenceRequest,
      generateOptions: GenerateOptions = {},
    ): Promise<InferenceResponse> {
      const { route } = request;
      if (!describeBedrockModelId(route.model)) {
        throw new ProviderError(
          `route '${route.id}': '${route.model}' is not a Bedrock model id, inference profile id or model ARN`,
          classifyClientSideFailure('invalidRoute', 'InvalidModelId'),
        );
      }
      const region = route.region ?? regionOfArn(route.model) ?? options.defaultRegion;
      const client = clientFor(region, route.endpoint ?? options.endpoint);
      const input: ConverseCommandInput = {
        modelId: route.model,
        system: request.prompt.system ? [{ text: request.prompt.system }] : undefined,
        messages: [{ role: 'user', content: [{ text: request.prompt.user }] }],
        inferenceConfig: { maxTokens: Math.min(request.maxOutputTokens, route.maxOutputTokens) },
        requestMetadata: {
          tenantId: sanitizeRequestMetadataValue(request.tenantId),
          workflowId: sanitizeRequestMetadataValue(request.workflowId),
        },
      };
      const started = performance.now();
      const received: string[] = [];
      try {
        const { onDelta, signal } = generateOptions;
        const result = onDelta
          ? await converseStream(client, input, signal, (text) => {
              received.push(text);
              onDelta(text);
            })
          : await converse(client, input, signal);
        return {
          text: result.text,
          citedDocumentIds: extractCitations(result.text, request.chunks),
          finishReason: BEDROCK_STOP_REASONS[result.stopReason] ?? 'other',
          usage: mapUsage(result.usage),
          latencyMs: performance.now() - started,
        };
      } catch (error) {
        // Usage of a broken stream is estimated by the infer activity, which also handles cancellation.
        throw toProviderError(error, route.model, received.length > 0);
      }
    },

    /** Bedrock's own count of the prompt (CountTokens), for routes whose model supports it. */
    async countTokens(request: Pick<InferenceRequest, 'route' | 'prompt'>): Promise<number> {
      const { route } = request;
      const region = route.region ?? regionOfArn(route.model) ?? options.defaultRegion;
      const client = clientFor(region, route.endpoint ?? options.endpoint);
      try {
        const output = await client.send(
          new CountTokensCommand({
            modelId: route.model,
            input: {
              converse: {
                system: request.prompt.system ? [{ text: request.prompt.system }] : undefined,
                messages: [{ role: 'user', content: [{ text: request.prompt.user }] }],
              },
            },
          }),
        );
        return output.inputTokens ?? 0;
      } catch (error) {
        throw toProviderError(error, route.model, false);
      }
    },
  };
}

interface ConverseResult {
  text: string;
  stopReason: string;
  usage: BedrockTokenUsage | undefined;
}

/** A failure the provider noticed itself, classified by CLIENT_SIDE_FAILURE_TABLE. */
class ClientSideFailureError extends Error {
  constructor(
    readonly failure: ClientSideFailure,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function converse(
  client: BedrockRuntimeClient,
  input: ConverseCommandInput,
  signal: AbortSignal | undefined,
): Promise<ConverseResult> {
  const output = await client.send(new ConverseCommand(input), { abortSignal: signal });
  const content = output.output?.message?.content;
  if (!content || !output.stopReason) {
    throw new ClientSideFailureError(
      'malformedResponse',
      'MissingOutput',
      'Converse returned no message or stop reason',
    );
  }
  const text = content.map((block) => block.text ?? '').join('');
  return { text, stopReason: output.stopReason, usage: output.usage };
}

async function converseStream(
  client: BedrockRuntimeClient,
  input: ConverseCommandInput,
  signal: AbortSignal | undefined,
  onText: (text: string) => void,
): Promise<ConverseResult> {
  const output = await client.send(new ConverseStreamCommand(input), { abortSignal: signal });
  if (!output.stream) {
    throw new ClientSideFailureError(
      'malformedResponse',
      'MissingStream',
      'ConverseStream returned no event stream',
    );
  }
  let text = '';
  let stopReason: string | undefined;
  let usage: BedrockTokenUsage | undefined;
  for await (const event of output.stream) {
    const delta = event.contentBlockDelta?.delta?.text;
    if (delta) {
      text += delta;
      onText(delta);
    }
    if (event.messageStop) stopReason = event.messageStop.stopReason;
    if (event.metadata) usage = event.metadata.usage;
  }
  if (!stopReason) {
    throw new ClientSideFailureError(
      text ? 'streamInterrupted' : 'malformedResponse',
      'MissingMessageStop',
      'the event stream ended without a messageStop event',
    );
  }
  return { text, stopReason, usage };
}

function mapUsage(usage: BedrockTokenUsage | undefined): TokenUsage {
  return {
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cacheReadTokens: usage?.cacheReadInputTokens ?? 0,
    cacheWriteTokens: usage?.cacheWriteInputTokens ?? 0,
  };
}

function regionOfArn(modelId: string): string | undefined {
  return modelId.startsWith('arn:') ? modelId.split(':')[3] || undefined : undefined;
}

/** The fields of an AWS SDK (or Node) error that classification needs. */
interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

function codeOf(error: unknown): string | undefined {
  const code: unknown =
    typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function toProviderError(error: unknown, modelId: string, delivered: boolean): ProviderError {
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
