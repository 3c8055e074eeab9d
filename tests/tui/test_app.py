"""The app around the scenario screen: home, lessons, help, keymap, faults, the cluster."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import DataTable, OptionList, Static

from app.grading.report import CheckResult, Placement, Report
from app.paths import data_dir
from app.progress.store import ProgressStore
from app.settings import Settings
from app.tui.screens.help import HelpScreen
from app.tui.screens.home import HomeScreen
from app.tui.screens.lesson import LessonScreen
from app.tui.screens.placement import PlacementScreen
from app.tui.screens.scenario import ScenarioScreen
from tests.conftest import REPO
from tests.tui.conftest import notifications, settle

pytestmark = pytest.mark.tui

SIZE = (100, 32)


async def test_home_shows_tracks_progress_continue_and_next(make_app):
    with ProgressStore.open(data_dir() / "progress.db") as store:
        store.record_attempt(
            Report(
                "gpu-limits",
                "x",
                max_score=8,
                checks=[
                    CheckResult("a", "A", "pass", 3, 3, "c"),
                    CheckResult("b", "B", "fail", 0, 5, "c"),
                ],
            )
        )
        store.start_visit("gone-away")  # progress for a scenario the course no longer has
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        summary = home.summary
        assert summary is not None and summary.continue_with is not None
        serving = next(t for t in summary.tracks if t.track == "serving")
        assert (serving.solved, serving.attempted, serving.best_points) == (0, 1, 3)
        assert summary.continue_with.scenario.id == "gpu-limits"
        assert "gone-away" in notifications(app)
        assert "gone-away" in str(home.query_one("#notes").render())
        table = home.query_one("#scenarios", DataTable)
        assert table.get_row("gpu-limits")[3] == "3/8"
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)


async def test_home_next_and_enter_open_scenarios(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("enter")  # the tracks list: move to its scenarios
        await pilot.press("enter")  # open the highlighted scenario
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)


async def test_lesson_section_jumps_to_its_scenarios_and_back(make_app):
    app = make_app("lesson", "serving#gpus-as-extended-resources")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        lesson = app.screen
        assert isinstance(lesson, LessonScreen)
        assert lesson.current_section == "gpus-as-extended-resources"
        practice = lesson.query_one("#practice", OptionList)
        assert practice.get_option_at_index(0).id == "s:gpu-limits"
        lesson.goto_section("requests-limits-and-qos")
        await pilot.pause()
        assert lesson.current_section == "requests-limits-and-qos"
        # Nothing practises this section: the lesson's other scenarios, with their section.
        assert "in: GPUs as extended resources" in str(practice.get_option_at_index(0).prompt)
        lesson.goto_section("gpus-as-extended-resources")
        await pilot.press("p", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)
        await pilot.press("f3")
        await pilot.pause()
        assert app.screen is lesson  # type: ignore[comparison-overlap]
        assert lesson.current_section == "gpus-as-extended-resources"
        # From the scenario, f4 goes back to the lesson it practises.
        await pilot.press("p", "enter")
        await settle(pilot)
        await pilot.press("f4")
        await pilot.pause()
        assert app.screen is lesson  # type: ignore[comparison-overlap]


async def test_lesson_toc_moves_the_reader(make_app):
    app = make_app("lesson", "serving")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        lesson = app.screen
        await pilot.press("t")
        toc = lesson.query_one("#toc")
        assert toc.has_focus
        await pilot.press("down", "enter")
        await pilot.pause()
        assert lesson.current_section == "requests-limits-and-qos"


async def test_help_lists_every_binding_with_its_id(make_app):
    from app.tui.keys import all_binding_ids

    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=200, record=True, file=io.StringIO())
        for table in app.screen.query(".help-table").results(Static):
            console.print(table.content)
        shown = console.export_text()
        for binding_id in all_binding_ids():
            assert binding_id in shown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)


async def test_keymap_from_config_remaps_a_binding(make_app):
    settings = Settings(keymap={"scenario.grade": "f7", "no.such-binding": "f12"})
    app = make_app("scenario", "gpu-limits", settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "no.such-binding" in notifications(app)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.screen.last_report is None  # ctrl+r no longer grades
        await pilot.press("f7")
        await settle(pilot)
        assert app.screen.last_report is not None


async def test_corrupt_progress_database_is_moved_aside(make_app):
    db = data_dir() / "progress.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "could not be read" in notifications(app)
        await pilot.press("ctrl+r")
        await settle(pilot)
    aside = list(db.parent.glob("progress.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    with ProgressStore.open(db) as store:
        assert store.scenario_progress("gpu-limits").attempts == 1


async def test_unwritable_workspace_keeps_the_draft_in_memory(make_app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the workspace should be")
    app = make_app("scenario", "gpu-limits", workspace_dir=blocker / "workspace")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        assert "kept in memory" in notifications(app)
        screen.editor.move_cursor((0, 0))
        await pilot.press(*"# keep me", "enter")
        await pilot.pause(0.7)
        assert screen.drafts.save_failed
        assert "not saved" in str(screen.status.render())
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.last_report is not None  # grading still works
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert len(app.rescued) == 1
    assert app.rescued[0].read_text(encoding="utf-8").startswith("# keep me\n")
    app.rescued[0].unlink()


@pytest.mark.parametrize(
    "start", [("home", None), ("scenario", "gpu-limits"), ("lesson", "serving")]
)
async def test_screens_fit_80_by_24(make_app, start):
    app = make_app(*start)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.size.width == 80


class FakeLive:
    """A LiveService that grades offline and makes up a placement (or fails)."""

    def __init__(self, run: Any) -> None:
        self._run = run
        self.calls = 0

    def run(self, scenario, grader, text, file, *, echo, cancel):
        self.calls += 1
        echo("applying")
        return self._run(grader, text, file)


async def test_check_on_cluster_shows_placement(make_app):
    from app.live.service import LiveRun, NodeGpus

    def grade_live(grader, text, file):
        report = grader.grade_text(text, file)
        report.mode = "live"
        report.placement = [
            Placement("sentiment-5d9c-abcde", "gpu-node-1", "Running"),
            Placement(
                "sentiment-5d9c-fghij",
                None,
                "Pending",
                "0/3 nodes are available: insufficient nvidia.com/gpu",
            ),
        ]
        return LiveRun(report, [NodeGpus("gpu-node-1", 4)])

    live = FakeLive(grade_live)
    app = make_app("scenario", "gpu-limits", live_service=live)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.editor.replace(
            (REPO / "answers/gpu-limits/answer.yaml").read_text(),
            (0, 0),
            app.screen.editor.document.end,
        )
        await pilot.press("ctrl+l")
        await settle(pilot)
        placement = app.screen
        assert isinstance(placement, PlacementScreen)
        table = placement.query_one("#placement-nodes", DataTable)
        assert table.get_row_at(0)[:2] == ["gpu-node-1", "1/4 ■□□□"]
        assert "insufficient nvidia.com/gpu" in str(
            placement.query_one("#placement-pending-text").render()
        )
    assert (
        ProgressStore.open(data_dir() / "progress.db").scenario_progress("gpu-limits").attempts == 1
    )


async def test_check_on_cluster_reports_a_missing_cluster(make_app):
    from app.cluster.errors import ClusterError

    def grade_live(grader, text, file):
        raise ClusterError("no local cluster is up. Start it with `kprep cluster up`")

    live = FakeLive(grade_live)
    app = make_app("scenario", "gpu-limits", live_service=live)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)
        assert "kprep cluster up" in notifications(app)
    assert live.calls == 1


async def test_footer_is_rebuilt_only_when_its_keys_change(make_app, monkeypatch):
    from textual.widgets._footer import FooterKey

    from app.tui.widgets.footer import KeyFooter

    rebuilds: list[str] = []
    recompose = KeyFooter.recompose

    async def counting(self: KeyFooter) -> None:
        rebuilds.append(type(self.screen).__name__)
        await recompose(self)

    monkeypatch.setattr(KeyFooter, "recompose", counting)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert rebuilds == ["HomeScreen"]  # not once per focus change
        footer = app.screen.query_one(KeyFooter)
        keys = [k.key for k in footer.query(FooterKey)]
        assert {"c", "n", "l"} <= set(keys)
        await pilot.press("tab")  # focus moves: the same keys, no rebuild
        await settle(pilot)
        assert rebuilds == ["HomeScreen"]
        app.set_keymap({"home.next": "x"})  # the keys change: rebuilt
        await settle(pilot)
        assert len(rebuilds) == 2
        assert "x" in [k.key for k in footer.query(FooterKey)]
        assert "n" not in [k.key for k in footer.query(FooterKey)]
