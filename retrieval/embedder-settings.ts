/** Which embedder ingestion and search use; one per deployment, because vectors are compared only within a model. */
export type EmbedderSettings =
  | { kind: 'static'; directory?: string }
  | { kind: 'minilm-l6'; threads?: number }
  | { kind: 'bedrock'; region: string; endpoint?: string; modelId?: string; dimensions?: 256 | 512 | 1024 }
  | { kind: 'openai-compatible'; endpoint: string; model: string; dimensions: number; apiKey?: string };

export const EMBEDDER_KINDS = ['static', 'minilm-l6', 'bedrock', 'openai-compatible'] as const;
