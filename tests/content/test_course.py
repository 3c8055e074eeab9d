"""The shipped course: every scenario, every check, every wrong answer and variant."""

from __future__ import annotations

import pytest

from app.authoring.patch import apply_patch
from app.course.loader import Course
from app.grading.engine import Grader
from tests.conftest import REPO

COURSE = Course(REPO)
SCENARIOS, LOAD_ERRORS = COURSE.load_all()
REQUIRED = ["serving-10k", "hpa-ml-serving", "gpu-a100-pinning", "multi-gpu-training"]
GRADERS: dict[str, Grader] = {}


def grader(scenario_id: str) -> Grader:
    if scenario_id not in GRADERS:
        GRADERS[scenario_id] = Grader(COURSE.scenario(scenario_id), crd_dir=COURSE.crd_dir)
    return GRADERS[scenario_id]


def test_course_loads():
    assert LOAD_ERRORS == []


def test_course_shape():
    ids = {s.id for s in SCENARIOS}
    assert len(ids) >= 14
    assert set(REQUIRED) <= ids
    assert {s.track for s in SCENARIOS} == set(COURSE.catalog.track_ids)
    assert {s.difficulty for s in SCENARIOS} >= {"warm-up", "medium", "hard"}
    for scenario in SCENARIOS:
        assert 4 <= len(scenario.checks) <= 10, scenario.id
        assert [h.level for h in scenario.hints][:1] == ["nudge"], scenario.id
        assert scenario.follow_ups, scenario.id


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_reference_passes_and_starter_fails(scenario):
    g = grader(scenario.id)
    report = g.grade_text(scenario.answer_text(), str(scenario.answer_path))
    assert report.errors == [] and report.passed, report.to_json()
    for variant in scenario.variants:
        report = g.grade_text(variant.read_text(), str(variant))
        assert report.passed, (variant.name, report.to_json())
    assert not g.grade_text(scenario.starter_text(), "starter").passed
    assert scenario.explanation_path.read_text().strip()


WRONG = [(s.id, c.id, w) for s in SCENARIOS for c in s.checks for w in c.wrong_answers]


@pytest.mark.parametrize(
    "scenario_id,check_id,wrong", WRONG, ids=[f"{s}:{c}:{w.name}" for s, c, w in WRONG]
)
def test_every_wrong_answer_fails_its_check(scenario_id, check_id, wrong):
    scenario = COURSE.scenario(scenario_id)
    report = grader(scenario_id).grade_text(apply_patch(scenario.answer_text(), wrong.patch), "w")
    (result,) = [c for c in report.checks if c.id == check_id]
    assert result.status == "fail", result


def test_every_check_has_a_wrong_answer():
    missing = [f"{s.id}:{c.id}" for s in SCENARIOS for c in s.checks if not c.wrong_answers]
    assert missing == []


def test_lint_is_green():
    from app.authoring.lint import lint_course

    result = lint_course(COURSE)
    assert [str(p) for p in result.problems] == []
