"""One interview question's state as it runs: its clock readings, the manifest draft
and its report, and each follow-up's answer (reached or not, self-graded or not)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.course.models import Scenario
from app.grading.report import Report


@dataclass
class FollowUpAnswer:
    index: int
    """The follow-up's index in the scenario."""
    question: str
    answer: str = ""
    reached: bool = False
    """False when the clock ran out before the interviewer asked it."""
    auto_submitted: bool = False
    seconds_used: float = 0.0
    grade: str | None = None
    """The candidate's self-grade from the debrief."""
    suggested: str | None = None
    """The coverage scorer's suggestion, when it ran."""
    covered: tuple[bool, ...] | None = None
    """Per key point, whether the coverage scorer found it in the answer."""


@dataclass
class QuestionState:
    position: int
    scenario: Scenario
    seconds_allowed: float
    started_at: float | None = None
    """Clock reading when the question was first shown."""
    finished_at: float | None = None
    draft: str = ""
    report: Report | None = None
    attempt_id: int | None = None
    auto_submitted: bool = False
    follow_ups: list[FollowUpAnswer] = field(default_factory=list)
    follow_up_cursor: int = 0
    follow_up_started: float | None = None

    @property
    def seconds_used(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else self.started_at
        return min(self.seconds_allowed, max(0.0, end - self.started_at))
