/**
 * @jest-environment ./test/support/native-typed-arrays-environment.ts
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBertGraph, readSafetensors } from '../../retrieval/bert-onnx-graph';
import {
  DEFAULT_TRANSFORMER_MODEL_DIRECTORY,
  MINILM_L6,
  TRANSFORMER_MODEL_FILES,
  TransformerEmbedder,
  TransformerModelError,
} from '../../retrieval/transformer-embedder';

/**
 * The ONNX graph built in retrieval/bert-onnx-graph.ts against numpy reference outputs
 * (scripts/transformer-reference-vectors.py): a tiny seeded BERT always, the real MiniLM-L6 when
 * `npm run model:fetch-minilm` has put it in .tools/models/minilm-l6.
 */
const FIXTURES = path.join(__dirname, 'fixtures');
const TOLERANCE = 1e-4;

interface ReferenceCase {
  text: string;
  ids: number[];
  vector: number[];
}

function readCases(file: string): ReferenceCase[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { cases: ReferenceCase[] }).cases;
}

function maxDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  expect(left.length).toBe(right.length);
  let worst = 0;
  for (let index = 0; index < left.length; index += 1) {
    worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)));
  }
  return worst;
}

describe('transformer embedder on a tiny seeded BERT', () => {
  const directory = path.join(FIXTURES, 'tiny-bert');
  const cases = readCases(path.join(directory, 'reference.json'));

  it.each([1, 2])(
    'tokenises and embeds as the numpy forward pass does, to 1e-4, on %i thread(s)',
    async (threads) => {
      const embedder = await TransformerEmbedder.load({ directory, model: 'tiny-bert', threads });
      expect(embedder.dimensions).toBe(8);
      const vectors = await embedder.embed(cases.map((entry) => entry.text));
      cases.forEach((entry, index) => {
        expect(embedder.tokenIds(entry.text)).toEqual(entry.ids);
        expect(maxDifference(vectors[index] as Float32Array, entry.vector)).toBeLessThan(TOLERANCE);
      });
    },
  );

  it('refuses weights whose sha256 is not the expected one, naming the fetch command', async () => {
    await expect(TransformerEmbedder.load({ directory, weightsSha256: '0'.repeat(64) })).rejects.toThrow(
      new RegExp(`expected 0{64}; run \`${MINILM_L6.fetchCommand}\``),
    );
  });

  it('names the missing files and the fetch command when the model is absent', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-no-model-'));
    try {
      const attempt = TransformerEmbedder.load({ directory: empty });
      await expect(attempt).rejects.toThrow(TransformerModelError);
      await expect(attempt).rejects.toThrow(
        /missing config\.json, vocab\.txt, model\.safetensors\); run `npm run model:fetch-minilm`/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('rejects a checkpoint whose tensors do not match its config', () => {
    const weights = readSafetensors(readFileSync(path.join(directory, 'model.safetensors')));
    const config = JSON.parse(readFileSync(path.join(directory, 'config.json'), 'utf8')) as Parameters<
      typeof buildBertGraph
    >[1];
    expect(() => buildBertGraph(weights, { ...config, hidden_size: 16, num_attention_heads: 2 })).toThrow(
      /has shape \[16, 8\], expected \[16, 16\]/,
    );
    expect(() => buildBertGraph(weights, { ...config, hidden_act: 'relu' })).toThrow(
      /unsupported activation/,
    );
  });

  it('reads safetensors offsets strictly', () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-safetensors-'));
    try {
      const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }));
      const file = Buffer.concat([Buffer.alloc(8), header, Buffer.alloc(8)]);
      file.writeBigUInt64LE(BigInt(header.length), 0);
      writeFileSync(path.join(scratch, 'bad.safetensors'), file);
      expect(() => readSafetensors(readFileSync(path.join(scratch, 'bad.safetensors')))).toThrow(
        /offsets do not match its shape \[3\]/,
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

const modelPresent = TRANSFORMER_MODEL_FILES.every((file) =>
  existsSync(path.join(DEFAULT_TRANSFORMER_MODEL_DIRECTORY, file)),
);
// The real weights are 87 MB and fetched on demand; without them these cases cannot run.
const describeWithModel = modelPresent ? describe : describe.skip;

describeWithModel('transformer embedder on MiniLM-L6 (after npm run model:fetch-minilm)', () => {
  const cases = readCases(path.join(FIXTURES, 'minilm-l6-reference.json'));

  it('matches the model tokenizer and the numpy vectors to 1e-4', async () => {
    const embedder = await TransformerEmbedder.load();
    expect([embedder.model, embedder.version, embedder.dimensions]).toEqual(['minilm-l6', '1', 384]);
    const vectors = await embedder.embed(cases.map((entry) => entry.text));
    cases.forEach((entry, index) => {
      expect(embedder.tokenIds(entry.text)).toEqual(entry.ids);
      expect(maxDifference(vectors[index] as Float32Array, entry.vector)).toBeLessThan(TOLERANCE);
    });
  });
});
