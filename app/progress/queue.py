"""The review queue: concepts due, each with the drill that reviews it.

A concept last reviewed by a follow-up self-grade is drilled by that follow-up
again (quick: answer and grade); one last reviewed by an attempt is drilled by
that scenario (a recorded attempt reviews it), or, when the course no longer has
it, by another scenario whose checks test the concept. Used by the home screen's
"due today", `kprep review` and the progress export. Headless.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from app.progress.review import CardState

DrillKind = Literal["scenario", "follow-up"]


@dataclass(frozen=True)
class DueItem:
    concept: str
    due: datetime
    recall: float
    """FSRS's recall probability now (0-1)."""
    lapses: int
    drill: DrillKind
    scenario: str
    follow_up: int | None = None
    question: str | None = None
    """The follow-up's question, for follow-up drills."""

    def describe(self) -> str:
        if self.drill == "follow-up" and self.follow_up is not None:
            where = f"follow-up {self.follow_up + 1} of {self.scenario}"
            return f"{where}: {self.question}" if self.question else where
        return f"scenario {self.scenario}"

    def to_json(self) -> dict[str, Any]:
        return {
            "concept": self.concept,
            "due": self.due.isoformat(),
            "recall": round(self.recall, 3),
            "lapses": self.lapses,
            "drill": self.drill,
            "scenario": self.scenario,
            "follow_up": self.follow_up,
            "question": self.question,
        }


def review_queue(
    due: Iterable[CardState],
    now: datetime,
    scenario_ids: Collection[str],
    concept_scenarios: Mapping[str, Iterable[str]],
    questions: Mapping[str, tuple[str, ...]] | None = None,
) -> list[DueItem]:
    """`due` cards (most overdue first) as drills. `scenario_ids` are the course's scenarios,
    `concept_scenarios` maps each concept to scenarios testing it, and `questions` (when the
    course is loaded) each scenario's follow-up questions, to name follow-up drills."""
    items = []
    for state in due:
        scenario = state.last_scenario
        drill: DrillKind = "scenario"
        index = None
        question = None
        if (
            state.last_source == "follow-up"
            and state.last_follow_up is not None
            and scenario in scenario_ids
        ):
            asked = questions.get(scenario, ()) if questions is not None else None
            if asked is None or state.last_follow_up < len(asked):
                drill, index = "follow-up", state.last_follow_up
                question = asked[index] if asked is not None else None
        if drill == "scenario" and scenario not in scenario_ids:
            others = sorted(
                s for s in concept_scenarios.get(state.concept, ()) if s in scenario_ids
            )
            if not others:
                continue  # nothing in today's course drills it
            scenario = others[0]
        items.append(
            DueItem(
                state.concept,
                state.due,
                state.retrievability(now),
                state.lapses,
                drill,
                scenario,
                index,
                question,
            )
        )
    return items
