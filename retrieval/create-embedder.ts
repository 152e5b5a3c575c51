import { createBedrockEmbedder, TITAN_TEXT_EMBEDDINGS_V2 } from './bedrock-embedder';
import type { Embedder } from './embedder';
import { createOpenAiCompatibleEmbedder } from './openai-compatible-embedder';
import type { EmbedderSettings } from './embedder-settings';
import { defaultEmbedder, StaticEmbedder } from './static-embedder';
import { configuredTransformerEmbedder } from './transformer-embedder';

export { EMBEDDER_KINDS, type EmbedderSettings } from './embedder-settings';

/** Builds the configured embedder (the static default is shared by the whole process). */
export function createEmbedder(settings: EmbedderSettings): Embedder {
  switch (settings.kind) {
    case 'static':
      return settings.directory === undefined ? defaultEmbedder() : StaticEmbedder.load(settings.directory);
    case 'minilm-l6':
      return configuredTransformerEmbedder(undefined, settings.threads);
    case 'bedrock':
      return createBedrockEmbedder({
        region: settings.region,
        endpoint: settings.endpoint,
        modelId: settings.modelId ?? TITAN_TEXT_EMBEDDINGS_V2,
        dimensions: settings.dimensions,
      });
    case 'openai-compatible':
      return createOpenAiCompatibleEmbedder({
        endpoint: settings.endpoint,
        model: settings.model,
        dimensions: settings.dimensions,
        apiKey: settings.apiKey,
      });
  }
}
