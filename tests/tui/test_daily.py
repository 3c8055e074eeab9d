"""The scenario screen as a daily tool, with Pilot: the status line, checks as you type,
hints that are seen, short check messages, leaving (keys, signals), the palette, the
next scenario, a mode that hides help, toasts and the footer."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Input
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast
from textual.widgets.text_area import Selection

from app.paths import data_dir
from app.progress.store import ProgressStore
from app.tui.screens.reference import ReferenceScreen
from app.tui.screens.scenario import ScenarioScreen
from app.tui.services import INTERVIEW
from tests.conftest import REPO
from tests.tui.conftest import make_course, notifications, settle, type_text

pytestmark = pytest.mark.tui

SIZE = (100, 32)
ANSWER = (REPO / "answers" / "gpu-limits" / "answer.yaml").read_text(encoding="utf-8")


def store() -> ProgressStore:
    return ProgressStore.open(data_dir() / "progress.db")


def draft_file(scenario_id: str = "gpu-limits") -> Path:
    return data_dir() / "workspace" / f"{scenario_id}.yaml"


async def graded_as_you_type(pilot) -> None:
    """Past the grading debounce, and the grade on screen."""
    await pilot.pause(0.4)
    await settle(pilot)


async def test_status_line_shows_line_and_column(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.move_cursor((5, 3))
        await pilot.pause()
        assert screen.status.cursor == (6, 4)
        assert str(screen.status.render()).startswith("Ln 6, Col 4")


async def test_checks_update_as_you_type_without_recording(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        before = screen.status.failing
        assert before and before > 0
        screen.editor.replace(ANSWER, (0, 0), screen.editor.document.end)
        await graded_as_you_type(pilot)
        assert screen.status.failing == 0
        assert all(c.status == "pass" for c in screen.results.checks)
        assert "check" not in screen.editor.marks.values()
        assert "all checks pass" in str(screen.status.render())
        assert screen.last_report is None  # nothing recorded until ctrl+r
    assert store().scenario_progress("gpu-limits").attempts == 0


async def test_a_new_hint_scrolls_into_view_after_layout_and_counts_once_shown(make_app):
    seen: list[tuple[int, bool]] = []

    def on_message(message) -> None:
        from app.tui.widgets.hints import HintPanel

        if isinstance(message, HintPanel.Shown) and message.index not in dict(seen):
            screen = app.screen
            hint = screen.query_one(f"#hint-{message.index}")
            brief = screen.query_one("#brief")
            visible = brief.scrollable_content_region
            inside = (
                hint.region.height > 0
                and hint.region.y >= visible.y
                and hint.region.bottom <= visible.bottom
            )
            seen.append((message.index, inside))

    app = make_app("scenario", "gpu-limits")
    # 80x24: the prompt fills the pane, so every hint lands below the fold.
    async with app.run_test(size=(80, 24), message_hook=on_message) as pilot:
        await settle(pilot)
        screen = app.screen
        for expected in range(1, 3):
            await pilot.press("ctrl+g")
            await settle(pilot)
            assert screen.hints_shown == expected
        assert seen == [(0, True), (1, True)]
        assert screen.query_one("#brief").scroll_y > 0
    assert store().hints_used("gpu-limits") == 2


async def test_failing_checks_show_short_with_the_teaching_text_one_key_away(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        problem_lines = {d.line for d in screen.results.diagnostics}
        check = next(
            c
            for c in screen.results.checks
            if c.status == "fail" and c.line and c.line not in problem_lines
        )
        prompt = str(screen.results.get_option(f"c:{check.id}").prompt)
        assert check.title in prompt and check.message[:40] not in prompt
        screen.editor.move_cursor((check.line - 1, 0))
        await pilot.pause()
        assert check.title in screen.status.here  # the status line names it, short
        await pilot.press("f2")
        await pilot.pause()
        assert check.message[:40] in str(screen.results.get_option(f"c:{check.id}").prompt)
        assert screen.editor.has_focus
        await pilot.press("f2")  # again: short again
        await pilot.pause()
        assert check.message[:40] not in str(screen.results.get_option(f"c:{check.id}").prompt)
        await pilot.press("f6", "space")  # in the results list, space does the same
        await pilot.pause()
        assert screen.results.expanded


async def test_ctrl_c_copies_a_selection_and_otherwise_saves_and_quits(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.selection = Selection((0, 0), (1, 0))
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.clipboard == "apiVersion: apps/v1\n"
        assert app.is_running and app.screen is screen
        screen.editor.move_cursor((0, 0))
        await pilot.press(*"# mine", "enter", "ctrl+c")
        await pilot.pause()
    assert not app.is_running and app.return_code == 0
    assert draft_file().read_text(encoding="utf-8").startswith("# mine\n")
    assert app.exit_summary.startswith("kprep: saved gpu-limits to ")
    assert "checks pass" in app.exit_summary
    assert app.exit_summary.endswith("next: kprep practice gpu-limits")


async def test_ctrl_q_quits_and_saves(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.editor.move_cursor((0, 0))
        await pilot.press(*"# q", "enter", "ctrl+q")
        await pilot.pause()
    assert app.return_code == 0
    assert draft_file().read_text(encoding="utf-8").startswith("# q\n")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
async def test_sigterm_and_sighup_save_the_draft_and_exit(make_app, signum):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.editor.move_cursor((0, 0))
        await pilot.press(*"# signalled", "enter")  # no wait for the save debounce
        # Without the app's handler the signal would end the test process itself.
        assert signum in app._signals_installed
        os.kill(os.getpid(), signum)
        for _ in range(50):
            if not app.is_running:
                break
            await asyncio.sleep(0.05)
    assert app.return_code == 128 + signum
    assert draft_file().read_text(encoding="utf-8").startswith("# signalled\n")
    # The handlers are the app's only while it runs.
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.default_int_handler)


async def test_a_missing_editor_is_reported_before_the_terminal_is_handed_over(
    make_app, monkeypatch
):
    from app.settings import Settings

    def must_not_suspend(self):
        raise AssertionError("the app suspended for an editor that does not exist")

    app = make_app("scenario", "gpu-limits", settings=Settings(editor="no-such-editor-xyz"))
    monkeypatch.setattr(type(app), "suspend", must_not_suspend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert "cannot run 'no-such-editor-xyz'" in notifications(app)
        assert "Set $VISUAL or $EDITOR" in notifications(app)


async def test_go_to_line(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert isinstance(app.screen.focused, Input)
        await pilot.press("1", "2", "enter")
        await pilot.pause()
        assert app.screen is screen and screen.editor.cursor_location[0] == 11
        assert screen.editor.has_focus


async def test_restoring_the_starter_keeps_a_backup(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.replace("kind: Mine\n", (0, 0), screen.editor.document.end)
        await pilot.press("f9", "y")
        await pilot.pause()
        backups = list((data_dir() / "workspace" / ".backup").glob("gpu-limits.*.yaml"))
        assert [b.read_text() for b in backups] == ["kind: Mine\n"]
        assert ".backup" in notifications(app)


async def _palette(pilot, query: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CommandPalette)
    await type_text(pilot, query)
    await settle(pilot)  # the palette's search worker has listed the matches
    await pilot.press("enter")
    await settle(pilot)


async def test_palette_grades_and_goes_to_a_field(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        await _palette(pilot, "Grade and record")
        assert screen.last_report is not None
        await _palette(pilot, "Go to spec.replicas")
        assert app.screen is screen
        assert screen.editor.document.get_line(screen.editor.cursor_location[0]).strip() == (
            "replicas: 2"
        )
    assert store().scenario_progress("gpu-limits").attempts == 1


@pytest.fixture
def two_scenarios(tmp_path: Path) -> Path:
    root = make_course(tmp_path / "two")
    for part in ("scenarios", "answers"):
        shutil.copytree(REPO / part / "qos-guaranteed", root / part / "qos-guaranteed")
    return root


async def test_after_a_pass_f7_opens_the_next_scenario_in_its_place(make_app, two_scenarios):
    from app.tui.screens.home import HomeScreen

    app = make_app(course=two_scenarios)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.open_scenario("gpu-limits")
        await settle(pilot)
        screen = app.screen
        assert screen.check_action("next_scenario", ()) is False  # not before a pass
        screen.editor.replace(ANSWER, (0, 0), screen.editor.document.end)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "F7" in notifications(app)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)
        assert app.screen.scenario.id == "qos-guaranteed"
        await pilot.press("f3")  # the next one took the passed one's place
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_palette_opens_a_scenario_by_id(make_app, two_scenarios):
    app = make_app(course=two_scenarios)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _palette(pilot, "qos-guaranteed")
        assert isinstance(app.screen, ScenarioScreen)
        assert app.screen.scenario.id == "qos-guaranteed"


async def test_interview_mode_hides_checks_hints_and_the_answer(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.open_scenario("gpu-limits", mode=INTERVIEW)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScenarioScreen) and screen.mode is INTERVIEW
        assert screen.results.checks == [] and "check" not in screen.editor.marks.values()
        assert screen.results.diagnostics  # YAML and API problems still show
        assert not screen.query("#hints")
        await pilot.press("ctrl+g", "ctrl+o")
        await pilot.pause()
        assert app.screen is screen and screen.hints_shown == 0
        footer = [k.action for k in screen.query(FooterKey)]
        assert "hint" not in footer and "reference" not in footer
        assert "interview" in str(screen.title_bar.render())
        await pilot.press("ctrl+r")  # the recorded attempt shows its checks
        await settle(pilot)
        assert screen.results.checks
    assert store().hints_used("gpu-limits") == 0


async def test_toasts_leave_a_dialogs_keys_visible(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.replace(ANSWER, (0, 0), screen.editor.document.end)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ReferenceScreen)
        for n in range(3):
            app.notify(f"toast {n}", timeout=30)
        await pilot.pause(0.3)
        toasts = [t.region for t in dialog.query(Toast)]
        keys = [k.region for k in dialog.query(FooterKey)]
        assert toasts and keys
        assert not any(t.overlaps(k) for t in toasts for k in keys)


@pytest.mark.parametrize("start", [("home", None), ("scenario", "gpu-limits")])
async def test_f1_is_in_the_footer_at_80_columns(make_app, start):
    app = make_app(*start)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        keys = list(app.screen.query(FooterKey))
        help_key = next(k for k in keys if k.action in ("help", "app.help"))
        assert help_key is keys[0]
        assert help_key.region.width > 0 and help_key.region.right <= 80


async def test_ctrl_c_copies_text_selected_with_the_mouse(make_app):
    from textual.selection import Selection as ScreenSelection
    from textual.widgets import Static

    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        hints_left = screen.query_one("#hints-left", Static)
        screen.selections = {hints_left: ScreenSelection(None, None)}  # as a mouse drag does
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and "ctrl+g" in app.clipboard


async def test_the_palettes_own_quit_saves_and_summarises(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.editor.move_cursor((0, 0))
        await pilot.press(*"# palette", "enter")
        await _palette(pilot, "Quit")
    assert not app.is_running
    assert draft_file().read_text(encoding="utf-8").startswith("# palette\n")
    assert app.exit_summary.startswith("kprep: saved gpu-limits")


async def test_quitting_from_home_says_what_to_try_next(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.exit_summary == "kprep: progress saved · next: kprep practice gpu-limits"
