"""The scenario screen: wires the prompt and hints, the YAML editor, the results list,
the status line, grading as you type, the draft file and the ways out (reference
answer, follow-ups, the cluster, the next scenario).

The parts do the work: the editor edits YAML, `Grading` grades off the UI thread,
`DraftSync` keeps the file in step, `HintPanel` shows and reports hints, `LiveRunner`
runs the cluster. Services come in through the constructor; what the screen reveals
comes from its `ScenarioMode`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Markdown, TextArea

from app.progress.drafts import DiskChange, DraftSync
from app.progress.visits import VisitClock
from app.tui import keys
from app.tui.external_editor import run_external_editor
from app.tui.messages import (
    GoBack,
    GradeFinished,
    GraderFailed,
    LiveGradeFailed,
    LiveGradeFinished,
    LiveGradeProgress,
    OpenLesson,
    OpenScenario,
)
from app.tui.screens.dialogs import ConfirmScreen, GotoLineScreen
from app.tui.screens.followup import FollowUpScreen
from app.tui.screens.placement import PlacementScreen
from app.tui.services import PRACTICE, ScenarioMode, ScenarioServices
from app.tui.widgets.editor import AnswerEditor, report_marks
from app.tui.widgets.footer import KeyFooter
from app.tui.widgets.grading import Grading
from app.tui.widgets.hints import HintPanel
from app.tui.widgets.live import LiveRunner
from app.tui.widgets.results import ResultsPanel
from app.tui.widgets.status import ScenarioTitle, StatusLine, short_path

if TYPE_CHECKING:
    from app.course.models import Scenario
    from app.grading.report import Report

SAVE_DELAY = 0.5
"""Seconds after the last keystroke before the draft is saved."""
POLL_INTERVAL = 1.0
"""How often the draft file is checked for changes made by another editor."""
TIME_TICK = 15.0
"""How often time spent is written to the progress database."""


class ScenarioScreen(Screen[None]):
    """One scenario: read, write YAML, see checks as you type, grade, get hints, compare."""

    AUTO_FOCUS = "#editor"
    BINDINGS: ClassVar[list[BindingType]] = keys.SCENARIO_BINDINGS

    def __init__(
        self,
        scenario: Scenario,
        services: ScenarioServices,
        *,
        mode: ScenarioMode = PRACTICE,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.services = services
        self.mode = mode
        """What this screen reveals (practice: everything)."""
        self.drafts = DraftSync(services.workspace, scenario.id)
        self.editor = AnswerEditor(id="editor", cursor_blink=cursor_blink)
        self.results = ResultsPanel(id="results")
        self.status = StatusLine(id="status-line")
        self.grading = Grading(scenario, services.crd_dir)
        self._history_problem = ""
        self.passed_before = False
        hints_used = 0
        try:
            self.passed_before = services.store.passed(scenario.id)
            hints_used = services.store.hints_used(scenario.id)
        except Exception as exc:  # noqa: BLE001 - ProgressError; keep going without history
            self._history_problem = f"progress unavailable: {exc}"
        self.hint_panel = HintPanel(scenario.hints, already_shown=hints_used, id="hints")
        self.title_bar = ScenarioTitle(
            scenario.title,
            f"{scenario.id} · {scenario.track} · {scenario.difficulty}",
            id="scenario-title",
        )
        self.last_report: Report | None = None
        """The last recorded attempt (ctrl+r or live) on this visit."""
        self.latest_report: Report | None = None
        """The newest grade of the current text, recorded or not (the quit summary's)."""
        self.shown_version = -1
        """The editor version whose results are on screen (the benchmark waits on it)."""
        self._seen_text = ""
        self._save_timer: Timer | None = None
        self.visit = VisitClock(services.record, scenario.id, services.last_input_at)
        """Time spent on this visit."""
        self._flushed = False

    @property
    def version(self) -> int:
        """Counts editor changes."""
        return self.grading.version

    @property
    def hints_shown(self) -> int:
        return self.hint_panel.shown

    # -- layout and start ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.title_bar
        with Horizontal(id="scenario-body"):
            with VerticalScroll(id="brief"):
                yield Markdown(self.scenario.prompt, id="prompt", open_links=False)
                if self.mode.hints:
                    yield self.hint_panel
            with Vertical(id="work"):
                yield self.editor
                yield self.status
                yield self.results
        yield self.grading
        yield LiveRunner(self.services.live)
        yield KeyFooter()

    def on_mount(self) -> None:
        scenario = self.scenario
        if self._history_problem:
            self.notify(self._history_problem, severity="error")
        self.title_bar.passed_before = self.passed_before
        self.title_bar.mode = "" if self.mode == PRACTICE else self.mode.name
        draft = self.drafts.open(scenario)
        self.grading.file_name = str(self.drafts.path)
        self._seen_text = draft.text
        self.editor.load_text(draft.text)
        for text, severity in self.drafts.open_messages(draft):
            self.notify(text, title="Workspace", severity=severity, timeout=15)
        self.visit.start()
        self._update_status()
        self.grading.grade_now(draft.text, explicit=False)
        self.set_interval(POLL_INTERVAL, self._poll_disk, name="poll-draft")
        self.set_interval(TIME_TICK, self.visit.tick, name="time-spent")

    # -- grading results ------------------------------------------------------------------

    @on(GraderFailed)
    def _grader_failed(self, message: GraderFailed) -> None:
        self.notify(f"the grader could not start: {message.error}", severity="error", timeout=15)

    @on(GradeFinished)
    def _grade_finished(self, message: GradeFinished) -> None:
        report = message.report
        current = message.version == self.version
        if current:
            self.latest_report = report
            self._show(report, recorded=message.explicit)
            self.shown_version = message.version
        if message.explicit:
            self._record_attempt(report, "" if current else "answer changed since")

    def _show(self, report: Report, *, recorded: bool, note: str = "") -> None:
        """Problems always; checks when recorded or when the mode shows them as you type."""
        show_checks = recorded or self.mode.checks_as_you_type
        if show_checks:
            self.results.show_checks(
                report.checks, note or ("recorded" if recorded else "as you type")
            )
            self.status.failing = sum(1 for c in report.checks if c.status != "pass") or (
                0 if report.passed else None
            )
        self.editor.set_marks(report_marks(report, checks=show_checks))
        self.results.show_diagnostics(report.errors)
        self._update_status()

    def _record_attempt(self, report: Report, note: str) -> None:
        self.last_report = report
        if note:
            self.results.show_checks(report.checks, note)
        first_pass = report.passed and not self.passed_before
        hints = self.hints_shown
        self.services.record("attempt", lambda s: s.record_attempt(report, hints))
        self.title_bar.score = (report.score, report.max_score)
        self.title_bar.passed = report.passed
        if report.passed:
            self.passed_before = self.title_bar.passed_before = True
            self.refresh_bindings()
            extra = []
            if first_pass and self.scenario.follow_ups and self.mode.follow_ups:
                extra.append("ctrl+f: the follow-up questions")
            extra.append("F7: the next scenario")
            self.notify(
                f"All checks pass: {report.score}/{report.max_score}. {'; '.join(extra)}.",
                title="Passed",
                timeout=8 if first_pass else 5,
            )

    # -- editing, saving, reloading ---------------------------------------------------------

    @on(TextArea.Changed, "#editor")
    def _text_changed(self, event: TextArea.Changed) -> None:
        text = self.editor.text
        if text == self._seen_text:
            return  # load_text posts Changed too, after the fact
        self._seen_text = text
        self.grading.edited(text)
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.save_draft, name="save-draft")
        if self.last_report is not None:
            self.results.mark_checks_stale(
                "as you type" if self.mode.checks_as_you_type else "edited since"
            )
        self._update_status()

    @on(TextArea.SelectionChanged, "#editor")
    def _cursor_moved(self, event: TextArea.SelectionChanged) -> None:
        self._update_status()

    def save_draft(self) -> bool:
        """Write the editor's text to the draft file if it changed; False if that failed."""
        outcome = self.drafts.save(self.editor.text)
        if outcome.message:
            self.notify(outcome.message, title="Workspace", severity=outcome.severity, timeout=15)
        self._update_status()
        return outcome.saved

    def _poll_disk(self) -> None:
        self._apply_disk_change(self.drafts.poll(self.editor.text))

    def reload_from_disk(self) -> None:
        """Take the file's text after another editor ran (unless the buffer has edits)."""
        self._apply_disk_change(self.drafts.reload(self.editor.text))

    def _apply_disk_change(self, change: DiskChange | None) -> None:
        if change is None:
            return
        if change.kind == "reload":
            self.editor.replace_all(change.text)
        title = "Draft changed on disk" if change.kind == "conflict" else "Workspace"
        self.notify(change.message, title=title, severity=change.severity, timeout=15)

    def _update_status(self) -> None:
        status, editor = self.status, self.editor
        row, column = editor.cursor_location
        status.cursor = (row + 1, column + 1)
        status.here, status.here_severity = self.results.note_at_line(row + 1)
        if self.drafts.save_failed:
            status.save_state = "failed"
        else:
            status.save_state = "unsaved" if self.drafts.unsaved(editor.text) else "saved"
        status.hints = (self.hints_shown, len(self.scenario.hints)) if self.mode.hints else None
        status.path = self.drafts.path

    def flush_before_exit(self) -> Path | None:
        """Save the draft and the time spent; returns a rescue file if the save failed.

        Runs once (on quit, on a signal, or when the screen goes away), whichever is first."""
        if self._flushed:
            return None
        self._flushed = True
        if self._save_timer is not None:
            self._save_timer.stop()
        self.visit.tick()
        return self.drafts.flush(self.editor.text)

    def exit_summary(self) -> str:
        """What was saved, in one line (for the app's summary on quit)."""
        report = self.latest_report
        checks = ""
        if report is not None and report.checks and self.mode.checks_as_you_type:
            passing = sum(1 for c in report.checks if c.status == "pass")
            checks = f", {passing}/{len(report.checks)} checks pass"
        return f"saved {self.scenario.id} to {short_path(self.drafts.path)}{checks}"

    def on_screen_suspend(self) -> None:
        self.save_draft()
        self.visit.tick()

    def on_screen_resume(self) -> None:
        self.visit.resume()

    def on_unmount(self) -> None:
        self.flush_before_exit()

    def action_hint(self) -> None:
        if self.hint_panel.left <= 0:
            self.notify("No more hints. The reference answer is behind ctrl+o.")
            return
        self.hint_panel.shown += 1

    @on(HintPanel.Shown)
    def _hint_shown(self, message: HintPanel.Shown) -> None:
        scenario_id, index = self.scenario.id, message.index
        self.services.record("hint", lambda s: s.record_hint(scenario_id, index))
        self._update_status()

    # -- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        mode = self.mode
        if action == "follow_ups":
            return mode.follow_ups and self.passed_before and bool(self.scenario.follow_ups)
        if action == "next_scenario":
            return self.passed_before
        allowed = {
            "hint": mode.hints,
            "reference": mode.reference,
            "lesson": mode.lesson,
            "explain": mode.checks_as_you_type or self.last_report is not None,
        }
        return allowed.get(action, True)

    def action_grade(self) -> None:
        # ctrl+r is a priority binding, handled before the editor has applied keys typed just
        # before it; grade once the editor's queue is empty so the attempt is what was typed.
        self.editor.call_later(self._grade_now)

    def _grade_now(self) -> None:
        self.save_draft()
        self.grading.grade_now(self.editor.text, explicit=True)

    def action_next_problem(self) -> None:
        target = self.results.highlight_next_target()
        if target is None:
            self.notify("Nothing to jump to: no failed check or problem has a line.")
            return
        self.editor.goto_line(*target)

    def action_explain(self) -> None:
        """The full teaching text of the check at the cursor's line (or the highlighted one)."""
        results = self.results
        check = results.check_at_line(self.editor.cursor_location[0] + 1)
        shown = results.toggle_details(check.id if check is not None else None)
        if shown is None:
            self.notify("No failing check here: move to a line marked ✗, or pick one with F6.")
            return
        results.highlighted = results.get_option_index(f"c:{shown}")
        results.scroll_to_highlight()

    def action_goto_line(self) -> None:
        def go(line: int | None) -> None:
            if line is not None:
                self.editor.goto_line(line)

        self.app.push_screen(GotoLineScreen(self.editor.document.line_count), go)

    @on(ResultsPanel.Jump)
    def _jump(self, message: ResultsPanel.Jump) -> None:
        self.editor.goto_line(message.line, message.column)

    def action_cycle_focus(self) -> None:
        """F6: editor, then the results list, then the prompt and hints, then the editor."""
        if self.editor.has_focus:
            self.results.focus()
            if self.results.highlighted is None:
                self.results.highlighted = self.results.first_failure_index()
        elif self.results.has_focus:
            self.query_one("#brief", VerticalScroll).focus()
        else:
            self.editor.focus()

    def action_focus_editor(self) -> None:
        self.editor.focus()

    def action_back(self) -> None:
        self.save_draft()
        self.post_message(GoBack())

    def action_lesson(self) -> None:
        self.post_message(OpenLesson(self.scenario.lesson_track, self.scenario.lesson_section))

    def action_next_scenario(self) -> None:
        self.save_draft()
        following = self.services.next_scenario(self.scenario.id)
        if following is None:
            self.notify("Every scenario is solved. Well done!")
            return
        self.post_message(OpenScenario(following))

    def action_reset(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                starter = self.scenario.starter_text()
            except OSError as exc:
                self.notify(f"cannot read the starter: {exc}", severity="error")
                return
            backup = self.drafts.backup(self.editor.text)
            self.editor.replace_all(starter)
            self.editor.move_cursor((0, 0))
            self.save_draft()
            kept = f" Your draft is kept in {short_path(backup)}." if backup else ""
            self.notify(f"Starter restored (ctrl+z undoes it).{kept}", timeout=8)

        self.app.push_screen(ConfirmScreen.restore_starter(short_path(self.drafts.path)), confirmed)

    def action_reference(self) -> None:
        from app.tui.screens.reference import ReferenceScreen  # deferred: start-up cost (tabs)

        scenario = self.scenario

        def show(yes: bool | None = True) -> None:
            if not yes:
                return
            reference = ReferenceScreen.load(scenario, self.editor.text)
            if isinstance(reference, str):
                self.notify(reference, severity="error")
                return
            before_pass = not self.passed_before
            self.services.record("reveal", lambda s: s.record_reveal(scenario.id, before_pass))
            self.app.push_screen(reference)

        try:
            revealed = self.services.store.revealed(scenario.id)
        except Exception:  # noqa: BLE001 - ProgressError: ask, to be safe
            revealed = False
        if self.passed_before or revealed:
            show()
            return
        self.app.push_screen(ConfirmScreen.reveal_before_pass(), show)

    def action_follow_ups(self) -> None:
        # The key is off until a pass (check_action); asked some other way, say why not.
        if self.check_action("follow_ups", ()):
            self.app.push_screen(FollowUpScreen(self.scenario))
        else:
            self.notify("Follow-up questions come after a pass (ctrl+r), if the scenario has any.")

    def action_external_editor(self) -> None:
        if not self.save_draft():
            self.notify(
                "The draft cannot be saved to the workspace, so another editor cannot open it.",
                severity="error",
            )
            return
        outcome = run_external_editor(self.app, self.services.editor_command, self.drafts.path)
        if outcome.message:
            self.notify(outcome.message, severity=outcome.severity, timeout=10)
        if outcome.ran:
            self.reload_from_disk()
            self.editor.focus()

    def action_autoscale(self) -> None:
        from app.tui.screens.autoscale import open_autoscale  # deferred: start-up cost (simulator)

        open_autoscale(self)

    # -- live grading -------------------------------------------------------------------------

    def action_check_live(self) -> None:
        grader = self.grading.grader
        if grader is None:
            self.notify("The grader is still starting; try again in a moment.")
            return
        self.save_draft()
        self.notify("Applying your answer to the local cluster…", title="Cluster")
        self.query_one(LiveRunner).start(
            self.scenario, grader, self.editor.text, str(self.drafts.path)
        )

    @on(LiveGradeProgress)
    def _live_progress(self, message: LiveGradeProgress) -> None:
        self.status.live = message.line

    @on(LiveGradeFailed)
    def _live_failed(self, message: LiveGradeFailed) -> None:
        self.status.live = ""
        self.notify(message.error, title="Cluster", severity="error", timeout=15)

    @on(LiveGradeFinished)
    def _live_finished(self, message: LiveGradeFinished) -> None:
        report = message.report
        self.status.live = ""
        self._show(report, recorded=True, note="live")
        self._record_attempt(report, "")
        for note in report.notes:
            self.notify(note, title="Cluster", severity="warning")
        self.app.push_screen(
            PlacementScreen(self.scenario, report, self.editor.text, message.nodes)
        )
