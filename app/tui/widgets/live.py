"""Running the answer on the local cluster off the UI thread (ctrl+l). Progress, the
result or the failure go up as messages; this widget shows nothing."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import work
from textual.widget import Widget

from app.cluster.errors import ClusterError
from app.tui.messages import LiveGradeFailed, LiveGradeFinished, LiveGradeProgress

if TYPE_CHECKING:
    from app.course.models import Scenario
    from app.grading.engine import Grader
    from app.live.service import LiveService


class LiveRunner(Widget):
    """One live run at a time; leaving the screen stops the wait for the scheduler."""

    DEFAULT_CSS = "LiveRunner { display: none; }"

    def __init__(self, service: LiveService) -> None:
        super().__init__()
        self.service = service
        self.cancel = threading.Event()
        """Set when the screen goes away, so a live run stops waiting for the scheduler."""

    def start(self, scenario: Scenario, grader: Grader, text: str, file: str) -> None:
        self._run(scenario, grader, text, file)

    @work(thread=True, exclusive=True, group="live", exit_on_error=False, description="live")
    def _run(self, scenario: Scenario, grader: Grader, text: str, file: str) -> None:
        def progress(line: str) -> None:
            self.post_message(LiveGradeProgress(line))

        try:
            run = self.service.run(scenario, grader, text, file, echo=progress, cancel=self.cancel)
        except ClusterError as exc:
            self.post_message(LiveGradeFailed(str(exc) or type(exc).__name__))
            return
        self.post_message(LiveGradeFinished(run.report, run.nodes))

    def on_unmount(self) -> None:
        self.cancel.set()
