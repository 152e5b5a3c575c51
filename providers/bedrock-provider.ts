import {
  BedrockRuntimeClient,
  CountTokensCommand,
  type BedrockRuntimeClientConfig,
  type ConverseCommandInput,
} from '@aws-sdk/client-bedrock-runtime';
import { classifyClientSideFailure } from '../domain/classify-provider-error';
import type { InferenceRequest } from '../domain/step-contracts';
import { BEDROCK_STOP_REASONS, converse, converseStream, mapUsage } from './bedrock-converse';
import { describeBedrockModelId, regionOfArn, sanitizeRequestMetadataValue } from './bedrock-model-id';
import { extractCitations } from './extract-citations';
import { toProviderError } from './map-bedrock-error';
import { ProviderError, type ModelProvider } from './model-provider';

export { BEDROCK_STOP_REASONS } from './bedrock-converse';
export {
  BEDROCK_MODEL_ID_SHAPES,
  describeBedrockModelId,
  sanitizeRequestMetadataValue,
  type BedrockModelIdKind,
} from './bedrock-model-id';

export interface BedrockProviderOptions {
  /** Region for routes that name none (and whose model id is not a regional ARN). */
  defaultRegion: string;
  /** Builds the client for a region instead of the default one (tests, custom HTTP handlers). */
  clientFor?: (region: string) => BedrockRuntimeClient;
  /** Endpoint for every client unless a route names its own, e.g. a VPC endpoint or the emulator. */
  endpoint?: string;
  credentials?: BedrockRuntimeClientConfig['credentials'];
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
    // Parameter types come from ModelProvider, the one home of the provider contract.
    async generate(request, generateOptions = {}) {
      const { route } = request;
      assertBedrockModelId(route);
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

/** A route must name a Bedrock model id, inference profile id or model ARN. */
function assertBedrockModelId(route: InferenceRequest['route']): void {
  if (describeBedrockModelId(route.model)) return;
  throw new ProviderError(
    `route '${route.id}': '${route.model}' is not a Bedrock model id, inference profile id or model ARN`,
    classifyClientSideFailure('invalidRoute', 'InvalidModelId'),
  );
}
