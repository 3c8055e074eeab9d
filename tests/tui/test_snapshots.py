"""Snapshots of the key screens at a fixed size (pytest-textual-snapshot).

Deterministic: the fixed course of tests/tui/conftest.py (the real gpu-limits
scenario), a fixed KPREP_HOME (the draft path is on screen), no cursor blink.
Update with `pytest tests/tui/test_snapshots.py --snapshot-update` only after
looking at snapshot_report.html.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.conftest import settle

pytestmark = pytest.mark.tui

SIZE = (100, 32)
HOME = Path("/tmp/kprep-snapshot-home")


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.rmtree(HOME, ignore_errors=True)
    monkeypatch.setenv("KPREP_HOME", str(HOME))
    yield HOME
    shutil.rmtree(HOME, ignore_errors=True)


def test_home_screen(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=settle)


def test_scenario_screen_after_grading(snap_compare, make_app):
    async def grade(pilot):
        await settle(pilot)
        await pilot.press("ctrl+g", "ctrl+r")
        await settle(pilot)
        app = pilot.app
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(make_app("scenario", "gpu-limits"), terminal_size=SIZE, run_before=grade)


def test_scenario_screen_at_80_by_24(snap_compare, make_app):
    """The smallest terminal kprep supports: F1 first in the footer, checks as you type."""
    assert snap_compare(
        make_app("scenario", "gpu-limits"), terminal_size=(80, 24), run_before=settle
    )


def test_help_screen(snap_compare, make_app):
    async def help_screen(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(
        make_app("scenario", "gpu-limits"), terminal_size=SIZE, run_before=help_screen
    )
