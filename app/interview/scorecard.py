"""The interview's scorecard: each question's score, time and missed checks, the
follow-ups and their grades, and the concepts to study next (with the lesson that
teaches each)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.course.models import Scenario
from app.interview.plan import InterviewPlan, concept_points
from app.interview.questions import FollowUpAnswer, QuestionState
from app.progress.review import lead_concept

STUDY_NEXT = 3
"""How many concepts the scorecard names to study next."""


@dataclass(frozen=True)
class FailedCheck:
    check_id: str
    title: str
    concept: str
    points: int
    status: str
    """fail or error; skip when the draft did not parse."""


@dataclass(frozen=True)
class StudyItem:
    concept: str
    why: str
    lesson: str
    """`track#section` of the lesson that teaches it (`kprep lesson <this>`)."""
    section_title: str | None = None


@dataclass(frozen=True)
class QuestionCard:
    position: int
    scenario: str
    title: str
    difficulty: str
    score: int
    max_score: int
    seconds_used: float
    seconds_allowed: float
    auto_submitted: bool
    failed_checks: tuple[FailedCheck, ...]
    follow_ups: tuple[FollowUpAnswer, ...]


@dataclass(frozen=True)
class Scorecard:
    interview_id: int | None
    minutes: int
    track: str | None
    questions: tuple[QuestionCard, ...]
    study_next: tuple[StudyItem, ...]

    @property
    def score(self) -> int:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> int:
        return sum(q.max_score for q in self.questions)

    def to_json(self) -> dict[str, Any]:
        return {
            "interview_id": self.interview_id,
            "minutes": self.minutes,
            "track": self.track,
            "score": self.score,
            "max_score": self.max_score,
            "questions": [
                {
                    "position": q.position,
                    "scenario": q.scenario,
                    "title": q.title,
                    "difficulty": q.difficulty,
                    "score": q.score,
                    "max_score": q.max_score,
                    "seconds_used": round(q.seconds_used, 1),
                    "seconds_allowed": round(q.seconds_allowed, 1),
                    "auto_submitted": q.auto_submitted,
                    "failed_checks": [
                        {
                            "id": f.check_id,
                            "title": f.title,
                            "concept": f.concept,
                            "points": f.points,
                            "status": f.status,
                        }
                        for f in q.failed_checks
                    ],
                    "follow_ups": [
                        {
                            "index": a.index,
                            "question": a.question,
                            "reached": a.reached,
                            "auto_submitted": a.auto_submitted,
                            "grade": a.grade,
                            "suggested": a.suggested,
                        }
                        for a in q.follow_ups
                    ],
                }
                for q in self.questions
            ],
            "study_next": [
                {
                    "concept": s.concept,
                    "why": s.why,
                    "lesson": s.lesson,
                    "section_title": s.section_title,
                }
                for s in self.study_next
            ],
        }


def follow_up_concept(scenario: Scenario) -> str | None:
    """The concept a scenario's follow-ups review: its lead concept."""
    return lead_concept((c.concept, c.points) for c in scenario.checks)


def build_scorecard(
    interview_id: int | None,
    plan: InterviewPlan,
    questions: Sequence[QuestionState],
    study: tuple[StudyItem, ...],
) -> Scorecard:
    """The scorecard of an interview's questions, as they stand."""
    cards = []
    for q in questions:
        report = q.report
        failed = tuple(
            FailedCheck(c.id, c.title, c.concept, c.max_points, c.status)
            for c in (report.checks if report else [])
            if c.status != "pass"
        )
        cards.append(
            QuestionCard(
                q.position,
                q.scenario.id,
                q.scenario.title,
                q.scenario.difficulty,
                report.score if report else 0,
                q.scenario.max_score,
                q.seconds_used,
                q.seconds_allowed,
                q.auto_submitted,
                failed,
                tuple(q.follow_ups),
            )
        )
    return Scorecard(interview_id, plan.minutes, plan.track, tuple(cards), study)


def study_next(
    questions: Sequence[QuestionState],
    weakness: Mapping[str, float],
    section_titles: Callable[[str], str | None] | None,
) -> tuple[StudyItem, ...]:
    """The concepts this interview says to study: the most points lost to failed checks,
    then follow-ups graded again (2) or hard (1); the schedule's weakness breaks ties and
    fills the list from the interview's own concepts when fewer than three were missed."""
    evidence: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    lesson_of: dict[str, tuple[int, str]] = {}
    for q in questions:
        points = concept_points(q.scenario)
        for name, p in points.items():
            if p > lesson_of.get(name, (-1, ""))[0]:
                lesson_of[name] = (p, q.scenario.lesson)
        for check in q.report.checks if q.report else []:
            if check.status == "fail":
                evidence[check.concept] = evidence.get(check.concept, 0) + max(1, check.max_points)
                reasons.setdefault(check.concept, []).append(f"failed: {check.title}")
        concept = follow_up_concept(q.scenario)
        for answer in q.follow_ups:
            if concept is None:
                continue
            # A follow-up the clock never reached says nothing about the concept.
            weight = {"again": 2, "hard": 1}.get(answer.grade or "", 0)
            if weight:
                evidence[concept] = evidence.get(concept, 0) + weight
                reasons.setdefault(concept, []).append(f"follow-up graded {answer.grade}")

    def rank(concept: str) -> tuple[float, float, str]:
        return (-evidence.get(concept, 0), -weakness.get(concept, 0.5), concept)

    chosen = sorted(evidence, key=rank)[:STUDY_NEXT]
    if len(chosen) < STUDY_NEXT:
        rest = sorted((c for c in lesson_of if c not in chosen), key=rank)
        for concept in rest[: STUDY_NEXT - len(chosen)]:
            reasons.setdefault(concept, []).append(
                "passed today; the review schedule rates it among your weakest"
            )
            chosen.append(concept)
    items = []
    for concept in chosen:
        lesson = lesson_of[concept][1]
        title = section_titles(lesson) if section_titles else None
        items.append(StudyItem(concept, "; ".join(reasons.get(concept, [])), lesson, title))
    return tuple(items)
