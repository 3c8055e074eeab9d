"""Starting a planned interview outside the terminal app (app.interview.launch)."""

from __future__ import annotations

import json

import pytest

from app.interview.launch import InterviewStartError, start_session
from app.progress.store import ProgressStore


def test_a_plan_becomes_a_session_that_grades_with_the_course(course):
    plan = {"scenarios": ["gpu-limits"], "minutes": 15, "track": None, "seed": 7}
    with ProgressStore.in_memory() as store:
        session = start_session(json.dumps(plan), course, store, clock=lambda: 0.0)
        session.start()
        report = session.submit_manifest(course.scenario("gpu-limits").answer_text())
        assert report.passed
        assert [i["scenarios"] for i in store.interviews()] == [["gpu-limits"]]


@pytest.mark.parametrize(
    ("plan_json", "says"),
    [
        ("{not json", "Expecting property name"),
        (json.dumps({"minutes": 15, "seed": 1}), "scenarios"),
        (json.dumps({"scenarios": ["no-such-drill"], "minutes": 15, "seed": 1}), "no-such-drill"),
    ],
)
def test_a_bad_plan_is_refused_with_the_reason(course, plan_json, says):
    with ProgressStore.in_memory() as store, pytest.raises(InterviewStartError, match=says):
        start_session(plan_json, course, store, clock=lambda: 0.0)
