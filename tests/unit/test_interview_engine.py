"""The interview engine without a screen: picking questions, the clock, the scorecard."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from app.course.models import DIFFICULTIES
from app.grading.engine import Grader
from app.interview.plan import InterviewPlan, PlanError, concept_points, plan_interview
from app.interview.session import InterviewSession


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ListRecorder:
    """Keeps every call, so tests see what the engine writes and when."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.attempts: list[Any] = []

    def start_interview(self, scenarios, minutes, track, seed, at) -> int:
        self.calls.append(("start", (tuple(scenarios), minutes, track, seed)))
        return 7

    def record_attempt(self, report, hints_used=0, at=None) -> int:
        self.attempts.append(report)
        self.calls.append(("attempt", report.scenario))
        return len(self.attempts)

    def record_interview_question(
        self, interview_id, position, scenario, attempt_id, seconds_allowed, seconds_used, auto
    ) -> None:
        self.calls.append(("question", (position, scenario, attempt_id, seconds_used, auto)))

    def record_interview_answer(
        self, interview_id, position, follow_up, answer, seconds_used, auto_submitted
    ) -> None:
        self.calls.append(("answer", (position, follow_up, answer, auto_submitted)))

    def record_self_grade(
        self, scenario, question_index, question, answer, grade, *, concept=None, interview_id=None
    ) -> int:
        self.calls.append(("grade", (scenario, question_index, grade, concept, interview_id)))
        return 100 + len(self.calls)

    def finish_interview(self, interview_id, at) -> None:
        self.calls.append(("finish", interview_id))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


@pytest.fixture(scope="module")
def scenarios():
    from app.course.loader import Course
    from tests.conftest import REPO

    found, errors = Course(REPO).load_all()
    assert not errors
    return found


def grade_with(course_root):
    from app.course.loader import Course

    course = Course(course_root)
    graders: dict[str, Grader] = {}

    def grade(scenario, text):
        grader = graders.setdefault(scenario.id, Grader(scenario, crd_dir=course.crd_dir))
        return grader.grade_text(text, f"{scenario.id}.yaml")

    return grade


# -- picking ------------------------------------------------------------------------


def test_a_plan_mixes_difficulties_and_asks_the_easiest_first(scenarios) -> None:
    plan = plan_interview(scenarios, count=3, minutes=45, weakness={}, seed=1)
    by_id = {s.id: s for s in scenarios}
    levels = [DIFFICULTIES.index(by_id[i].difficulty) for i in plan.scenarios]
    assert len(set(plan.scenarios)) == 3
    assert levels == sorted(levels) and levels[0] < levels[-1]
    assert plan.seconds_per_question == 15 * 60


def test_the_same_seed_gives_the_same_interview(scenarios) -> None:
    first = plan_interview(scenarios, count=3, minutes=45, weakness={}, seed=42)
    again = plan_interview(scenarios, count=3, minutes=45, weakness={}, seed=42)
    assert first == again


def test_weak_concepts_are_asked_more_often(scenarios) -> None:
    serving = [s for s in scenarios if s.track == "serving"]
    target = next(s for s in serving if s.difficulty == "hard")
    weak = dict.fromkeys(concept_points(target), 1.0)
    strong = {c: 0.0 for s in serving for c in concept_points(s) if c not in weak}
    count_weak: Counter[str] = Counter()
    count_plain: Counter[str] = Counter()
    for seed in range(300):
        count_weak.update(
            plan_interview(
                serving, count=2, minutes=30, weakness={**strong, **weak}, seed=seed
            ).scenarios
        )
        count_plain.update(
            plan_interview(serving, count=2, minutes=30, weakness={}, seed=seed).scenarios
        )
    assert count_weak[target.id] > 1.5 * count_plain[target.id], (count_weak, count_plain)


def test_a_track_limits_the_pool_and_bad_requests_say_why(scenarios) -> None:
    plan = plan_interview(scenarios, count=2, minutes=20, weakness={}, track="autoscaling", seed=3)
    assert {s.track for s in scenarios if s.id in plan.scenarios} == {"autoscaling"}
    with pytest.raises(PlanError, match="no scenarios in track 'cooking'"):
        plan_interview(scenarios, count=2, minutes=20, weakness={}, track="cooking")
    with pytest.raises(PlanError, match="asked for 40 scenarios but only"):
        plan_interview(scenarios, count=40, minutes=20, weakness={})
    with pytest.raises(PlanError, match="at least one minute"):
        plan_interview(scenarios, count=1, minutes=0, weakness={})


# -- the clock ----------------------------------------------------------------------


def session_for(scenarios, ids, minutes, recorder=None, clock=None, **kwargs):
    from tests.conftest import REPO

    plan = InterviewPlan(tuple(ids), minutes, None, 5)
    return InterviewSession(
        plan,
        {s.id: s for s in scenarios},
        grade_with(REPO),
        recorder=recorder,
        clock=clock or FakeClock(),
        **kwargs,
    )


def test_when_time_runs_out_the_draft_on_screen_is_submitted_as_is(scenarios, repo) -> None:
    clock, recorder = FakeClock(), ListRecorder()
    session = session_for(scenarios, ["gpu-limits", "qos-guaranteed"], 10, recorder, clock)
    session.start()
    assert session.remaining() == 300
    answer = (repo / "answers/gpu-limits/answer.yaml").read_text()
    session.set_draft(answer)
    clock.advance(299)
    assert not session.tick() and session.phase == "manifest" and session.remaining() == 1
    clock.advance(1.5)
    assert session.tick()
    first = session.questions[0]
    assert first.auto_submitted and first.report is not None and first.report.passed
    assert first.seconds_used == 300
    assert not any(a.reached for a in first.follow_ups), "no time was left for follow-ups"
    assert session.position == 1 and session.phase == "manifest"
    assert session.remaining() == 300, "the next question gets its own full budget"
    assert recorder.kinds()[:3] == ["start", "attempt", "question"]
    assert recorder.calls[2][1] == (0, "gpu-limits", 1, 300, True)


