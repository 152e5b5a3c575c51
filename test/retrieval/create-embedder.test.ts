import { createEmbedder } from '../../retrieval/create-embedder';
import { defaultEmbedder } from '../../retrieval/static-embedder';
import { readSettings } from '../../config/environment';
import {
  configuredTransformerEmbedder,
  DEFAULT_TRANSFORMER_MODEL_DIRECTORY,
  TransformerModelError,
} from '../../retrieval/transformer-embedder';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('embedder configuration', () => {
  it('defaults to the offline static embedder', () => {
    const settings = readSettings({});
    expect(settings.embedder).toEqual({ kind: 'static' });
    expect(createEmbedder(settings.embedder)).toBe(defaultEmbedder());
  });

  it('builds Bedrock and OpenAI-compatible embedders from the environment', () => {
    const bedrock = readSettings({
      GATEHOUSE_EMBEDDER: 'bedrock',
      AWS_REGION: 'eu-west-1',
      GATEHOUSE_EMBEDDING_DIMENSIONS: '256',
    });
    expect(bedrock.embedder).toMatchObject({ kind: 'bedrock', region: 'eu-west-1', dimensions: 256 });
    expect(createEmbedder(bedrock.embedder)).toMatchObject({
      model: 'amazon.titan-embed-text-v2:0',
      dimensions: 256,
    });
    const selfHosted = readSettings({
      GATEHOUSE_EMBEDDER: 'openai-compatible',
      GATEHOUSE_EMBEDDING_ENDPOINT: 'http://127.0.0.1:8000/v1',
      GATEHOUSE_EMBEDDING_MODEL: 'bge-small-en',
      GATEHOUSE_EMBEDDING_DIMENSIONS: '384',
    });
    expect(createEmbedder(selfHosted.embedder)).toMatchObject({ model: 'bge-small-en', dimensions: 384 });
  });

  it('names what is missing or wrong', () => {
    expect(() => readSettings({ GATEHOUSE_EMBEDDER: 'openai-compatible' })).toThrow(
      /needs GATEHOUSE_EMBEDDING_ENDPOINT/,
    );
    expect(() =>
      readSettings({ GATEHOUSE_EMBEDDER: 'bedrock', GATEHOUSE_EMBEDDING_DIMENSIONS: '300' }),
    ).toThrow(/256, 512 or 1024/);
    expect(() => readSettings({ GATEHOUSE_EMBEDDER: 'word2vec' })).toThrow(/GATEHOUSE_EMBEDDER/);
    expect(() => readSettings({ GATEHOUSE_EMBEDDER_THREADS: '2' })).toThrow(
      /GATEHOUSE_EMBEDDER_THREADS applies to GATEHOUSE_EMBEDDER=minilm-l6 only \(it is static\)/,
    );
    for (const threads of ['0', '1.5', 'all']) {
      expect(() =>
        readSettings({ GATEHOUSE_EMBEDDER: 'minilm-l6', GATEHOUSE_EMBEDDER_THREADS: threads }),
      ).toThrow(/GATEHOUSE_EMBEDDER_THREADS/);
    }
  });

  it('takes the minilm-l6 transformer, and refuses to build it without its model files', () => {
    expect(readSettings({ GATEHOUSE_EMBEDDER: 'minilm-l6' }).embedder).toEqual({ kind: 'minilm-l6' });
    expect(
      readSettings({ GATEHOUSE_EMBEDDER: 'minilm-l6', GATEHOUSE_EMBEDDER_THREADS: '2' }).embedder,
    ).toEqual({ kind: 'minilm-l6', threads: 2 });
    const empty = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-no-model-'));
    try {
      expect(() => configuredTransformerEmbedder(empty)).toThrow(TransformerModelError);
      expect(() => configuredTransformerEmbedder(empty)).toThrow(
        /missing config\.json, vocab\.txt, model\.safetensors\); run `npm run model:fetch-minilm`/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const fetched = existsSync(path.join(DEFAULT_TRANSFORMER_MODEL_DIRECTORY, 'model.safetensors'));
    const build = () => createEmbedder({ kind: 'minilm-l6' });
    if (fetched) expect(build()).toMatchObject({ model: 'minilm-l6', dimensions: 384 });
    else expect(build).toThrow(/npm run model:fetch-minilm/);
  });
});
