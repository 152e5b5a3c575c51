/**
 * Builds an ONNX graph of a BERT encoder (sentence-transformers mean pooling) from its safetensors
 * weights, in memory: the runtime executes it, and no converted model file has to be fetched or kept.
 * Inputs `input_ids` and `position_ids` (int64, one sequence, no padding); output `pooled`, the mean of
 * the last hidden states (not yet normalised).
 */
import protobuf from 'protobufjs/minimal';

/** The architecture numbers of a BERT checkpoint, as its config.json names them. */
export interface BertConfig {
  num_hidden_layers: number;
  hidden_size: number;
  num_attention_heads: number;
  intermediate_size: number;
  layer_norm_eps: number;
  max_position_embeddings: number;
  vocab_size: number;
  hidden_act: string;
}

export interface NamedTensor {
  shape: number[];
  /** Little-endian float32 bytes, a view into the file that was read. */
  bytes: Uint8Array;
}

/** Reads the float32 tensors of a safetensors file (8-byte header length, JSON header, then data). */
export function readSafetensors(file: Uint8Array): Map<string, NamedTensor> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.byteLength < 8) throw new Error('not a safetensors file: shorter than its header length');
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > file.byteLength) throw new Error('not a safetensors file: header runs past the end');
  const header = JSON.parse(
    Buffer.from(file.buffer, file.byteOffset + 8, headerLength).toString('utf8'),
  ) as Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  const base = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__' || entry.dtype !== 'F32') continue;
    const [start, end] = entry.data_offsets ?? [0, -1];
    const shape = entry.shape ?? [];
    const elements = shape.reduce((product, size) => product * size, 1);
    if (end - start !== elements * 4 || base + end > file.byteLength) {
      throw new Error(`safetensors tensor ${name}: offsets do not match its shape [${shape.join(', ')}]`);
    }
    tensors.set(name, { shape, bytes: file.subarray(base + start, base + end) });
  }
  return tensors;
}

/** A fluent field-number view of protobufjs's Writer, enough to write an ONNX ModelProto. */
class ProtoWriter {
  private readonly writer = protobuf.Writer.create();

  int(field: number, value: number): this {
    this.writer.uint32(field * 8).int64(value);
    return this;
  }

