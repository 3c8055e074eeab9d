"""What the progress store hands back: its error, the rows it returns as dataclasses,
the self-grade values it accepts, and what happened when the file was opened."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

SelfGradeValue = Literal["again", "hard", "good", "easy"]
SELF_GRADES: tuple[SelfGradeValue, ...] = ("again", "hard", "good", "easy")


class ProgressError(Exception):
    """A progress write or read failed (disk full, database locked...). The message says why."""


@dataclass(frozen=True)
class CheckOutcome:
    """One check's result within an attempt, as stored."""

    check_id: str
    concept: str
    status: str
    """pass, fail, error or skip."""
    points: int
    max_points: int


@dataclass(frozen=True)
class SelfGrade:
    """The candidate's own grade of their answer to one follow-up question."""

    scenario: str
    question_index: int
    question: str
    answer: str
    grade: str
    at: float


@dataclass
class ScenarioProgress:
    """Everything stored about one scenario."""

    scenario: str
    attempts: int = 0
    best_score: int | None = None
    """Highest score of any attempt; None before the first attempt."""
    max_score: int = 0
    """The scenario's maximum at the time of the best attempt."""
    passed: bool = False
    """At least one attempt passed every check."""
    last_score: int | None = None
    hints_used: int = 0
    revealed: bool = False
    """The reference answer has been shown."""
    revealed_before_pass: bool = False
    seconds: float = 0.0
    """Active time spent on the scenario screen."""
    self_grades: int = 0
    last_activity: float = 0.0
    """Unix time of the latest attempt or visit."""


@dataclass
class OpenResult:
    """What happened when the database was opened."""

    moved_aside: Path | None = None
    """Where a corrupt database was moved, if it was."""
    problem: str | None = None
    """A message for the candidate, if anything went wrong."""
    notes: list[str] = field(default_factory=list)
