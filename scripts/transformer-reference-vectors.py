"""Reference outputs for the transformer embedder's tests, computed with numpy (no ONNX Runtime).

Writes test/retrieval/fixtures/tiny-bert/ (a 2-layer, 8-dimension BERT with seeded random weights, its
vocabulary and its mean-pooled, normalised outputs for a few texts) and, given the MiniLM-L6 model
directory, test/retrieval/fixtures/minilm-l6-reference.json (token ids from the model's own tokenizer
and 384-dimension vectors for fixed sentences). The forward pass is the one the static table was
distilled with (scripts/distill-static-embedder.py). Needs numpy, and the `tokenizers` package for the
MiniLM part.

    python3 scripts/transformer-reference-vectors.py [.tools/models/minilm-l6]
"""

import importlib.util
import json
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "test", "retrieval", "fixtures")

spec = importlib.util.spec_from_file_location("distill", os.path.join(ROOT, "scripts", "distill-static-embedder.py"))
distill = importlib.util.module_from_spec(spec)
spec.loader.exec_module(distill)

TINY_CONFIG = {
    "hidden_act": "gelu",
    "hidden_size": 8,
    "intermediate_size": 16,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 16,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "type_vocab_size": 2,
    "vocab_size": 16,
}
TINY_VOCABULARY = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "select", "from", "the", "table", "vacuum", "index",
    "##es", "lock", ",", ".", "row", "analyze",
]
TINY_TEXTS = ["select from the table", "vacuum, analyze.", "row lock", "indexes"]
MINILM_SENTENCES = [
    "How do I create an index concurrently without locking writes?",
    "VACUUM reclaims storage occupied by dead tuples.",
    "Café naïve résumé: accents are stripped before WordPiece.",
    "types *(integer,\u200binteger) or -(NONE,\u200binteger)",
    "Routine vacuuming\n\n" + " ".join(["autovacuum_vacuum_scale_factor"] * 120),
]


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def tiny_weights():
    rng = np.random.default_rng(20261202)
    c = TINY_CONFIG
    h, i = c["hidden_size"], c["intermediate_size"]
    normal = lambda *shape: rng.normal(0.0, 0.5, shape).astype(np.float32)
    weights = {
        "embeddings.word_embeddings.weight": normal(c["vocab_size"], h),
        "embeddings.position_embeddings.weight": normal(c["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": normal(c["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": 1 + normal(h) / 5,
        "embeddings.LayerNorm.bias": normal(h) / 5,
    }
    for layer in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        for name in ("query", "key", "value"):
            weights[p + f"attention.self.{name}.weight"] = normal(h, h)
            weights[p + f"attention.self.{name}.bias"] = normal(h)
        weights[p + "attention.output.dense.weight"] = normal(h, h)
        weights[p + "attention.output.dense.bias"] = normal(h)
        weights[p + "intermediate.dense.weight"] = normal(i, h)
        weights[p + "intermediate.dense.bias"] = normal(i)
        weights[p + "output.dense.weight"] = normal(h, i)
        weights[p + "output.dense.bias"] = normal(h)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[p + norm + ".weight"] = 1 + normal(h) / 5
            weights[p + norm + ".bias"] = normal(h) / 5
    return weights


def pooled(weights, config, ids):
    vector = distill.encode(weights, config, np.array([ids]))[0].astype(np.float64)
    return (vector / np.linalg.norm(vector)).tolist()


def tiny():
    directory = os.path.join(FIXTURES, "tiny-bert")
    os.makedirs(directory, exist_ok=True)
    weights = tiny_weights()
    write_safetensors(os.path.join(directory, "model.safetensors"), weights)
    with open(os.path.join(directory, "config.json"), "w") as handle:
        json.dump(TINY_CONFIG, handle, indent=2)
        handle.write("\n")
    with open(os.path.join(directory, "vocab.txt"), "w") as handle:
        handle.write("\n".join(TINY_VOCABULARY) + "\n")
    ids_of = {token: index for index, token in enumerate(TINY_VOCABULARY)}
    # Whole-word and punctuation tokens only, plus "index" "##es": simple enough to tokenise here.
    split = {"select from the table": ["select", "from", "the", "table"], "vacuum, analyze.": ["vacuum", ",", "analyze", "."],
             "row lock": ["row", "lock"], "indexes": ["index", "##es"]}
    cases = []
    for text in TINY_TEXTS:
        ids = [ids_of["[CLS]"]] + [ids_of[token] for token in split[text]] + [ids_of["[SEP]"]]
        cases.append({"text": text, "ids": ids, "vector": pooled(weights, TINY_CONFIG, ids)})
    with open(os.path.join(directory, "reference.json"), "w") as handle:
        json.dump({"cases": cases}, handle, indent=2)
        handle.write("\n")


def minilm(model_dir):
    from tokenizers import BertWordPieceTokenizer

    with open(os.path.join(model_dir, "config.json")) as handle:
        config = json.load(handle)
    weights = distill.load_safetensors(os.path.join(model_dir, "model.safetensors"))
    # The model's tokenizer: BERT uncased WordPiece over its vocabulary (clean-up, accents, punctuation).
    tokenizer = BertWordPieceTokenizer(os.path.join(model_dir, "vocab.txt"), lowercase=True)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=256)
    cases = []
    for sentence in MINILM_SENTENCES:
        ids = tokenizer.encode(sentence).ids
        cases.append({"text": sentence, "ids": ids, "vector": [round(value, 7) for value in pooled(weights, config, ids)]})
    with open(os.path.join(FIXTURES, "minilm-l6-reference.json"), "w") as handle:
        json.dump({"cases": cases}, handle, indent=2)
        handle.write("\n")


if __name__ == "__main__":
    tiny()
    if len(sys.argv) > 1:
        minilm(sys.argv[1])
