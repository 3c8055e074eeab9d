"""Lint flags a check that reads a variable its kind of check does not have
(app.course.celvars), on a copy of the course, and the scan itself."""

from __future__ import annotations

import pytest

from app.course.celvars import free_variables, unknown_variables
from tests.unit.test_lint import edit_scenario, mini_course, problems  # noqa: F401


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("pods.all(p, p.scheduled && nodeNamed(nodes, p.node).gpus > 0)", {"pods", "nodes"}),
        ("pods.exists(q, q.name == 'objects' && \"params\" != q.rendezvous.masterAddr)", {"pods"}),
        ("objects.map(o, {'t': o.kind}).exists(x, x.t == params.kind)", {"objects", "params"}),
        ("has(object.spec) && size(object.spec) > 0 && 'a' in object.metadata", {"object"}),
        (
            "services.exists(s, s.headless && s.endpoints.exists(e, e.pod == pod.name))",
            {"services", "pod"},
        ),
    ],
)
def test_free_variables(expression: str, expected: set[str]) -> None:
    assert free_variables(expression) == expected


def test_unknown_variables_depend_on_the_kind_of_check() -> None:
    assert unknown_variables("pods.size() > 0", kind="live") == []
    assert unknown_variables("pods.size() > 0", kind="offline") == ["pods"]
    assert unknown_variables("pod.env.size() > 0 && servics.size() > 0", kind="live") == [
        "pod",
        "servics",
    ]
    # autoscaleChecks judge a run: its timeline and summary, not the cluster's pods.
    assert unknown_variables("summary.peakReplicas <= run.maxReplicas", kind="autoscale") == []
    assert unknown_variables("timeline.all(p, p.replicas > 0)", kind="live") == ["timeline"]
    assert unknown_variables("pods.size() > 0", kind="autoscale") == ["pods"]


def test_lint_flags_a_live_check_reading_a_misspelt_variable(mini_course):  # noqa: F811
    def misspell(data):
        data["liveChecks"][0]["expression"] = "pods.size() > 0 && pod.scheduled"

    edit_scenario(mini_course, misspell)
    found = problems(mini_course)
    assert any(
        "live check 'lands-on-gpu-node' reads pod, which is not a live-check variable" in p
        for p in found
    ), found


def test_lint_flags_an_offline_check_reading_live_data(mini_course):  # noqa: F811
    def use_pods(data):
        data["checks"][0]["expression"] = "pods.size() > 0"

    edit_scenario(mini_course, use_pods)
    found = problems(mini_course)
    assert any("reads pods, which is not an offline-check variable" in p for p in found), found
