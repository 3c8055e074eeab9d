"""Time spent on a scenario: a visit is started when it opens, and active time is added
every tick while the candidate is typing (idle stretches do not count). Headless.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.progress.store import ProgressStore

Record = Callable[[str, Callable[[ProgressStore], object]], bool]
"""`record(what, write)`: run a progress write; a failure is told to the candidate once
per `what`, and the call returns False."""

IDLE_AFTER = 120.0
"""Seconds without a key press after which time stops counting."""


class VisitClock:
    """One visit to one scenario."""

    def __init__(
        self,
        record: Record,
        scenario_id: str,
        last_input_at: Callable[[], float],
        *,
        clock: Callable[[], float] = time.monotonic,
        idle_after: float = IDLE_AFTER,
    ) -> None:
        self.record = record
        self.scenario_id = scenario_id
        self.last_input_at = last_input_at
        """`clock()` time of the candidate's last key."""
        self.clock = clock
        self.idle_after = idle_after
        self.visit_id: int | None = None
        self._since = clock()

    def start(self) -> None:
        def start_visit(store: ProgressStore) -> None:
            self.visit_id = store.start_visit(self.scenario_id)

        self.record("time", start_visit)
        self._since = self.clock()

    def tick(self) -> None:
        """Add the time since the last tick, unless the candidate has been idle."""
        now = self.clock()
        elapsed, self._since = now - self._since, now
        visit_id = self.visit_id
        if visit_id is None or now - self.last_input_at() > self.idle_after:
            return
        self.record("time", lambda store: store.add_time(visit_id, elapsed))

    def resume(self) -> None:
        """Back from another screen: the time away was counted (or not) there."""
        self._since = self.clock()
