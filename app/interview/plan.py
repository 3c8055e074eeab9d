"""Choosing an interview's questions: K scenarios of mixed difficulty, weighted toward
the concepts the candidate is weakest at.

Weakness per concept comes from the review schedule (1 - FSRS's recall probability
now; 0.5 for a concept never reviewed, so the unknown sits between the mastered and
the forgotten). A scenario weighs 1 + 3 x its points-weighted mean weakness, so a
scenario full of forgotten concepts is four times as likely as one fully mastered.
Difficulty is spread by slots: K slots aimed at evenly spaced difficulties among those
the pool has, each filled by a weighted draw, and the questions are asked easiest
first, as interviewers warm up. A seed makes the draw repeatable.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.course.models import DIFFICULTIES, Scenario
from app.progress.review import CardState

UNKNOWN_WEAKNESS = 0.5
WEAKNESS_PULL = 3.0
OVERLAP_DAMPING = 0.5
"""A candidate scenario's weight is multiplied by this for each concept it shares with a
scenario already picked, so one interview covers more ground."""


class PlanError(ValueError):
    """The interview cannot be planned as asked (unknown track, too few scenarios...)."""


@dataclass(frozen=True)
class InterviewPlan:
    scenarios: tuple[str, ...]
    """Scenario ids, in the order they are asked."""
    minutes: int
    track: str | None
    seed: int

    @property
    def seconds_per_question(self) -> float:
        return self.minutes * 60 / len(self.scenarios)


def weakness_from(schedule: Mapping[str, CardState], now: datetime) -> dict[str, float]:
    """Per reviewed concept, 1 - FSRS's recall probability now."""
    return {concept: 1.0 - state.retrievability(now) for concept, state in schedule.items()}


def concept_points(scenario: Scenario) -> dict[str, int]:
    """Points per concept over the scenario's offline checks (what the interview grades)."""
    totals: dict[str, int] = {}
    for check in scenario.checks:
        totals[check.concept] = totals.get(check.concept, 0) + check.points
    return totals


def scenario_weakness(scenario: Scenario, weakness: Mapping[str, float]) -> float:
    """Points-weighted mean weakness of the scenario's concepts (0 mastered - 1 forgotten)."""
    points = concept_points(scenario)
    total = sum(points.values())
    if total == 0:
        return UNKNOWN_WEAKNESS
    return sum(p * weakness.get(c, UNKNOWN_WEAKNESS) for c, p in points.items()) / total


def plan_interview(
    pool: Sequence[Scenario],
    *,
    count: int,
    minutes: int,
    weakness: Mapping[str, float],
    track: str | None = None,
    seed: int | None = None,
) -> InterviewPlan:
    """Pick `count` scenarios from `pool` (optionally one track's) for a `minutes` interview."""
    if count < 1:
        raise PlanError("an interview needs at least one scenario")
    if minutes < 1:
        raise PlanError("an interview needs at least one minute")
    if track is not None:
        known = sorted({s.track for s in pool})
        pool = [s for s in pool if s.track == track]
        if not pool:
            raise PlanError(f"no scenarios in track {track!r} (tracks: {', '.join(known)})")
    candidates = [s for s in pool if s.checks]
    if len(candidates) < count:
        where = f" in track {track!r}" if track else ""
        raise PlanError(f"asked for {count} scenarios but only {len(candidates)} exist{where}")
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    rank = {d: i for i, d in enumerate(DIFFICULTIES)}
    levels = sorted({rank.get(s.difficulty, len(DIFFICULTIES)) for s in candidates})
    if count == 1:
        targets = [levels[len(levels) // 2]]
    else:
        targets = [levels[round(i * (len(levels) - 1) / (count - 1))] for i in range(count)]
    picked: list[Scenario] = []
    covered: set[str] = set()
    for target in targets:
        left = [s for s in candidates if s not in picked]
        nearest = min(abs(rank.get(s.difficulty, len(DIFFICULTIES)) - target) for s in left)
        band = [
            s for s in left if abs(rank.get(s.difficulty, len(DIFFICULTIES)) - target) == nearest
        ]
        weights = [
            (1 + WEAKNESS_PULL * scenario_weakness(s, weakness))
            * OVERLAP_DAMPING ** len(covered & set(concept_points(s)))
            for s in band
        ]
        choice = rng.choices(band, weights=weights)[0]
        picked.append(choice)
        covered |= set(concept_points(choice))
    order = {s.id: i for i, s in enumerate(pool)}
    picked.sort(key=lambda s: (rank.get(s.difficulty, len(DIFFICULTIES)), order[s.id]))
    return InterviewPlan(tuple(s.id for s in picked), minutes, track, seed)
