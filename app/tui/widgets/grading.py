"""Grading off the UI thread: the scenario's grader is built once, then the answer is
graded `delay` seconds after the last edit (checks as you type) and at once when asked
(ctrl+r). Results go up as `GradeFinished`; this widget shows nothing and touches no
other widget.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.timer import Timer
from textual.widget import Widget

from app.grading.report import Diagnostic, Report
from app.tui.messages import GradeFinished, GraderFailed, GraderReady

if TYPE_CHECKING:
    from app.course.models import Scenario
    from app.grading.engine import Grader

GRADE_DELAY = 0.3
"""Seconds after the last keystroke before grading as you type."""


class Grading(Widget):
    """The scenario's grader and the grade-as-you-type debounce (a widget so its workers
    and timers live and die with the screen)."""

    DEFAULT_CSS = "Grading { display: none; }"

    def __init__(self, scenario: Scenario, crd_dir: Path | None, *, delay: float = GRADE_DELAY):
        super().__init__()
        self.scenario = scenario
        self.crd_dir = crd_dir
        self.delay = delay
        """The debounce: seconds of quiet before grading as you type."""
        self.grader: Grader | None = None
        """Built in a worker on mount; None until then (or when it failed)."""
        self.file_name = "<answer>"
        """The name reports carry (the draft's path)."""
        self.version = 0
        """Counts edits; a result for an older version is stale."""
        self.fired_at = 0.0
        """`perf_counter()` when the debounce last fired (the benchmark measures from it)."""
        self.last_grade_ms = 0.0
        """How long the last grade took in the worker."""
        self._text = ""
        self._pending: bool | None = None
        """A grade asked for before the grader was ready (True: an explicit one)."""
        self._timer: Timer | None = None
        self._lock = threading.Lock()

    def on_mount(self) -> None:
        self._build()

    def edited(self, text: str) -> int:
        """The answer changed: grade it after the debounce. Returns the new version."""
        self._text = text
        self.version += 1
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.delay, self._fire, name="grade-as-you-type")
        return self.version

    def grade_now(self, text: str, *, explicit: bool) -> None:
        """Grade `text` without waiting (explicit: ctrl+r, an attempt to record)."""
        self._text = text
        if self._timer is not None:
            self._timer.stop()
        self._start(explicit)

    def _fire(self) -> None:
        self.fired_at = time.perf_counter()
        self._start(False)

    def _start(self, explicit: bool) -> None:
        if self.grader is None:
            self._pending = bool(self._pending) or explicit
            return
        self._grade(self.grader, self._text, self.version, explicit)

    @work(thread=True, exclusive=True, group="grader", exit_on_error=False, description="build")
    def _build(self) -> None:
        try:
            # deferred: start-up cost, the grader (CEL) loads in a worker after the first paint
            from app.grading.engine import Grader

            grader = Grader(self.scenario, crd_dir=self.crd_dir)
        except Exception as exc:  # noqa: BLE001 - reported to the candidate, never a crash
            self.post_message(GraderFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(GraderReady(grader))

    @on(GraderReady)
    def _ready(self, message: GraderReady) -> None:
        message.stop()
        self.grader = message.grader
        pending, self._pending = self._pending, None
        self._start(bool(pending))

    @on(GradeFinished)
    def _timed(self, message: GradeFinished) -> None:
        self.last_grade_ms = message.elapsed_ms  # and the message goes on up to the screen

    @work(thread=True, exclusive=True, group="grade", exit_on_error=False, description="grade")
    def _grade(self, grader: Grader, text: str, version: int, explicit: bool) -> None:
        started = time.perf_counter()
        try:
            with self._lock:
                report = grader.grade_text(text, self.file_name)
        except Exception as exc:  # noqa: BLE001 - the engine should not raise; never crash
            report = Report(
                scenario=self.scenario.id, file=self.file_name, max_score=self.scenario.max_score
            )
            report.errors.append(Diagnostic(f"the grader failed: {exc}", "yaml"))
        elapsed = (time.perf_counter() - started) * 1000
        self.post_message(GradeFinished(report, version, explicit, elapsed))
