"""Shared fixtures: the repository's course and an isolated KPREP_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ORIGINAL_KPREP_HOME = os.environ.get("KPREP_HOME")
"""KPREP_HOME as the test run started (live tests use it to find the running cluster)."""


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
