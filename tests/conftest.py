"""Shared fixtures: the repository's course and an isolated KPREP_HOME; how many examples a
property test tries; the rule that tests/live and tests/e2e hold only live or e2e tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ORIGINAL_KPREP_HOME = os.environ.get("KPREP_HOME")
"""KPREP_HOME as the test run started (live tests use it to find the running cluster)."""

FAST_PROPERTIES = os.environ.get("HYPOTHESIS_PROFILE") == "fast"
"""`make check-fast` sets HYPOTHESIS_PROFILE=fast; `make check` and .ci/test do not."""


def examples(full: int) -> int:
    """How many examples a property tries: `full` normally, a tenth (at least 20) under the
    "fast" profile. Every property stays derandomized, so the fast run is a fixed prefix-sized
    sample, and the plain regression tests beside each property run in both loops."""
    return max(20, full // 10) if FAST_PROPERTIES else full


MARKER_ONLY_DIRS = ("live", "e2e")
"""`make check-fast` does not import these folders (--ignore): each test there must carry
the `live` or `e2e` marker, or it would silently drop out of the fast loop."""


@pytest.hookimpl(trylast=True)  # after tests/live/conftest.py marks its tests live
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if item.path.relative_to(REPO / "tests").parts[0] in MARKER_ONLY_DIRS
        and not any(item.get_closest_marker(name) for name in MARKER_ONLY_DIRS)
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests under tests/live and tests/e2e must be marked live or e2e "
            f"(make check-fast skips those folders): {unmarked}"
        )


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def course():
    from app.course.loader import Course

    return Course(REPO)


@pytest.fixture(autouse=True)
def kprep_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own user state; the developer's real progress is never touched."""
    home = tmp_path_factory.mktemp("kprep-home")
    monkeypatch.setenv("KPREP_HOME", str(home))
    return home