  float(field: number, value: number): this {
    this.writer.uint32(field * 8 + 5).float(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.writer.uint32(field * 8 + 2).bytes(value);
    return this;
  }

  string(field: number, value: string): this {
    this.writer.uint32(field * 8 + 2).string(value);
    return this;
  }

  message(field: number, build: (writer: this) => void): this {
    this.writer.uint32(field * 8 + 2).fork();
    build(this);
    this.writer.ldelim();
    return this;
  }

  finish(): Uint8Array {
    return this.writer.finish();
  }
}

/**
 * The numbers of onnx.proto this graph writes: element types (`TensorProto.DataType`), attribute types
 * (`AttributeProto.AttributeType`), and IR version 8 with opset 17 (LayerNormalization is an ONNX
 * operator from 17 on).
 */
const ONNX = {
  elementType: { float: 1, int64: 7 },
  attributeType: { float: 1, int: 2, ints: 7 },
  irVersion: 8,
  opset: 17,
} as const;

interface GraphNode {
  op: string;
  inputs: string[];
  output: string;
  attributes: Array<{ name: string; float?: number; int?: number; ints?: number[] }>;
}

interface Initializer {
  name: string;
  dims: number[];
  type: number;
  bytes: Uint8Array;
}

/** The ONNX model bytes of `weights` (names as in a Hugging Face BertModel checkpoint). */
export function buildBertGraph(weights: ReadonlyMap<string, NamedTensor>, config: BertConfig): Uint8Array {
  if (config.hidden_act !== 'gelu') throw new Error(`unsupported activation ${config.hidden_act}`);
  const hidden = config.hidden_size;
  const heads = config.num_attention_heads;
  if (hidden % heads !== 0) throw new Error('hidden_size is not a multiple of num_attention_heads');
  const headSize = hidden / heads;
  const prefix = weights.has('embeddings.word_embeddings.weight') ? '' : 'bert.';
  const initializers: Initializer[] = [];
  const nodes: GraphNode[] = [];

  const weight = (name: string, shape: number[]): string => {
    const tensor = weights.get(prefix + name);
    if (tensor === undefined) throw new Error(`the checkpoint has no tensor ${prefix}${name}`);
    if (tensor.shape.join() !== shape.join()) {
      throw new Error(`${name} has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    initializers.push({ name, dims: shape, type: ONNX.elementType.float, bytes: tensor.bytes });
    return name;
  };
  const constantFloats = (name: string, dims: number[], values: number[]): string => {
    const data = Float32Array.from(values);
    initializers.push({ name, dims, type: ONNX.elementType.float, bytes: new Uint8Array(data.buffer) });
    return name;
  };
  const constantInts = (name: string, values: number[]): string => {
    const data = BigInt64Array.from(values.map(BigInt));
    initializers.push({
      name,
      dims: [values.length],
      type: ONNX.elementType.int64,
      bytes: new Uint8Array(data.buffer),
    });
    return name;
  };
  const node = (op: string, inputs: string[], attributes: GraphNode['attributes'] = [], name?: string) => {
    const output = name ?? `${op.toLowerCase()}_${nodes.length}`;
    nodes.push({ op, inputs, output, attributes });
    return output;
  };
  // y = x Wᵀ + b: Gemm reads the checkpoint's [out, in] matrix as it is stored.
  const linear = (x: string, name: string, inputs: number, outputs: number) =>
    node(
      'Gemm',
      [x, weight(`${name}.weight`, [outputs, inputs]), weight(`${name}.bias`, [outputs])],
      [{ name: 'transB', int: 1 }],
    );
  const layerNorm = (x: string, name: string) =>
    node(
      'LayerNormalization',
      [x, weight(`${name}.weight`, [hidden]), weight(`${name}.bias`, [hidden])],
      [
        { name: 'axis', int: -1 },
        { name: 'epsilon', float: config.layer_norm_eps },
      ],
    );

  const words = node('Gather', [
    weight('embeddings.word_embeddings.weight', [config.vocab_size, hidden]),
    'input_ids',
  ]);
  const positions = node('Gather', [
    weight('embeddings.position_embeddings.weight', [config.max_position_embeddings, hidden]),
    'position_ids',
  ]);
  // Every token is of type 0 (one segment): its row is a constant added to every position.
  const tokenTypes = weights.get(`${prefix}embeddings.token_type_embeddings.weight`);
  if (tokenTypes === undefined || tokenTypes.shape.length !== 2 || tokenTypes.shape[1] !== hidden) {
    throw new Error(`the checkpoint has no [types, ${hidden}] embeddings.token_type_embeddings.weight`);
  }
  initializers.push({
    name: 'token_type_0',
    dims: [hidden],
    type: ONNX.elementType.float,
    bytes: tokenTypes.bytes.subarray(0, hidden * 4),
  });
  let x = node('Add', [node('Add', [words, positions]), 'token_type_0']);
  x = layerNorm(x, 'embeddings.LayerNorm');

  const splitHeads = constantInts('split_heads', [-1, heads, headSize]);
  const mergeHeads = constantInts('merge_heads', [-1, hidden]);
  const scale = constantFloats('attention_scale', [], [1 / Math.sqrt(headSize)]);
  const half = constantFloats('half', [], [0.5]);
  const one = constantFloats('one', [], [1]);
  const inverseSqrt2 = constantFloats('inverse_sqrt2', [], [Math.SQRT1_2]);
  const perm = (order: number[]) => [{ name: 'perm', ints: order }];
  for (let layer = 0; layer < config.num_hidden_layers; layer += 1) {
    const p = `encoder.layer.${layer}.`;
    // [tokens, hidden] → [heads, tokens, headSize]; keys as [heads, headSize, tokens].
    const heads3 = (name: string, order: number[]) =>
      node(
        'Transpose',
        [node('Reshape', [linear(x, `${p}attention.self.${name}`, hidden, hidden), splitHeads])],
        perm(order),
      );
    const query = heads3('query', [1, 0, 2]);
    const key = heads3('key', [1, 2, 0]);
    const value = heads3('value', [1, 0, 2]);
    const probabilities = node(
      'Softmax',
      [node('Mul', [node('MatMul', [query, key]), scale])],
      [{ name: 'axis', int: -1 }],
    );
    const context = node('Reshape', [
      node('Transpose', [node('MatMul', [probabilities, value])], perm([1, 0, 2])),
      mergeHeads,
    ]);
    x = layerNorm(
      node('Add', [linear(context, `${p}attention.output.dense`, hidden, hidden), x]),
      `${p}attention.output.LayerNorm`,
    );
    // BERT's exact gelu: x · ½ (1 + erf(x / √2)).
    const inner = linear(x, `${p}intermediate.dense`, hidden, config.intermediate_size);
    const gelu = node('Mul', [
      node('Mul', [inner, half]),
      node('Add', [node('Erf', [node('Mul', [inner, inverseSqrt2])]), one]),
    ]);
    x = layerNorm(
      node('Add', [linear(gelu, `${p}output.dense`, config.intermediate_size, hidden), x]),
      `${p}output.LayerNorm`,
    );
  }
  node(
    'ReduceMean',
    [x],
    [
      { name: 'axes', ints: [0] },
      { name: 'keepdims', int: 0 },
    ],
    'pooled',
  );

  const tensorType = (writer: ProtoWriter, elementType: number, dims: Array<number | string>) =>
    writer.message(1, (tensor) => {
      tensor.int(1, elementType);
      tensor.message(2, (shape) => {
        for (const dim of dims) {
          shape.message(1, (entry) => (typeof dim === 'number' ? entry.int(1, dim) : entry.string(2, dim)));
        }
      });
    });
  const model = new ProtoWriter();
  model.int(1, ONNX.irVersion);
  model.string(2, 'gatehouse');
  model.message(8, (opset) => opset.string(1, '').int(2, ONNX.opset));
  model.message(7, (graph) => {
    for (const entry of nodes) {
      graph.message(1, (writer) => {
        for (const input of entry.inputs) writer.string(1, input);
        writer.string(2, entry.output);
        writer.string(4, entry.op);
        for (const attribute of entry.attributes) {
          writer.message(5, (attr) => {
            attr.string(1, attribute.name);
            const { attributeType } = ONNX;
            if (attribute.float !== undefined) attr.float(2, attribute.float).int(20, attributeType.float);
            else if (attribute.int !== undefined) attr.int(3, attribute.int).int(20, attributeType.int);
            else {
              for (const value of attribute.ints ?? []) attr.int(8, value);
              attr.int(20, attributeType.ints);
            }
          });
        }
      });
    }
    graph.string(2, 'bert_mean_pooled');
    for (const initializer of initializers) {
      graph.message(5, (tensor) => {
        for (const dim of initializer.dims) tensor.int(1, dim);
        tensor.int(2, initializer.type).string(8, initializer.name).bytes(9, initializer.bytes);
      });
    }
    for (const input of ['input_ids', 'position_ids']) {
      graph.message(11, (info) =>
        info.string(1, input).message(2, (type) => tensorType(type, ONNX.elementType.int64, ['tokens'])),
      );
    }
    graph.message(12, (info) =>
      info.string(1, 'pooled').message(2, (type) => tensorType(type, ONNX.elementType.float, [hidden])),
    );
  });
  return model.finish();
}
