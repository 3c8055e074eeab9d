"""Tracks are data: course.yaml drives the loader, lint, `scenarios new` and the home order."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.authoring.lint import lint_course
from app.course.catalog import CatalogError, load_catalog
from app.course.loader import Course, CourseError
from app.progress.store import ProgressStore
from app.progress.summary import summarize
from tests.conftest import REPO


def test_bundled_catalog_lists_the_tracks_in_order() -> None:
    catalog = load_catalog(REPO)
    assert catalog.format_version == 1
    assert catalog.track_ids[:4] == (
        "serving",
        "autoscaling",
        "gpu-scheduling",
        "distributed-training",
    )
    for track in catalog.tracks:
        assert (REPO / track.lesson).is_file(), track


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """An instructor's pack: the real gpu-limits scenario, moved to a track of its own."""
    root = tmp_path / "pack"
    shutil.copytree(REPO / "scenarios/gpu-limits", root / "scenarios/gpu-limits")
    shutil.copytree(REPO / "answers/gpu-limits", root / "answers/gpu-limits")
    shutil.copytree(REPO / "profiles", root / "profiles")  # its live check needs a profile
    (root / "lessons").mkdir()
    lesson = (REPO / "lessons/serving.md").read_text(encoding="utf-8")
    (root / "lessons" / "edge.md").write_text(lesson, encoding="utf-8")
    (root / "course.yaml").write_text(
        "format_version: 1\ntracks:\n  - {id: edge, title: Inference at the edge, order: 5}\n",
        encoding="utf-8",
    )
    scenario = root / "scenarios/gpu-limits/scenario.yaml"
    text = scenario.read_text(encoding="utf-8")
    text = text.replace("track: serving\n", "track: edge\n").replace(
        "lesson: serving", "lesson: edge"
    )
    scenario.write_text(text, encoding="utf-8")
    return root


def test_a_pack_can_add_its_own_track(pack: Path) -> None:
    course = Course(pack)
    scenario = course.scenario("gpu-limits")
    assert scenario.track == "edge"
    assert lint_course(course).ok, [str(p) for p in lint_course(course).problems]
    summary = summarize([scenario], ProgressStore.in_memory(), [], course.catalog)
    assert [(t.track, t.title) for t in summary.tracks] == [("edge", "Inference at the edge")]


def test_a_track_missing_from_the_catalog_is_an_error_at_its_line(pack: Path) -> None:
    (pack / "course.yaml").write_text(
        "format_version: 1\ntracks:\n  - {id: other, title: Other}\n", encoding="utf-8"
    )
    with pytest.raises(CourseError) as caught:
        Course(pack).scenario("gpu-limits")
    assert "'edge' is not a track of this course" in str(caught.value)
    assert caught.value.line == 3


def test_a_newer_format_asks_for_a_newer_kprep(pack: Path) -> None:
    (pack / "course.yaml").write_text(
        "format_version: 2\ntracks:\n  - {id: edge, title: Edge}\n", encoding="utf-8"
    )
    with pytest.raises(CatalogError, match="needs a newer kprep"):
        load_catalog(pack)
    problems = [str(p) for p in lint_course(Course(pack)).problems]
    assert len(problems) == 1, problems
    assert "course.yaml:1:" in problems[0] and "format_version 2" in problems[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format_version: 1\n", "tracks: must be a non-empty list"),
        ("format_version: 1\ntracks:\n  - {id: Edge, title: x}\n", "lowercase letters"),
        ("format_version: 1\ntracks:\n  - {id: ab, title: x}\n  - {id: ab, title: y}\n", "repeats"),
        ("format_version: 1\ntracks: []\nextra: 1\n", "unknown field(s): extra"),
        ("format_version: one\ntracks: []\n", "positive integer"),
        ("tracks: [\n", "not valid YAML"),
    ],
)
def test_bad_catalogs_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "course.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_catalog(tmp_path)


def test_without_a_catalog_tracks_come_from_the_lessons_and_lint_asks_for_one(pack: Path) -> None:
    (pack / "course.yaml").unlink()
    course = Course(pack)
    assert course.catalog.track_ids == ("edge",)
    assert course.scenario("gpu-limits").track == "edge"
    assert any("no course.yaml" in str(p) for p in lint_course(course).problems)


def test_lint_rejects_stray_files(pack: Path) -> None:
    shutil.copy(
        pack / "scenarios/gpu-limits/starter.yaml", pack / "scenarios/gpu-limits/starter.yml"
    )
    (pack / "answers/gpu-limits/notes.txt").write_text("x", encoding="utf-8")
    problems = [str(p) for p in lint_course(Course(pack)).problems]
    assert any("stray file 'starter.yml'" in p for p in problems), problems
    assert any("stray file 'notes.txt'" in p for p in problems), problems


def test_scenarios_new_offers_the_catalog_tracks(pack: Path) -> None:
    def new(track: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "--course",
                str(pack),
                "scenarios",
                "new",
                "x-drill",
                "--track",
                track,
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    refused = new("serving")
    assert refused.returncode == 2
    assert "unknown track 'serving' (course.yaml lists: edge)" in refused.stderr
    created = new("edge")
    assert created.returncode == 0, created.stderr
    assert "track: edge" in (pack / "scenarios/x-drill/scenario.yaml").read_text(encoding="utf-8")
