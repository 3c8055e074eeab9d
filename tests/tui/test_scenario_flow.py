"""The scenario screen with Pilot: type, grade, jump, hints, reveal, follow-ups, drafts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.paths import data_dir
from app.progress.store import ProgressStore
from app.tui.screens.dialogs import ConfirmScreen
from app.tui.screens.followup import FollowUpScreen
from app.tui.screens.reference import ReferenceScreen
from app.tui.screens.scenario import ScenarioScreen
from tests.conftest import REPO
from tests.tui.conftest import notifications, settle, type_text

pytestmark = pytest.mark.tui

SIZE = (100, 32)
ANSWER = (REPO / "answers" / "gpu-limits" / "answer.yaml").read_text(encoding="utf-8")


def store() -> ProgressStore:
    return ProgressStore.open(data_dir() / "progress.db")


def draft_file() -> Path:
    return data_dir() / "workspace" / "gpu-limits.yaml"


def shown_hints(screen: ScenarioScreen) -> str:
    """The text of the hints on screen."""
    return "\n".join(str(hint.render()) for hint in screen.query(".hint"))


def replace_text(screen: ScenarioScreen, text: str) -> None:
    editor = screen.editor
    editor.replace(text, (0, 0), editor.document.end)


async def test_open_scenario_shows_starter_and_live_diagnostics(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        starter = screen.scenario.starter_text()
        assert screen.editor.text == starter
        assert draft_file().read_text(encoding="utf-8") == starter
        # The starter's half GPU is flagged on its line before anything is asked.
        assert 28 in screen.editor.marks
        assert any("must be an integer" in d.message for d in screen.results.diagnostics)
        # Checks as you type: the starter says at once how many checks it fails, the
        # gutter marks their lines, and nothing is recorded.
        failing = [c for c in screen.results.checks if c.status != "pass"]
        assert failing and screen.status.failing == len(failing)
        assert f"{len(failing)} check(s) fail" in str(screen.status.render())
        problem_lines = {d.line for d in screen.results.diagnostics}
        marked = next(c.line for c in failing if c.line and c.line not in problem_lines)
        assert marked is not None and screen.editor.marks[marked] == "check"
        assert "as you type" in str(screen.results.get_option("h:checks").prompt)
    assert store().scenario_progress("gpu-limits").attempts == 0


async def test_typing_saves_the_draft_and_grades_as_you_type(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.move_cursor((0, 0))
        await pilot.press(*"oops: [", "enter")
        await pilot.pause(0.7)  # past the grade (0.3 s) and save (0.5 s) debounces
        await settle(pilot)
        assert screen.editor.text.startswith("oops: [\n")
        assert draft_file().read_text(encoding="utf-8").startswith("oops: [\n")
        assert any(d.source == "yaml" for d in screen.results.diagnostics)
        assert screen.editor.marks  # the syntax error is marked on its line


async def test_grade_pass_records_the_attempt(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.last_report is not None and not screen.last_report.passed
        statuses = {c.id: c.status for c in screen.results.checks}
        assert statuses["gpu-in-limits"] == "fail" and statuses["cpu-request"] == "pass"
        replace_text(screen, ANSWER)
        await pilot.press("f5")
        await settle(pilot)
        assert screen.last_report.passed
        assert screen.last_report.score == screen.scenario.max_score
        assert "Passed" in notifications(app)
    progress = store().scenario_progress("gpu-limits")
    assert progress.attempts == 2 and progress.passed
    assert progress.best_score == progress.max_score == 8


async def test_choosing_a_failed_check_moves_the_cursor_to_its_line(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("ctrl+r")
        await settle(pilot)
        failed = next(c for c in screen.results.checks if c.status == "fail" and c.line)
        await pilot.press("f6")  # focus the results list
        results = screen.results
        results.highlighted = results.get_option_index(f"c:{failed.id}")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.editor.has_focus
        assert screen.editor.cursor_location[0] == failed.line - 1
        # ctrl+n walks through every entry that has a line.
        screen.editor.move_cursor((0, 0))
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.editor.cursor_location[0] != 0


async def test_hints_one_at_a_time_and_counted(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        hints = screen.scenario.hints
        await pilot.press("ctrl+g")
        await pilot.pause()
        shown = shown_hints(screen)
        assert hints[0].text[:30] in shown and hints[1].text[:30] not in shown
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert screen.hints_shown == 2
        for _ in range(len(hints)):
            await pilot.press("ctrl+g")
        await pilot.pause()
        assert screen.hints_shown == len(hints)
        assert "No more hints" in notifications(app)
    assert store().hints_used("gpu-limits") == len(hints)


async def test_reference_answer_needs_confirmation_before_a_pass(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)
        assert not store().revealed("gpu-limits")
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ReferenceScreen)
        diff = str(app.screen.query_one("#diff-text").render())
        assert '-              nvidia.com/gpu: "0.5"' in diff
        assert "+              nvidia.com/gpu: 1" in diff
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)
    progress = store().scenario_progress("gpu-limits")
    assert progress.revealed and progress.revealed_before_pass


async def test_reference_answer_opens_directly_after_a_pass(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        replace_text(app.screen, ANSWER)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, ReferenceScreen)
        assert "identical" in str(app.screen.query_one("#diff-text").render())
    assert not store().scenario_progress("gpu-limits").revealed_before_pass


async def test_follow_ups_after_passing_with_self_grades(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.check_action("follow_ups", ()) is False  # hidden until passed
        replace_text(screen, ANSWER)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+f")
        await pilot.pause()
        followup = app.screen
        assert isinstance(followup, FollowUpScreen)
        await type_text(pilot, "no memory cap")
        await pilot.press("ctrl+r")
        await pilot.pause()
        model = str(followup.query_one("#followup-model").render())
        assert "Key points" in model and "Model answer" in model
        await pilot.press("3")
        await pilot.pause()
        assert followup.index == 1 and not followup.revealed
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        asked = len(screen.scenario.follow_ups)
        for _ in range(asked - 2):
            await pilot.press("ctrl+r")
            await pilot.pause()
            await pilot.press("4")
            await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)
    grades = store().self_grades("gpu-limits")
    assert [(g.question_index, g.grade) for g in grades][:2] == [(0, "good"), (1, "again")]
    assert len(grades) == asked
    assert grades[0].answer == "no memory cap"


async def test_quit_with_ctrl_c_keeps_the_draft_and_progress(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.move_cursor((0, 0))
        await pilot.press(*"# mine", "enter")
        await pilot.press("ctrl+g", "ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+c")  # no debounce wait: quitting saves
        await pilot.pause()
    assert app.return_code == 0
    assert draft_file().read_text(encoding="utf-8").startswith("# mine\n")
    resumed = make_app("scenario", "gpu-limits")
    async with resumed.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resumed.screen
        assert screen.editor.text.startswith("# mine\n")
        assert screen.hints_shown == 1
        assert "Hint 1/3" in shown_hints(screen)
    assert store().scenario_progress("gpu-limits").attempts == 1


async def test_change_made_in_another_editor_is_picked_up(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        draft_file().write_text(ANSWER, encoding="utf-8")
        stat = draft_file().stat()
        os.utime(draft_file(), ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
        screen._poll_disk()  # what the 1 s interval calls
        await pilot.pause()
        assert screen.editor.text == ANSWER
        assert "Reloaded" in notifications(app)
        # With unsaved edits in the buffer, the buffer wins and the candidate is told.
        screen.editor.insert("# unsaved\n", (0, 0))
        draft_file().write_text("kind: Other\n", encoding="utf-8")
        os.utime(draft_file(), ns=(stat.st_atime_ns, stat.st_mtime_ns + 9_000_000_000))
        screen._poll_disk()
        await pilot.pause()
        assert screen.editor.text.startswith("# unsaved\n")
        assert "changed on disk" in notifications(app)


async def test_external_editor_edits_the_draft(make_app, tmp_path, monkeypatch):
    from app.settings import Settings

    script = tmp_path / "fake-editor"
    script.write_text(f'#!/bin/sh\ncp {REPO / "answers/gpu-limits/answer.yaml"} "$1"\n')
    script.chmod(0o755)
    app = make_app("scenario", "gpu-limits", settings=Settings(editor=str(script)))
    # Headless runs cannot hand the terminal over; pretend the suspension worked.
    monkeypatch.setattr(type(app), "suspend", _no_suspend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert app.screen.editor.text == ANSWER


class _NoSuspend:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _no_suspend(self: object) -> _NoSuspend:
    return _NoSuspend()


async def test_reset_restores_the_starter_after_confirmation(make_app):
    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        replace_text(screen, ANSWER)
        await pilot.press("f9")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        starter = screen.scenario.starter_text()
        assert screen.editor.text == starter
        assert draft_file().read_text(encoding="utf-8") == starter
        screen.editor.focus()
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert screen.editor.text == ANSWER


async def test_escape_never_leaves_the_scenario_and_f3_goes_home(make_app):
    from app.tui.screens.home import HomeScreen

    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("escape")  # leaves the editor for the results list
        assert screen.results.has_focus
        await pilot.press("escape")  # from the results list: back to the editor
        await pilot.pause()
        assert app.screen is screen and screen.editor.has_focus
        await pilot.press("f6", "f6")  # the prompt and hints pane
        assert screen.query_one("#brief").has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and screen.editor.has_focus
        await pilot.press("f3")  # opened directly: back leads home
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
