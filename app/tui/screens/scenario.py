"""The scenario screen: the prompt beside the YAML editor, results, hints, and the
ways out (reference answer, follow-ups, the cluster).

Drafts: saved atomically to the workspace 0.5 s after the last change, reloaded
when another editor changes the file (polled every second), kept in memory when
the workspace cannot be written. Grading: offline, in a thread worker, 0.3 s
after the last change (diagnostics only) and on ctrl+r (a recorded attempt).
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Markdown, Static, TextArea

from app.cluster.errors import ClusterError
from app.course.models import Scenario
from app.progress.workspace import WorkspaceError, rescue
from app.tui import keys
from app.tui.messages import (
    GradeFinished,
    GraderFailed,
    GraderReady,
    LiveGradeFailed,
    LiveGradeFinished,
    LiveGradeProgress,
)
from app.tui.widgets.editor import AnswerEditor, Severity
from app.tui.widgets.footer import KeyFooter
from app.tui.widgets.results import ResultsPanel

if TYPE_CHECKING:
    from app.grading.engine import Grader
    from app.live.service import LiveService
    from app.tui.app import KprepApp

GRADE_DELAY = 0.3
"""Seconds after the last keystroke before grading as you type."""
SAVE_DELAY = 0.5
"""Seconds after the last keystroke before the draft is saved."""
POLL_INTERVAL = 1.0
"""How often the draft file is checked for changes made by another editor."""
TIME_TICK = 15.0
"""How often time spent is written to the progress database."""
IDLE_AFTER = 120.0
"""Seconds without a key press after which time stops counting."""


class ScenarioScreen(Screen[None]):
    """One scenario: read, write YAML, grade, get hints, compare, answer follow-ups."""

    AUTO_FOCUS = "#editor"
    BINDINGS: ClassVar[list[BindingType]] = keys.SCENARIO_BINDINGS

    def __init__(self, scenario: Scenario, *, live: LiveService, cursor_blink: bool = True) -> None:
        super().__init__()
        self.scenario = scenario
        self.live = live
        """Runs the answer on the local cluster (ctrl+l)."""
        self.grader: Any = None
        """The scenario's Grader, built in a worker on mount."""
        self.draft_path: Path | None = None
        self.version = 0
        """Counts editor changes; a grade result for an older version is stale."""
        self.saved_text: str | None = None
        """The text last written to (or read from) the draft file."""
        self.disk_mtime: int | None = None
        self.save_failed = False
        """The last save failed: the draft is only in memory."""
        self.last_report: Any = None
        """The report of the last explicit grade (ctrl+r or live)."""
        self.last_report_version = -1
        self.passed_before = False
        self.hints_shown = 0
        self.last_grade_ms: float | None = None
        self.shown_version = -1
        """The editor version whose diagnostics are on screen (the benchmark waits on it)."""
        self._pending_grade: bool | None = None
        self._grade_lock = threading.Lock()
        self._grade_timer: Timer | None = None
        self._save_timer: Timer | None = None
        self._visit_id: int | None = None
        self._tick_at = time.monotonic()
        self._conflict_notified_mtime: int | None = None
        self._seen_text = ""
        self._editor = AnswerEditor(id="editor", cursor_blink=cursor_blink)
        self._results = ResultsPanel(id="results")
        self._flushed = False
        self._live_cancel = threading.Event()
        """Set when the screen goes away, so a live run stops waiting for the scheduler."""
        self._live_status = ""
        self._status_plain = ""

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    @property
    def editor(self) -> AnswerEditor:
        """The editor (kept as an attribute so it can be read after the screen unmounts)."""
        return self._editor

    @property
    def results(self) -> ResultsPanel:
        return self._results

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        scenario = self.scenario
        yield Static(self._title_text(), id="scenario-title")
        with Horizontal(id="scenario-body"):
            with VerticalScroll(id="brief"):
                yield Markdown(scenario.prompt, id="prompt", open_links=False)
                yield Static(id="hints")
            with Vertical(id="work"):
                yield self._editor
                yield Static(id="status-line")
                yield self._results
        yield KeyFooter()

    def _title_text(self) -> Text:
        s = self.scenario
        text = Text()
        text.append(f" {s.title}", style="bold")
        text.append(f"  {s.id} · {s.track} · {s.difficulty}", style="dim")
        if self.last_report is not None:
            r = self.last_report
            text.append(f"  score {r.score}/{r.max_score}", style="bold")
            if r.passed:
                text.append("  ✓ passed", style="bold green")
        elif self.passed_before:
            text.append("  ✓ passed before", style="green")
        return text

    async def on_mount(self) -> None:
        kapp = self.kapp
        store = kapp.store
        scenario = self.scenario
        try:
            self.passed_before = store.passed(scenario.id)
            self.hints_shown = min(store.hints_used(scenario.id), len(scenario.hints))
        except Exception as exc:  # noqa: BLE001 - ProgressError; keep going without history
            kapp.notify(f"progress unavailable: {exc}", severity="error")
        self._show_hints()
        draft = kapp.workspace.load(scenario)
        self.draft_path = draft.path
        self._seen_text = draft.text
        self.editor.load_text(draft.text)
        if draft.notice:
            kapp.notify(draft.notice, title="Workspace", severity="warning", timeout=15)
        if draft.problem is None:
            self.saved_text = draft.text
            self.disk_mtime = draft.mtime_ns
        else:
            self.save_failed = True
            kapp.notify(
                f"{draft.problem}. Your draft is kept in memory; nothing is lost while kprep runs.",
                title="Workspace",
                severity="error",
                timeout=15,
            )
        kapp.record("time", lambda s: setattr(self, "_visit_id", s.start_visit(scenario.id)))
        self._tick_at = time.monotonic()
        self.query_one("#scenario-title", Static).update(self._title_text(), layout=False)
        self._update_status()
        self.kapp.first_screen_ready()
        self.set_interval(POLL_INTERVAL, self._poll_disk, name="poll-draft")
        self.set_interval(TIME_TICK, self._tick_time, name="time-spent")
        self.build_grader()

    # -- grading ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="grader", exit_on_error=False)
    def build_grader(self) -> None:
        try:
            from app.grading.engine import Grader

            grader = Grader(self.scenario, crd_dir=self.kapp.course.crd_dir)
        except Exception as exc:  # noqa: BLE001 - reported to the candidate, never a crash
            self.post_message(GraderFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(GraderReady(grader))

    @on(GraderReady)
    def _grader_ready(self, message: GraderReady) -> None:
        self.grader = message.grader
        pending, self._pending_grade = self._pending_grade, None
        self._start_grade(explicit=bool(pending))

    @on(GraderFailed)
    def _grader_failed(self, message: GraderFailed) -> None:
        self.notify(f"the grader could not start: {message.error}", severity="error", timeout=15)

    def _start_grade(self, explicit: bool) -> None:
        if self.grader is None:
            self._pending_grade = bool(self._pending_grade) or explicit
            return
        self.grade_worker(self.grader, self.editor.text, self.version, explicit)

    @work(thread=True, exclusive=True, group="grade", exit_on_error=False)
    def grade_worker(self, grader: Any, text: str, version: int, explicit: bool) -> None:
        started = time.perf_counter()
        file = str(self.draft_path) if self.draft_path else "<answer>"
        try:
            with self._grade_lock:
                report = grader.grade_text(text, file)
        except Exception as exc:  # noqa: BLE001 - the engine should not raise; never crash
            from app.grading.report import Diagnostic, Report

            report = Report(scenario=self.scenario.id, file=file, max_score=self.scenario.max_score)
            report.errors.append(Diagnostic(f"the grader failed: {exc}", "yaml"))
        elapsed = (time.perf_counter() - started) * 1000
        self.post_message(GradeFinished(report, version, explicit, elapsed))

    @on(GradeFinished)
    def _grade_finished(self, message: GradeFinished) -> None:
        report = message.report
        self.last_grade_ms = message.elapsed_ms
        current = message.version == self.version
        if current:
            self._show_diagnostics(report.errors)
            self.shown_version = message.version
        if not message.explicit:
            return
        self.last_report = report
        self.last_report_version = message.version
        self.results.show_checks(report.checks, "" if current else "answer changed since")
        first_pass = report.passed and not self.passed_before
        self.kapp.record("attempt", lambda s: s.record_attempt(report, self.hints_shown))
        if report.passed:
            self.passed_before = True
            self.refresh_bindings()
        self.query_one("#scenario-title", Static).update(self._title_text(), layout=False)
        if first_pass:
            extra = " Press ctrl+f for the follow-up questions." if self.scenario.follow_ups else ""
            self.notify(
                f"All checks pass: {report.score}/{report.max_score}.{extra}",
                title="Passed",
                timeout=8,
            )
        elif report.passed:
            self.notify(f"All checks pass: {report.score}/{report.max_score}.", title="Passed")
        self._update_status()

    def _show_diagnostics(self, diagnostics: list[Any]) -> None:
        marks: dict[int, Severity] = {}
        for diagnostic in diagnostics:
            if diagnostic.line and marks.get(diagnostic.line) != "error":
                marks[diagnostic.line] = diagnostic.severity
        self.editor.set_marks(marks)
        self.results.show_diagnostics(list(diagnostics))
        self._update_status()

    # -- editing, saving, reloading -----------------------------------------------------

    @on(TextArea.Changed, "#editor")
    def _text_changed(self, event: TextArea.Changed) -> None:
        text = self.editor.text
        if text == self._seen_text:
            return  # load_text posts Changed too, after the fact
        self._seen_text = text
        self.version += 1
        if self._grade_timer is not None:
            self._grade_timer.stop()
        self._grade_timer = self.set_timer(
            GRADE_DELAY, lambda: self._start_grade(False), name="grade-as-you-type"
        )
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.save_draft, name="save-draft")
        if self.last_report is not None and self.last_report_version != self.version:
            self.results.mark_checks_stale("edited since")
        self._update_status()

    @on(TextArea.SelectionChanged, "#editor")
    def _cursor_moved(self, event: TextArea.SelectionChanged) -> None:
        self._update_status()

    def save_draft(self) -> bool:
        """Write the editor's text to the draft file if it changed; False if that failed."""
        text = self.editor.text
        if text == self.saved_text and not self.save_failed:
            return True
        try:
            mtime = self.kapp.workspace.save(self.scenario.id, text)
        except WorkspaceError as exc:
            if not self.save_failed:
                self.notify(
                    f"{exc}. Your draft is kept in memory; nothing is lost while kprep "
                    "runs, and on exit it is copied to the temp folder.",
                    title="Workspace",
                    severity="error",
                    timeout=15,
                )
            self.save_failed = True
            self._update_status()
            return False
        if self.save_failed:
            self.notify(f"Draft saved to {self.draft_path}.", title="Workspace")
        self.save_failed = False
        self.saved_text = text
        self.disk_mtime = mtime
        self._update_status()
        return True

    def _poll_disk(self) -> None:
        mtime = self.kapp.workspace.mtime_ns(self.scenario.id)
        if mtime is None or mtime == self.disk_mtime:
            return
        self.reload_from_disk(mtime)

    def reload_from_disk(self, mtime: int | None = None) -> None:
        """Take the file's text if the buffer has no unsaved edits; else warn once."""
        try:
            text = self.kapp.workspace.read(self.scenario.id)
        except WorkspaceError as exc:
            self.notify(str(exc), severity="error")
            self.disk_mtime = mtime
            return
        mtime = mtime if mtime is not None else self.kapp.workspace.mtime_ns(self.scenario.id)
        if text == self.editor.text:
            self.saved_text, self.disk_mtime = text, mtime
            return
        if self.editor.text == self.saved_text:
            editor = self.editor
            row, column = editor.cursor_location
            editor.replace(text, (0, 0), editor.document.end)
            self.saved_text, self.disk_mtime = text, mtime
            line_count = editor.document.line_count
            editor.move_cursor((min(row, line_count - 1), column))
            self.notify(f"Reloaded {self.draft_path} (changed outside kprep).")
            return
        if self._conflict_notified_mtime != mtime:
            self._conflict_notified_mtime = mtime
            self.notify(
                f"{self.draft_path} changed outside kprep, and you have unsaved edits "
                "here; kprep keeps yours and will overwrite the file when it saves.",
                title="Draft changed on disk",
                severity="warning",
                timeout=15,
            )
        self.disk_mtime = mtime

    def _update_status(self) -> None:
        try:
            status = self.query_one("#status-line", Static)
        except Exception:  # noqa: BLE001 - not mounted yet
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        row = self.editor.cursor_location[0] + 1
        here = [d for d in self.results.diagnostics if d.line == row]
        if self._live_status:
            text.append("cluster: ", style="bold")
            text.append(self._live_status)
        elif here:
            text.append(f"L{row}: ", style="bold")
            text.append(here[0].message)
        else:
            text.append(f"L{row}", style="bold")
            if self.save_failed:
                text.append("  not saved (workspace not writable)", style="bold red")
            elif self.editor.text != self.saved_text:
                text.append("  ● unsaved", style="yellow")
            else:
                text.append("  saved", style="dim")
            report = self.last_report
            if report is not None and not report.passed:
                failing = sum(1 for c in report.checks if c.status != "pass")
                if failing:
                    text.append(f"  {failing} check(s) to fix (ctrl+n)", style="dim")
            text.append(f"  hints {self.hints_shown}/{len(self.scenario.hints)}", style="dim")
            text.append(f"  {_short_path(self.draft_path)}", style="dim")
        if text.plain == self._status_plain:
            return
        self._status_plain = text.plain
        status.update(text, layout=False)  # one fixed line: repaint, no layout pass

    # -- time spent -------------------------------------------------------------------------

    def _tick_time(self) -> None:
        now = time.monotonic()
        elapsed = now - self._tick_at
        self._tick_at = now
        if self._visit_id is None or now - self.kapp.last_input_at > IDLE_AFTER:
            return
        visit_id = self._visit_id
        self.kapp.record("time", lambda s: s.add_time(visit_id, elapsed))

    def flush_before_exit(self) -> Path | None:
        """Save the draft and the time spent; returns a rescue file if the save failed.

        Runs once (on quit, or when the screen goes away), whichever comes first."""
        if self._flushed:
            return None
        self._flushed = True
        self._live_cancel.set()
        if self._save_timer is not None:
            self._save_timer.stop()
        self._tick_time()
        if self.save_draft():
            return None
        return rescue(self.scenario.id, self.editor.text)

    def on_screen_suspend(self) -> None:
        self.save_draft()
        self._tick_time()

    def on_screen_resume(self) -> None:
        self._tick_at = time.monotonic()

    def on_unmount(self) -> None:
        rescued = self.flush_before_exit()
        if rescued is not None:
            self.kapp.rescued.append(rescued)

    # -- hints ------------------------------------------------------------------------------

    def _show_hints(self) -> None:
        hints = self.query_one("#hints", Static)
        shown = self.scenario.hints[: self.hints_shown]
        if not shown:
            hints.update(Text(f"{len(self.scenario.hints)} hint(s) available: ctrl+g", style="dim"))
            return
        text = Text()
        for index, hint in enumerate(shown, start=1):
            text.append(f"Hint {index}/{len(self.scenario.hints)} ({hint.level})\n", style="bold")
            text.append(hint.text + "\n\n")
        text.rstrip()
        hints.update(text)

    def action_hint(self) -> None:
        total = len(self.scenario.hints)
        if self.hints_shown >= total:
            self.notify("No more hints. The reference answer is behind ctrl+o.")
            return
        index = self.hints_shown
        self.hints_shown += 1
        self.kapp.record("hint", lambda s: s.record_hint(self.scenario.id, index))
        self._show_hints()
        self._update_status()
        self.query_one("#hints", Static).scroll_visible()

    # -- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "follow_ups":
            return self.passed_before and bool(self.scenario.follow_ups)
        return True

    def action_grade(self) -> None:
        # ctrl+r is a priority binding, handled before the editor has applied keys typed just
        # before it; grade once the editor's queue is empty so the attempt is what was typed.
        self.editor.call_later(self._grade_now)

    def _grade_now(self) -> None:
        self.save_draft()
        self._start_grade(explicit=True)

    def action_next_problem(self) -> None:
        results = self.results
        targets = results.target_ids()
        if not targets:
            self.notify("Nothing to jump to: no failed check or problem has a line.")
            return
        current = results.highlighted_option.id if results.highlighted_option else None
        following = (
            targets[(targets.index(current) + 1) % len(targets)]
            if current in targets
            else targets[0]
        )
        results.highlighted = results.get_option_index(following)
        target = results.target(following)
        if target is not None:
            self.editor.goto_line(*target)

    @on(ResultsPanel.Jump)
    def _jump(self, message: ResultsPanel.Jump) -> None:
        self.editor.goto_line(message.line, message.column)

    def action_focus_results(self) -> None:
        if self.results.has_focus:
            self.editor.focus()
        else:
            self.results.focus()
            if self.results.highlighted is None:
                self.results.highlighted = self.results.first_failure_index()

    def action_back(self) -> None:
        self.save_draft()
        self.kapp.go_back()

    async def action_lesson(self) -> None:
        await self.kapp.open_lesson(self.scenario.lesson_track, self.scenario.lesson_section)

    def action_reset(self) -> None:
        from app.tui.screens.dialogs import ConfirmScreen

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                starter = self.scenario.starter_text()
            except OSError as exc:
                self.notify(f"cannot read the starter: {exc}", severity="error")
                return
            editor = self.editor
            editor.replace(starter, (0, 0), editor.document.end)
            editor.move_cursor((0, 0))
            self.save_draft()
            self.notify("Starter restored (ctrl+z undoes it).")

        self.app.push_screen(
            ConfirmScreen(
                "Restore the starter?",
                f"Your draft {_short_path(self.draft_path)} is replaced by the scenario's starter. "
                "Progress is kept, and ctrl+z in the editor brings your draft back.",
                confirm="Restore starter",
            ),
            confirmed,
        )

    def action_reference(self) -> None:
        from app.tui.screens.dialogs import ConfirmScreen
        from app.tui.screens.reference import ReferenceScreen

        def show(yes: bool | None = True) -> None:
            if not yes:
                return
            try:
                answer = self.scenario.answer_text()
            except OSError as exc:
                self.notify(f"the reference answer is missing: {exc}", severity="error")
                return
            try:
                explanation = self.scenario.explanation_text()
            except OSError:
                explanation = "_No explanation for this scenario._"
            before_pass = not self.passed_before
            self.kapp.record("reveal", lambda s: s.record_reveal(self.scenario.id, before_pass))
            self.app.push_screen(
                ReferenceScreen(self.scenario, self.editor.text, answer, explanation)
            )

        revealed = False
        try:
            revealed = self.kapp.store.revealed(self.scenario.id)
        except Exception:  # noqa: BLE001 - ProgressError: ask, to be safe
            revealed = False
        if self.passed_before or revealed:
            show()
            return
        self.app.push_screen(
            ConfirmScreen(
                "Show the reference answer?",
                "You have not passed this scenario yet. Seeing the answer now is recorded in your "
                "progress; a hint (ctrl+g) may be enough.",
                confirm="Show answer",
            ),
            show,
        )

    def action_follow_ups(self) -> None:
        from app.tui.screens.followup import FollowUpScreen

        if not self.scenario.follow_ups:
            self.notify("This scenario has no follow-up questions.")
            return
        if not self.passed_before:
            self.notify("Pass the scenario first (ctrl+r); then the interviewer asks more.")
            return
        self.app.push_screen(FollowUpScreen(self.scenario))

    def action_external_editor(self) -> None:
        if not self.save_draft() or self.draft_path is None:
            self.notify(
                "The draft cannot be saved to the workspace, so another editor cannot open it.",
                severity="error",
            )
            return
        command = [*self.kapp.settings.editor_command(), str(self.draft_path)]
        try:
            with self.app.suspend():
                subprocess.run(command, check=False)
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot hand over to another editor; edit "
                f"{self.draft_path} in another window: kprep picks the change up.",
                severity="warning",
                timeout=10,
            )
            return
        except OSError as exc:
            self.notify(
                f"cannot run {command[0]!r}: {exc.strerror or exc}. Set $EDITOR or "
                "[ui] editor in config.toml.",
                severity="error",
                timeout=10,
            )
            return
        self.reload_from_disk()
        self.editor.focus()

    # -- live grading -------------------------------------------------------------------------

    def action_check_live(self) -> None:
        if self.grader is None:
            self.notify("The grader is still starting; try again in a moment.")
            return
        self.save_draft()
        self.notify("Applying your answer to the local cluster…", title="Cluster")
        self.live_worker(self.grader, self.editor.text)

    @work(thread=True, exclusive=True, group="live", exit_on_error=False)
    def live_worker(self, grader: Grader, text: str) -> None:
        """Apply the answer on the local cluster; progress and the result come back as messages."""
        file = str(self.draft_path) if self.draft_path else "<answer>"

        def progress(line: str) -> None:
            self.post_message(LiveGradeProgress(line))

        try:
            run = self.live.run(
                self.scenario,
                grader,
                text,
                file,
                echo=progress,
                cancel=self._live_cancel,
            )
        except ClusterError as exc:
            self.post_message(LiveGradeFailed(str(exc) or type(exc).__name__))
            return
        self.post_message(LiveGradeFinished(run.report, run.nodes))

    @on(LiveGradeProgress)
    def _live_progress(self, message: LiveGradeProgress) -> None:
        self._live_status = message.line
        self._update_status()

    @on(LiveGradeFailed)
    def _live_failed(self, message: LiveGradeFailed) -> None:
        self._live_status = ""
        self._update_status()
        self.notify(message.error, title="Cluster", severity="error", timeout=15)

    @on(LiveGradeFinished)
    def _live_finished(self, message: LiveGradeFinished) -> None:
        from app.tui.screens.placement import PlacementScreen

        report = message.report
        self._live_status = ""
        self.last_report = report
        self.last_report_version = self.version
        self.results.show_checks(report.checks, "live")
        self._show_diagnostics(report.errors)
        self.kapp.record("attempt", lambda s: s.record_attempt(report, self.hints_shown))
        if report.passed and not self.passed_before:
            self.passed_before = True
            self.refresh_bindings()
        self.query_one("#scenario-title", Static).update(self._title_text(), layout=False)
        for note in getattr(report, "notes", []) or []:
            self.notify(note, title="Cluster", severity="warning")
        self.app.push_screen(
            PlacementScreen(self.scenario, report, self.editor.text, message.nodes)
        )


def _short_path(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
