"""The cached course index: same content as the loader, refreshed when files change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from app.progress.course_index import ScenarioCard, load_index
from tests.conftest import REPO


def small_course(root: Path) -> Path:
    for scenario_id in ("gpu-limits", "serving-10k"):
        shutil.copytree(REPO / "scenarios" / scenario_id, root / "scenarios" / scenario_id)
    return root


def test_index_matches_the_loader(tmp_path, course):
    cards, errors = load_index(REPO, tmp_path / "index.json")
    scenarios, load_errors = course.load_all()
    assert [c.id for c in cards] == [s.id for s in scenarios]
    assert len(errors) == len(load_errors)
    assert cards[0] == ScenarioCard.of(scenarios[0])
    again, _ = load_index(REPO, tmp_path / "index.json")
    assert again == cards


def test_a_changed_scenario_is_reloaded_and_a_removed_one_dropped(tmp_path):
    root = small_course(tmp_path / "course")
    cache = tmp_path / "index.json"
    load_index(root, cache)
    source = root / "scenarios" / "gpu-limits" / "scenario.yaml"
    source.write_text(source.read_text().replace("title: Ask for a GPU", "title: Request a GPU"))
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    shutil.rmtree(root / "scenarios" / "serving-10k")
    cards, errors = load_index(root, cache)
    assert errors == []
    assert [c.title.split()[0] for c in cards] == ["Request"]


def test_a_broken_scenario_is_an_error_not_an_entry(tmp_path):
    root = small_course(tmp_path / "course")
    (root / "scenarios" / "serving-10k" / "scenario.yaml").write_text("id: [broken\n")
    cards, errors = load_index(root, tmp_path / "index.json")
    assert [c.id for c in cards] == ["gpu-limits"]
    assert len(errors) == 1 and "serving-10k" in errors[0]


def test_a_warm_index_does_not_import_the_loader(tmp_path):
    cache = tmp_path / "index.json"
    load_index(REPO, cache)
    code = (
        "import sys\n"
        "from app.progress.course_index import load_index\n"
        f"cards, _ = load_index({str(REPO)!r}, __import__('pathlib').Path({str(cache)!r}))\n"
        "assert cards\n"
        "print('app.course.loader' in sys.modules, 'textual' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.split() == ["False", "False"]
