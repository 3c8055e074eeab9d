"""A mock interview end to end with Pilot, its clock driven by a fake one; the review queue."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from app.paths import data_dir
from app.progress.store import ProgressStore
from tests.conftest import REPO
from tests.tui.conftest import make_course, settle, type_text

pytestmark = pytest.mark.tui

SIZE = (110, 36)
ANSWER = (REPO / "answers" / "gpu-limits" / "answer.yaml").read_text(encoding="utf-8")


class FakeClock:
    def __init__(self) -> None:
        self.now = 50_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def two_scenarios(tmp_path: Path) -> Path:
    root = make_course(tmp_path / "course-two", lesson_link="serving#gpus-as-extended-resources")
    for part in ("scenarios", "answers"):
        shutil.copytree(REPO / part / "qos-guaranteed", root / part / "qos-guaranteed")
    return root


def plan(*scenarios: str, minutes: int = 10) -> str:
    return json.dumps({"scenarios": list(scenarios), "minutes": minutes, "track": None, "seed": 1})


async def wait_for_tick(pilot) -> None:
    """The screen polls the clock every 0.2 s of real time."""
    await pilot.pause(0.35)
    await settle(pilot)


async def test_a_timed_interview_from_first_question_to_scorecard(make_app, two_scenarios):
    from app.tui.screens.interview import DebriefScreen, InterviewScreen, ScorecardScreen
    from app.tui.screens.lesson import LessonScreen

    clock = FakeClock()
    app = make_app(
        "interview", plan("gpu-limits", "qos-guaranteed"), course=two_scenarios, clock=clock
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tick(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen)
        title = str(screen.query_one("#interview-title").render())
        assert "Question 1/2" in title and "Ask for a GPU" in title
        assert "05:00 left" in str(screen.query_one("#interview-clock").render())
        assert not screen.query("#hints") and not screen.query("#results"), "nothing revealed"
        assert "TODO" in screen.editor.text, "each question starts from the starter"

        screen.editor.replace(ANSWER, (0, 0), screen.editor.document.end)
        clock.now += 100
        await wait_for_tick(pilot)
        assert "03:20 left" in str(screen.query_one("#interview-clock").render())
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "follow-up 1/3" in str(screen.query_one("#interview-title").render())
        await type_text(pilot, "memory is unbounded")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "follow-up 2/3" in str(screen.query_one("#interview-title").render())
        await type_text(pilot, "half an answ")

        clock.now += 200  # the question's five minutes are up
        await wait_for_tick(pilot)
        assert "Question 2/2" in str(screen.query_one("#interview-title").render())
        assert "05:00 left" in str(screen.query_one("#interview-clock").render())
        assert any("Time is up" in n for n in app.shown_notifications)
        clock.now += 250
        await wait_for_tick(pilot)
        assert "00:50 left" in str(screen.query_one("#interview-clock").render())
        assert screen.query_one("#interview-clock").has_class("low")

        clock.now += 60  # nothing typed on question 2: its starter is submitted as is
        await wait_for_tick(pilot)
        debrief = app.screen
        assert isinstance(debrief, DebriefScreen)
        await settle(pilot)  # the coverage worker
        points = str(debrief.query_one("#debrief-points").render())
        assert "Key points" in points and "suggested" in points
        assert "memory is unbounded" in str(debrief.query_one("#debrief-answer").render())
        await pilot.press("2")
        await settle(pilot)
        assert "the clock ran out here" in str(debrief.query_one("#debrief-answer").render())
        await pilot.press("1")
        await settle(pilot)

        card = app.screen
        assert isinstance(card, ScorecardScreen)
        questions = card.card.questions
        assert questions[0].score == questions[0].max_score and not questions[0].auto_submitted
        assert questions[1].auto_submitted and questions[1].score < questions[1].max_score
        assert [a.grade for a in questions[0].follow_ups] == ["hard", "again", None]
        study = str(card.query_one("#scorecard-study").render())
        assert "Study next" in study and "lesson serving#" in study
        assert len(card.card.study_next) == 3
        first = card.card.study_next[0]
        assert first.concept in {f.concept for f in questions[1].failed_checks}
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen)

    with ProgressStore.open(data_dir() / "progress.db") as store:
        (interview,) = store.interviews()
        assert interview["finished"] is not None
        assert [q["auto_submitted"] for q in interview["questions"]] == [False, True]
        assert interview["questions"][0]["seconds_used"] == 300
        follow_ups = interview["questions"][0]["follow_ups"]
        assert [(f["index"], f["grade"], f["auto_submitted"]) for f in follow_ups] == [
            (0, "hard", False),
            (1, "again", True),
        ]
        coverage = store._read("SELECT scorer, suggested FROM coverage_results")
        assert len(coverage) == 2 and coverage[0][0] == "all-MiniLM-L6-v2-onnx-int8"
        schedule = store.schedule()
        assert schedule["qos-classes"].lapses >= 1, "the unanswered question counts as a miss"


async def test_leaving_an_interview_keeps_it_as_not_finished(make_app, two_scenarios):
    from app.tui.screens.home import HomeScreen

    app = make_app("interview", plan("gpu-limits"), course=two_scenarios, clock=FakeClock())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tick(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    with ProgressStore.open(data_dir() / "progress.db") as store:
        (interview,) = store.interviews()
        assert interview["finished"] is None and interview["questions"] == []


async def test_the_review_queue_drills_a_follow_up_and_empties(make_app, two_scenarios):
    from app.tui.screens.review import ReviewFollowUpScreen, ReviewScreen

    two_days_ago = time.time() - 2 * 86400
    with ProgressStore.open(data_dir() / "progress.db") as store:
        store.record_self_grade(
            "gpu-limits", 1, "Q", "no idea", "again", concept="qos-classes", at=two_days_ago
        )
        assert [s.concept for s in store.due_reviews()] == ["qos-classes"]
    app = make_app("review", course=two_scenarios)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, ReviewScreen)
        assert "1 concept due today" in str(queue.query_one("#review-title").render())
        await pilot.press("enter")
        await settle(pilot)
        drill = app.screen
        assert isinstance(drill, ReviewFollowUpScreen)
        await type_text(pilot, "Burstable when requests are below limits")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "Model answer" in str(drill.query_one("#review-model").render())
        await pilot.press("3")
        await settle(pilot)
        assert app.screen is queue
        assert "nothing due today" in str(queue.query_one("#review-title").render())
    with ProgressStore.open(data_dir() / "progress.db") as store:
        state = store.schedule()["qos-classes"]
        assert state.reviews == 2 and state.last_rating == 3
        assert [g.grade for g in store.self_grades("gpu-limits")] == ["again", "good"]


async def test_home_shows_what_is_due_and_starts_reviews_and_interviews(make_app, two_scenarios):
    from app.tui.screens.home import HomeScreen
    from app.tui.screens.interview import InterviewScreen
    from app.tui.screens.review import ReviewScreen

    yesterday = time.time() - 86400 - 3600
    with ProgressStore.open(data_dir() / "progress.db") as store:
        store.record_self_grade(
            "gpu-limits", 0, "Q", "?", "again", concept="gpu-limits", at=yesterday - 86400
        )
    app = make_app("home", course=two_scenarios, clock=FakeClock())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        line = str(home.query_one("#due-today").render())
        assert "1 concept: gpu-limits (follow-up 1 of gpu-limits)" in line
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("i")
        await wait_for_tick(pilot)
        interview = app.screen
        assert isinstance(interview, InterviewScreen)
        assert len(interview.session.questions) == 2, "three asked, two in this course"
        assert "22:30 left" in str(interview.query_one("#interview-clock").render())


async def test_practice_follow_ups_mark_covered_key_points_and_store_them(make_app):
    from app.tui.screens.followup import FollowUpScreen

    app = make_app("scenario", "gpu-limits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.replace(ANSWER, (0, 0), screen.editor.document.end)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        followup = app.screen
        assert isinstance(followup, FollowUpScreen)
        answer = (
            "With no memory limit the container can use all of the node's memory until the "
            "OOM killer steps in. Without a CPU limit it is never throttled."
        )
        await type_text(pilot, answer)
        await pilot.press("ctrl+r")
        await settle(pilot)
        model = str(followup.query_one("#followup-model").render())
        assert "✓" in model and "suggested" in model
        assert followup.coverage is not None
        covered = followup.coverage.covered
        assert covered[0] and covered[1] and not covered[2]
        await pilot.press(str(1 + ["again", "hard", "good", "easy"].index("hard")))
        await settle(pilot)
    with ProgressStore.open(data_dir() / "progress.db") as store:
        rows = store._read("SELECT suggested FROM coverage_results")
        assert [r[0] for r in rows] == ["hard"]
