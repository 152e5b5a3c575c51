import { createEmbedder } from '../../retrieval/create-embedder';
import { defaultEmbedder } from '../../retrieval/static-embedder';
import { readSettings } from '../../config/environment';

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
  });
});
