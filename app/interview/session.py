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
Each question's state is `app.interview.questions`; what the scorecard holds and the
concepts it names to study are `app.interview.scorecard`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

from app.course.models import Scenario
from app.grading.report import Report
from app.interview.plan import InterviewPlan
from app.interview.questions import FollowUpAnswer, QuestionState
from app.interview.scorecard import (
    Scorecard,
    StudyItem,
    build_scorecard,
    follow_up_concept,
    study_next,
)

Phase = Literal["manifest", "follow-up", "debrief", "done"]


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
        return follow_up_concept(scenario)

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
        return build_scorecard(self.interview_id, self.plan, self.questions, self.study_next())

    def study_next(self) -> tuple[StudyItem, ...]:
        """The concepts this interview says to study (see `scorecard.study_next`)."""
        return study_next(self.questions, self._weakness, self._section_titles)
