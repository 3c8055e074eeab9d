"""The course's data: scenarios, checks, hints, follow-ups, lessons.

Plain frozen dataclasses, built by `app.course.loader` from validated YAML and
Markdown. Nothing here reads files except the small text accessors on
`Scenario`, which read the starter and answer files when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DIFFICULTIES: tuple[str, ...] = ("warm-up", "easy", "medium", "hard")


@dataclass(frozen=True)
class Match:
    """Which documents a check applies to; empty fields match anything."""

    kind: str | None = None
    name: str | None = None
    api_version: str | None = None

    def describe(self) -> str:
        return f"{self.kind or 'object'}" + (f" named {self.name!r}" if self.name else "")


@dataclass(frozen=True)
class WrongAnswer:
    """A known-wrong answer, as patch operations on the reference answer."""

    name: str
    patch: Any


@dataclass(frozen=True)
class Check:
    """One graded idea, written in CEL."""

    id: str
    title: str
    points: int
    concept: str
    expression: str
    message: str
    """Why it matters, shown when the check fails."""
    match: Match | None = None
    field: str | None = None
    """Path of the field the check concerns; gives the report its line."""
    wrong_answers: tuple[WrongAnswer, ...] = ()
    source_line: int | None = None
    """Line of the check in scenario.yaml, for lint messages."""
    load: str | None = None
    """autoscaleChecks only: the built-in load profile of the run the check judges
    (None: the scenario's `autoscale.load`)."""


@dataclass(frozen=True)
class Hint:
    level: str
    """nudge, pointer or near-answer."""
    text: str


@dataclass(frozen=True)
class FollowUp:
    """A question an interviewer asks next; the candidate grades themself."""

    question: str
    key_points: tuple[str, ...]
    model_answer: str


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    track: str
    difficulty: str
    order: int
    prompt: str
    lesson: str
    """`track` or `track#section`."""
    hints: tuple[Hint, ...]
    checks: tuple[Check, ...]
    live_checks: tuple[Check, ...]
    follow_ups: tuple[FollowUp, ...]
    folder: Path
    answer_folder: Path
    starter_name: str = "starter.yaml"
    profile: str = "default"
    allowed_kinds: tuple[str, ...] = ()
    apply_in_order: bool = False
    """Live: apply documents one at a time, each one's pods settled before the next
    (so a preemption scenario's high-priority workload arrives last, as the prompt says)."""
    interleave_arrivals: bool = False
    """Live: the workloads' pods reach the scheduler taking turns (`app.live.arrival`)."""
    params: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    autoscale: dict[str, Any] | None = None
    """The `autoscale:` block as written (read by `app.autoscale.model.scenario_from_mapping`)."""
    autoscale_checks: tuple[Check, ...] = ()
    """Checks over an autoscaling run's timeline (`kprep autoscale`)."""

    @property
    def source(self) -> Path:
        return self.folder / "scenario.yaml"

    @property
    def starter_path(self) -> Path:
        return self.folder / self.starter_name

    @property
    def answer_path(self) -> Path:
        return self.answer_folder / "answer.yaml"

    @property
    def explanation_path(self) -> Path:
        return self.answer_folder / "explanation.md"

    @property
    def variants(self) -> list[Path]:
        """Alternative correct answers that must pass every check."""
        folder = self.answer_folder / "variants"
        return sorted(folder.glob("*.yaml")) if folder.is_dir() else []

    @property
    def lesson_track(self) -> str:
        return self.lesson.split("#", 1)[0]

    @property
    def lesson_section(self) -> str | None:
        return self.lesson.split("#", 1)[1] if "#" in self.lesson else None

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks)

    def starter_text(self) -> str:
        return self.starter_path.read_text(encoding="utf-8")

    def answer_text(self) -> str:
        return self.answer_path.read_text(encoding="utf-8")

    def explanation_text(self) -> str:
        return self.explanation_path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    level: int
    line: int
    """1-based line of the heading in the lesson file."""


@dataclass(frozen=True)
class Lesson:
    track: str
    title: str
    path: Path
    text: str
    sections: tuple[Section, ...]

    def section(self, slug: str) -> Section | None:
        return next((s for s in self.sections if s.slug == slug), None)
