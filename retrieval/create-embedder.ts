import { createBedrockEmbedder, TITAN_TEXT_EMBEDDINGS_V2 } from './bedrock-embedder';
import type { Embedder } from './embedder';
import { createOpenAiCompatibleEmbedder } from './openai-compatible-embedder';
import { defaultEmbedder, StaticEmbedder } from './static-embedder';

/** Which embedder ingestion and search use; one per deployment, because vectors are compared only within a model. */
export type EmbedderSettings =
  | { kind: 'static'; directory?: string }
  | { kind: 'bedrock'; region: string; endpoint?: string; modelId?: string; dimensions?: 256 | 512 | 1024 }
  | { kind: 'openai-compatible'; endpoint: string; model: string; dimensions: number; apiKey?: string };

export const EMBEDDER_KINDS = ['static', 'bedrock', 'openai-compatible'] as const;

/** Builds the configured embedder (the static default is shared by the whole process). */
export function createEmbedder(settings: EmbedderSettings): Embedder {
  switch (settings.kind) {
    case 'static':
      return settings.directory === undefined ? defaultEmbedder() : StaticEmbedder.load(settings.directory);
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
