"""One mock interview as it runs: the per-question clock, auto-submission, the debrief
and the scorecard.

Each question has the same budget (minutes x 60 / K seconds) and its clock runs
through the manifest and then the scenario's follow-ups, asked in the order the
scenario lists them, as an interviewer would. When the clock runs out the text on
screen is taken as it is: the manifest draft is graded, a follow-up answer is kept,
and the follow-ups not reached are marked so; then the next question starts. Nothing
is revealed during the questions (no hints, no reference, no check results); the
debrief afterwards shows each follow-up's key points for the candidate to grade
(with a suggested grade when the coverage scorer is installed), then the scorecard.

The clock is injected (`clock()` returns monotonic seconds), so tests advance time by
hand; the front end calls `tick()` a few times a second. Every step is written to the
recorder (the progress store) as it happens, so quitting half way keeps what was done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from app.course.models import Scenario
from app.grading.report import Report
from app.interview.plan import InterviewPlan, concept_points
from app.progress.review import lead_concept

Phase = Literal["manifest", "follow-up", "debrief", "done"]
STUDY_NEXT = 3
"""How many concepts the scorecard names to study next."""


class InterviewRecorder(Protocol):
    """Where an interview is written as it goes (`ProgressStore` implements it)."""

    def start_interview(
        self, scenarios: Sequence[str], minutes: int, track: str | None, seed: int, at: float
    ) -> int: ...

    def record_attempt(self, report: Any, hints_used: int = 0, at: float | None = None) -> int: ...

    def record_interview_question(
        self,
        interview_id: int,
        position: int,
        scenario: str,
        attempt_id: int,
        seconds_allowed: float,
        seconds_used: float,
        auto_submitted: bool,
    ) -> None: ...

    def record_interview_answer(
        self,
        interview_id: int,
        position: int,
        follow_up: int,
        answer: str,
        seconds_used: float,
        auto_submitted: bool,
    ) -> None: ...

    def record_self_grade(
        self,
        scenario: str,
        question_index: int,
        question: str,
        answer: str,
        grade: str,
        *,
        concept: str | None = None,
        interview_id: int | None = None,
    ) -> int: ...

    def finish_interview(self, interview_id: int, at: float) -> None: ...


Grade = Callable[[Scenario, str], Report]
"""Grades a manifest draft offline: (scenario, text) -> report."""


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


class InterviewSession:
    """Drives one interview; see the module docstring for the rules."""

    def __init__(
        self,
        plan: InterviewPlan,
        scenarios: Mapping[str, Scenario],
        grade: Grade,
        *,
        recorder: InterviewRecorder | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        weakness: Mapping[str, float] | None = None,
        section_titles: Callable[[str], str | None] | None = None,
    ) -> None:
        missing = [s for s in plan.scenarios if s not in scenarios]
        if missing:
            raise KeyError(f"the course has no scenario {missing[0]!r}")
        self.plan = plan
        self._grade = grade
        self._recorder = recorder
        self._clock = clock
        self._wall = wall_clock
        self._weakness = dict(weakness or {})
        self._section_titles = section_titles
        budget = plan.seconds_per_question
        self.questions = [
            QuestionState(
                i,
                scenarios[sid],
                budget,
                follow_ups=[
                    FollowUpAnswer(j, f.question) for j, f in enumerate(scenarios[sid].follow_ups)
                ],
            )
            for i, sid in enumerate(plan.scenarios)
        ]
        self.position = 0
        self.phase: Phase = "manifest"
        self.interview_id: int | None = None
        self.started = False

    # -- running ------------------------------------------------------------------

    @property
    def current(self) -> QuestionState:
        return self.questions[min(self.position, len(self.questions) - 1)]

    @property
    def current_follow_up(self) -> FollowUpAnswer | None:
        if self.phase != "follow-up":
            return None
        return self.current.follow_ups[self.current.follow_up_cursor]

    def start(self) -> None:
        """Start the interview and the first question's clock."""
        if self.started:
            return
        self.started = True
        if self._recorder is not None:
            self.interview_id = self._recorder.start_interview(
                self.plan.scenarios,
                self.plan.minutes,
                self.plan.track,
                self.plan.seed,
                self._wall(),
            )
        self.questions[0].started_at = self._clock()

    def remaining(self) -> float:
        """Seconds left on the current question's clock (0 when it has run out)."""
        question = self.current
        if self.phase not in ("manifest", "follow-up") or question.started_at is None:
            return 0.0
        return max(0.0, question.seconds_allowed - (self._clock() - question.started_at))

    def set_draft(self, text: str) -> None:
        """The manifest as it is on screen (what auto-submission takes)."""
        if self.phase == "manifest":
            self.current.draft = text

    def set_answer(self, text: str) -> None:
        """The follow-up answer as it is on screen."""
        answer = self.current_follow_up
        if answer is not None:
            answer.answer = text

    def tick(self) -> bool:
        """Submit what is on screen if the clock has run out; True when that happened."""
        if not self.started or self.phase not in ("manifest", "follow-up"):
            return False
        if self.remaining() > 0:
            return False
        if self.phase == "manifest":
            self.submit_manifest(auto=True)
        else:
            self.submit_answer(auto=True)
        return True

    def submit_manifest(self, text: str | None = None, *, auto: bool = False) -> Report:
        """Grade the draft (offline) and move on to the follow-ups or the next question."""
        if self.phase != "manifest":
            raise RuntimeError(f"no manifest to submit during {self.phase}")
        question = self.current
        if text is not None:
            question.draft = text
        now = self._clock()
        report = self._grade(question.scenario, question.draft)
        question.report = report
        question.auto_submitted = auto
        time_left = question.started_at is not None and (
            now - question.started_at < question.seconds_allowed
        )
        if self._recorder is not None:
            question.attempt_id = self._recorder.record_attempt(report, 0, self._wall())
        if question.follow_ups and time_left and not auto:
            self.phase = "follow-up"
            question.follow_up_cursor = 0
            question.follow_up_started = now
            question.follow_ups[0].reached = True
            self._write_question(question, now)
        else:
            self._finish_question(now)
        return report

    def submit_answer(self, text: str | None = None, *, auto: bool = False) -> None:
        """Keep the current follow-up answer and ask the next one (or move on)."""
        answer = self.current_follow_up
        if answer is None:
            raise RuntimeError(f"no follow-up to answer during {self.phase}")
        question = self.current
        if text is not None:
            answer.answer = text
        now = self._clock()
        answer.auto_submitted = auto
        answer.seconds_used = max(0.0, now - (question.follow_up_started or now))
        if self._recorder is not None and self.interview_id is not None:
            self._recorder.record_interview_answer(
                self.interview_id,
                question.position,
                answer.index,
                answer.answer,
                answer.seconds_used,
                auto,
            )
        nxt = question.follow_up_cursor + 1
        if not auto and nxt < len(question.follow_ups) and self.remaining() > 0:
            question.follow_up_cursor = nxt
            question.follow_up_started = now
            question.follow_ups[nxt].reached = True
            return
        self._finish_question(now)

    def _finish_question(self, now: float) -> None:
        question = self.current
        question.finished_at = now
        self._write_question(question, now)
        if self.position + 1 < len(self.questions):
            self.position += 1
            self.phase = "manifest"
            self.current.started_at = now
        else:
            self.phase = "debrief" if self.to_grade() else "done"
            if self.phase == "done":
                self._record_finish()

    def _write_question(self, question: QuestionState, now: float) -> None:
        if self._recorder is None or self.interview_id is None or question.attempt_id is None:
            return
        used = (
            question.seconds_used
            if question.finished_at is not None
            else min(question.seconds_allowed, now - (question.started_at or now))
        )
        self._recorder.record_interview_question(
            self.interview_id,
            question.position,
            question.scenario.id,
            question.attempt_id,
            question.seconds_allowed,
            used,
            question.auto_submitted,
        )

    # -- debrief ------------------------------------------------------------------

    def to_grade(self) -> list[tuple[QuestionState, FollowUpAnswer]]:
        """Follow-ups that were asked and are not graded yet, in interview order."""
        return [
            (q, a) for q in self.questions for a in q.follow_ups if a.reached and a.grade is None
        ]

    def follow_up_concept(self, scenario: Scenario) -> str | None:
        return lead_concept((c.concept, c.points) for c in scenario.checks)

    def grade_answer(
        self,
        position: int,
        follow_up: int,
        grade: str,
        *,
        suggested: str | None = None,
        covered: Sequence[bool] | None = None,
    ) -> int | None:
        """The candidate's grade of one follow-up answer; returns the stored self-grade id."""
        question = self.questions[position]
        answer = question.follow_ups[follow_up]
        if not answer.reached:
            raise ValueError("that follow-up was never asked")
        answer.grade = grade
        answer.suggested = suggested
        answer.covered = tuple(covered) if covered is not None else None
        stored: int | None = None
        if self._recorder is not None:
            stored = self._recorder.record_self_grade(
                question.scenario.id,
                follow_up,
                answer.question,
                answer.answer,
                grade,
                concept=self.follow_up_concept(question.scenario),
                interview_id=self.interview_id,
            )
        if self.phase == "debrief" and not self.to_grade():
            self.phase = "done"
            self._record_finish()
        return stored

    def finish(self) -> None:
        """End the debrief now (ungraded answers stay ungraded)."""
        if self.phase == "debrief":
            self.phase = "done"
            self._record_finish()

    def _record_finish(self) -> None:
        if self._recorder is not None and self.interview_id is not None:
            self._recorder.finish_interview(self.interview_id, self._wall())

    # -- scorecard ----------------------------------------------------------------

    def scorecard(self) -> Scorecard:
        cards = []
        for q in self.questions:
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
        return Scorecard(
            self.interview_id, self.plan.minutes, self.plan.track, tuple(cards), self.study_next()
        )

    def study_next(self) -> tuple[StudyItem, ...]:
        """The concepts this interview says to study: the most points lost to failed checks,
        then follow-ups graded again (2) or hard (1); the schedule's weakness breaks ties and
        fills the list from the interview's own concepts when fewer than three were missed."""
        evidence: dict[str, float] = {}
        reasons: dict[str, list[str]] = {}
        lesson_of: dict[str, tuple[int, str]] = {}
        for q in self.questions:
            points = concept_points(q.scenario)
            for name, p in points.items():
                if p > lesson_of.get(name, (-1, ""))[0]:
                    lesson_of[name] = (p, q.scenario.lesson)
            for check in q.report.checks if q.report else []:
                if check.status == "fail":
                    evidence[check.concept] = evidence.get(check.concept, 0) + max(
                        1, check.max_points
                    )
                    reasons.setdefault(check.concept, []).append(f"failed: {check.title}")
            concept = self.follow_up_concept(q.scenario)
            for answer in q.follow_ups:
                if concept is None:
                    continue
                # A follow-up the clock never reached says nothing about the concept.
                weight = {"again": 2, "hard": 1}.get(answer.grade or "", 0)
                if weight:
                    evidence[concept] = evidence.get(concept, 0) + weight
                    reasons.setdefault(concept, []).append(f"follow-up graded {answer.grade}")

        def rank(concept: str) -> tuple[float, float, str]:
            return (-evidence.get(concept, 0), -self._weakness.get(concept, 0.5), concept)

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
            title = self._section_titles(lesson) if self._section_titles else None
            items.append(StudyItem(concept, "; ".join(reasons.get(concept, [])), lesson, title))
        return tuple(items)
