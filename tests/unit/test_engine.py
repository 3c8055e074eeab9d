"""The engine on the real gpu-limits scenario: verdicts, lines, bad input."""

from __future__ import annotations

import pytest

from app.grading.engine import Grader


@pytest.fixture
def grader(course):
    return Grader(course.scenario("gpu-limits"), crd_dir=course.crd_dir)


def answer(course):
    return course.scenario("gpu-limits").answer_text()


def test_reference_passes_with_full_score(grader, course):
    report = grader.grade_text(answer(course), "a.yaml")
    assert report.passed and report.score == report.max_score == 8
    assert report.errors == []


def test_starter_fails_with_lines(grader, course):
    report = grader.grade_text(course.scenario("gpu-limits").starter_text(), "s.yaml")
    assert not report.passed
    by_id = {c.id: c for c in report.checks}
    assert by_id["gpu-in-limits"].status == "fail"
    assert by_id["gpu-in-limits"].line == 24  # the resources: block
    assert any(
        e.source == "validation" and "must be an integer" in e.message and e.line == 28
        for e in report.errors
    )


def test_unknown_field_is_a_schema_error_at_its_line(grader, course):
    text = answer(course).replace("          ports:", "          portz:")
    report = grader.grade_text(text, "a.yaml")
    (error,) = [e for e in report.errors if e.source == "schema"]
    assert 'unknown field "portz"' in error.message
    assert text.splitlines()[error.line - 1].strip().startswith("portz")
    assert not report.passed


@pytest.mark.parametrize(
    "text,needle",
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("- a\n- b\n", "mapping, not a list"),
        ("just a string\n", "mapping, not a str"),
        ("metadata: {name: x}\n", "missing apiVersion and kind"),
        ("apiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n", "unknown kind v1/Frobnicator"),
        (
            "apiVersion: autoscaling/v3\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n",
            "exists as autoscaling/v1, autoscaling/v2",
        ),
    ],
)
def test_bad_documents_become_error_entries(grader, text, needle):
    report = grader.grade_text(text, "x.yaml")
    assert any(needle in e.message for e in report.errors), report.errors
    assert not report.passed


def test_yaml_error_skips_checks(grader):
    report = grader.grade_text("a: [1, 2\n", "x.yaml")
    assert report.errors[0].source == "yaml"
    assert {c.status for c in report.checks} == {"skip"}


def test_bytes_non_utf8_and_oversize(grader):
    report = grader.grade_bytes(b"kind: Pod\nname: \xfe\n", "x.yaml")
    assert report.errors[0].line == 2 and "UTF-8" in report.errors[0].message
    report = grader.grade_bytes(b"#" * (2 * 1024 * 1024), "big.yaml")
    assert "1 MiB" in report.errors[0].message


def test_runtime_cel_error_is_reported_and_others_still_run(course):
    from dataclasses import replace

    scenario = course.scenario("gpu-limits")
    broken = replace(scenario.checks[0], id="broken", expression="object.spec.nope > 1")
    grader = Grader(replace(scenario, checks=(broken, *scenario.checks[1:])))
    report = grader.grade_text(scenario.answer_text(), "a.yaml")
    first, *rest = report.checks
    assert first.status == "error"
    assert "object.spec.nope > 1" in first.message and "no such key" in first.message
    assert all(c.status == "pass" for c in rest)
    assert not report.passed


def test_non_boolean_result_is_an_error(course):
    from dataclasses import replace

    scenario = course.scenario("gpu-limits")
    odd = replace(scenario.checks[0], expression="1 + 1")
    report = Grader(replace(scenario, checks=(odd,))).grade_text(scenario.answer_text(), "a")
    assert report.checks[0].status == "error" and "not true or false" in report.checks[0].message


def test_missing_matched_object_fails_with_its_description(course):
    from dataclasses import replace

    from app.course.models import Match

    scenario = course.scenario("gpu-limits")
    pdb = replace(scenario.checks[0], match=Match(kind="PodDisruptionBudget"))
    report = Grader(replace(scenario, checks=(pdb,))).grade_text(scenario.answer_text(), "a")
    assert report.checks[0].status == "fail"
    assert report.checks[0].message.startswith("no PodDisruptionBudget in your answer")


def test_json_contract_shape(grader, course):
    data = grader.grade_text(course.scenario("gpu-limits").starter_text(), "s.yaml").to_json()
    assert set(data) == {
        "scenario",
        "file",
        "mode",
        "passed",
        "score",
        "max_score",
        "errors",
        "checks",
    }
    assert data["mode"] == "offline"
    for error in data["errors"]:
        assert set(error) == {"line", "column", "message", "source"}
        assert error["source"] in ("yaml", "schema", "validation")
    for check in data["checks"]:
        assert set(check) == {"id", "title", "status", "points", "line", "message", "concept"}
        assert check["status"] in ("pass", "fail", "error", "skip")


def test_unmatched_check_points_at_the_document_that_has_the_field(course):
    from dataclasses import replace

    scenario = course.scenario("gpu-limits")
    check = replace(scenario.checks[0], match=None, field="spec.replicas", expression="false")
    hpa = (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
        "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: sentiment}\n"
        "  maxReplicas: 3\n---\n"
    )
    text = hpa + scenario.answer_text()
    report = Grader(replace(scenario, checks=(check,))).grade_text(text, "a")
    assert report.checks[0].line is not None
    assert text.splitlines()[report.checks[0].line - 1].strip().startswith("replicas:")


def test_crds_are_not_read_for_built_in_kinds(course, monkeypatch):
    import app.grading.schema as schema

    def boom(_dir):
        raise AssertionError("CRDs parsed for a built-in kind")

    monkeypatch.setattr(schema, "crd_schemas", boom)
    report = Grader(course.scenario("gpu-limits"), crd_dir=course.crd_dir).grade_text(
        course.scenario("gpu-limits").answer_text(), "a.yaml"
    )
    assert report.passed


def test_crd_kinds_validate_from_a_warm_cache(course):
    from app.grading.schema import crd_schemas

    crd_schemas.cache_clear()
    cold = crd_schemas(str(course.crd_dir))
    crd_schemas.cache_clear()
    warm = crd_schemas(str(course.crd_dir))
    assert ("kubeflow.org/v1", "PyTorchJob") in warm and warm == cold


def test_scenario_cache_keeps_check_lines(course):
    from app.course.loader import Course

    first = Course(course.root).scenario("gpu-limits")
    second = Course(course.root).scenario("gpu-limits")  # served from the on-disk cache
    assert [c.source_line for c in first.checks] == [c.source_line for c in second.checks]
    assert first == second


def test_object_is_null_for_checks_without_match(course):
    from dataclasses import replace

    scenario = course.scenario("gpu-limits")
    first = replace(scenario.checks[0])  # matched: binds object
    unmatched = replace(scenario.checks[1], id="u", match=None, expression="object == null")
    report = Grader(replace(scenario, checks=(first, unmatched))).grade_text(
        scenario.answer_text(), "a"
    )
    assert [c.status for c in report.checks] == ["pass", "pass"]


def test_values_cel_cannot_represent_become_check_errors(grader):
    report = grader.grade_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  ~: null-key\n", "x.yaml"
    )
    assert report.checks and {c.status for c in report.checks} <= {"error", "fail"}
    report.to_json()