def test_a_submitted_manifest_leads_to_follow_ups_in_order_on_the_same_clock(
    scenarios, repo
) -> None:
    clock, recorder = FakeClock(), ListRecorder()
    session = session_for(scenarios, ["gpu-limits"], 10, recorder, clock)
    session.start()
    clock.advance(120)
    report = session.submit_manifest("apiVersion: apps/v1\nkind: Deployment\n")
    assert not report.passed
    assert session.phase == "follow-up"
    asked = session.current_follow_up
    assert asked is not None and asked.index == 0
    assert asked.question == scenarios[0].follow_ups[0].question
    clock.advance(60)
    session.submit_answer("Memory is unbounded, the pod is BestEffort.")
    assert session.current_follow_up is not None and session.current_follow_up.index == 1
    session.set_answer("half typed")
    clock.advance(500)
    assert session.tick(), "the clock runs through the follow-ups"
    first = session.questions[0]
    assert [a.reached for a in first.follow_ups] == [True, True, False]
    assert first.follow_ups[1].answer == "half typed" and first.follow_ups[1].auto_submitted
    assert session.phase == "debrief"
    assert [a.index for _, a in session.to_grade()] == [0, 1]


def test_the_debrief_records_grades_with_the_concept_and_ends_the_interview(
    scenarios,
) -> None:
    clock, recorder = FakeClock(), ListRecorder()
    session = session_for(scenarios, ["gpu-limits"], 10, recorder, clock)
    session.start()
    session.submit_manifest("kind: Deployment\n")
    session.submit_answer("an answer")
    session.submit_answer("another")
    session.submit_answer("last")
    assert session.phase == "debrief"
    session.grade_answer(0, 0, "again")
    session.grade_answer(0, 1, "good", suggested="hard", covered=[True, False])
    assert session.phase == "debrief"
    session.grade_answer(0, 2, "hard")
    assert session.phase == "done"
    grades = [args for kind, args in recorder.calls if kind == "grade"]
    assert grades[0] == ("gpu-limits", 0, "again", "gpu-limits", 7)
    assert recorder.kinds()[-1] == "finish"


def test_the_scorecard_names_failed_checks_and_what_to_study(scenarios, repo) -> None:
    clock = FakeClock()
    session = session_for(
        scenarios,
        ["gpu-limits", "startup-probe-slow-load"],
        20,
        clock=clock,
        section_titles=lambda link: f"title of {link}",
    )
    session.start()
    clock.advance(200)
    starter = (repo / "scenarios/gpu-limits/starter.yaml").read_text()
    session.submit_manifest(starter)
    for _ in scenarios[0].follow_ups:
        session.submit_answer("I do not know")
    answer = (repo / "answers/startup-probe-slow-load/answer.yaml").read_text()
    clock.advance(100)
    session.submit_manifest(answer)
    while session.phase == "follow-up":
        session.submit_answer("fine")
    for question, answer_state in session.to_grade():
        grade = "again" if question.scenario.id == "gpu-limits" else "easy"
        session.grade_answer(question.position, answer_state.index, grade)
    card = session.scorecard()
    first, second = card.questions
    assert first.score < first.max_score and second.score == second.max_score
    assert first.seconds_used == 200 and second.seconds_used == 100
    failed_concepts = {f.concept for f in first.failed_checks}
    assert failed_concepts and all(f.status == "fail" for f in first.failed_checks)
    assert not second.failed_checks
    assert [a.grade for a in first.follow_ups] == ["again"] * len(first.follow_ups)
    study = card.study_next
    assert len(study) == 3
    assert study[0].concept in failed_concepts
    assert all(s.concept in failed_concepts for s in study[:2]) or len(failed_concepts) < 2
    assert study[0].lesson == "serving#gpus-as-extended-resources"
    assert study[0].section_title == "title of serving#gpus-as-extended-resources"
    data = card.to_json()
    assert data["score"] == card.score and len(data["questions"]) == 2
    assert data["study_next"][0]["concept"] == study[0].concept


def test_an_interview_is_recorded_in_the_progress_store_and_feeds_the_schedule(
    scenarios, repo, tmp_path
) -> None:
    from app.progress.store import ProgressStore

    clock = FakeClock()
    with ProgressStore.open(tmp_path / "progress.db") as store:
        session = session_for(scenarios, ["gpu-limits", "qos-guaranteed"], 10, store, clock)
        session.start()
        clock.advance(301)
        session.tick()  # nothing typed: the empty draft is graded as is
        clock.advance(60)
        session.submit_manifest((repo / "answers/qos-guaranteed/answer.yaml").read_text())
        session.submit_answer("Guaranteed needs requests equal to limits for every container.")
        while session.phase == "follow-up":
            clock.advance(30)
            session.submit_answer("")
        for question, answer in session.to_grade():
            session.grade_answer(question.position, answer.index, "hard")
        assert session.phase == "done"
        (listed,) = store.interviews()
        assert listed["finished"] is not None
        first, second = listed["questions"]
        assert first["auto_submitted"] and first["score"] == 0
        assert first["seconds_used"] == 300
        assert second["score"] == second["max_score"] and second["seconds_used"] >= 60
        assert all(f["grade"] == "hard" for f in second["follow_ups"])
        schedule = store.schedule()
        qos = {c.concept for c in session.questions[1].scenario.checks}
        assert qos <= set(schedule)
        lead = session.follow_up_concept(session.questions[1].scenario)
        assert schedule[lead].last_source == "follow-up" and schedule[lead].last_rating == 2
