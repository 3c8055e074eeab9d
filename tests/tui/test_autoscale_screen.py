"""The autoscaling view (F10 on an autoscaling scenario): the candidate's chart next
to the reference's under a chosen load, the behaviour checks, and a live run that
says what is missing when there is no cluster."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from app.tui.screens.autoscale import AutoscaleScreen
from app.tui.screens.scenario import ScenarioScreen
from tests.conftest import REPO
from tests.tui.conftest import FIXTURE_CATALOG, notifications, settle

pytestmark = pytest.mark.tui

SIZE = (160, 48)
SCENARIO = "hpa-ml-serving"


@pytest.fixture
def hpa_course(tmp_path: Path) -> Path:
    root = tmp_path / "hpa-course"
    for part in ("scenarios", "answers"):
        shutil.copytree(REPO / part / SCENARIO, root / part / SCENARIO)
    shutil.copytree(REPO / "lessons", root / "lessons")
    (root / "course.yaml").write_text(FIXTURE_CATALOG, encoding="utf-8")
    return root


async def _open(pilot, app) -> AutoscaleScreen:
    await settle(pilot)
    assert isinstance(app.screen, ScenarioScreen)
    await pilot.press("f10")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, AutoscaleScreen)
    return screen


async def test_the_view_charts_the_answer_beside_the_reference(make_app, hpa_course):
    app = make_app("scenario", SCENARIO, course=hpa_course)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        assert screen.shown_load == "spike"
        yours, reference = _plain_of(screen, "yours"), _plain_of(screen, "reference")
        assert "Your answer · spike · simulated" in yours
        assert "Reference · spike · simulated" in reference
        # The starter is not the reference: its own chart and checks, side by side.
        assert "peak replicas" in yours and "peak replicas" in reference
        assert "behaviour checks pass" in reference
        checks = reference.split("peak replicas")[1]
        assert "fail " not in checks  # the reference passes its scenario's checks
        await pilot.press("right")
        await settle(pilot)
        assert screen.shown_load == "ramp"
        assert "Reference · ramp · simulated" in _plain_of(screen, "reference")
        await pilot.press("left", "left")
        await settle(pilot)
        assert screen.shown_load == "drop"


async def test_a_live_run_without_a_cluster_says_how_to_get_one(make_app, hpa_course):
    app = make_app("scenario", SCENARIO, course=hpa_course)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert "kprep cluster up" in notifications(app)
        assert not screen.live_running
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)
        assert screen.cancel.is_set()


async def test_f10_on_a_scenario_without_autoscaling_only_says_so(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)
        assert "no autoscaling run" in notifications(app)


def _plain_of(screen: AutoscaleScreen, pane: str) -> str:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=90, color_system=None).print(screen.panes[pane])
    return out.getvalue()
