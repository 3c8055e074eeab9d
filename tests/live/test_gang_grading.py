"""The live grader on gang-scheduled answers (Kubernetes 1.36's alpha PodGroups, on in
the local cluster): the gang-scheduling-deadlock scenario's PodGroup variant ends with
one job whole and the other's pods all Pending, and the report says that the second
job waits as a gang; pods that the scheduler holds back (their PodGroup missing) are a
verdict reached at once, not a 20-second wait blamed on a stopped scheduler.
"""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import REPO

SCENARIO = "gang-scheduling-deadlock"
VARIANT = REPO / "answers" / SCENARIO / "variants" / "podgroup-gang.yaml"


def _grade(course: Any, text: str) -> tuple[Any, float]:
    """Grade `text` live; a missing cluster fails the test with connect's ClusterError."""
    from app.grading.engine import Grader
    from app.live.attempt import grade_live
    from app.live.connect import connect

    scenario = course.scenario(SCENARIO)
    cluster = connect(course, scenario)
    applied_at: list[float] = []

    def echo(message: str) -> None:
        # Time from the moment everything is applied: grade_live first waits for
        # earlier attempts' namespaces to empty, which is not the observer's doing.
        if message.startswith("applied"):
            applied_at.append(time.monotonic())

    try:
        report = grade_live(
            course,
            scenario,
            Grader(scenario, crd_dir=course.crd_dir),
            text,
            "answer.yaml",
            cluster=cluster,
            echo=echo,
        )
        assert applied_at, f"nothing was applied: {report.errors}"
        return report, time.monotonic() - applied_at[-1]
    finally:
        cluster.close()


def _by_job(report: Any) -> dict[str, list[Any]]:
    jobs: dict[str, list[Any]] = {}
    for placed in report.placement:
        job = "team-a-train" if placed.pod.startswith("team-a-train") else "team-b-train"
        jobs.setdefault(job, []).append(placed)
    return jobs


def test_the_gang_variant_runs_one_job_whole_and_says_why_the_other_waits(
    cluster_home: Any, course: Any
) -> None:
    report, _seconds = _grade(course, VARIANT.read_text(encoding="utf-8"))
    jobs = _by_job(report)
    bound = sorted(sum(1 for p in pods if p.node) for pods in jobs.values())
    assert bound == [0, 4], report.placement
    assert {p.node for pods in jobs.values() for p in pods if p.node} == {"a100-full-0"}
    waiting = next(pods for pods in jobs.values() if not any(p.node for p in pods))
    for placed in waiting:
        assert "Insufficient nvidia.com/gpu" in placed.reason, placed
        assert "(minCount 4): PodGroupScheduled=False, Unschedulable" in placed.reason, placed
    live = {c.id: c.status for c in report.checks}
    assert live["each-job-all-or-nothing-live"] == "pass"
    assert live["no-job-partly-bound"] == "pass"


def test_pods_naming_a_missing_pod_group_are_reported_at_once(
    cluster_home: Any, course: Any
) -> None:
    text = VARIANT.read_text(encoding="utf-8").replace(
        "schedulingGroup: {podGroupName: team-b-gang}",
        "schedulingGroup: {podGroupName: team-b-group}",
    )
    assert "team-b-group" in text
    report, seconds = _grade(course, text)
    jobs = _by_job(report)
    assert [p.node for p in jobs["team-b-train"]] == [None] * 4, report.placement
    for placed in jobs["team-b-train"]:
        assert "PodGroup team-b-group, which does not exist" in placed.reason, placed
    assert not any("is the scheduler running" in note for note in report.notes), report.notes
    # The settle bound is 20 s; held pods are decided as soon as all pods exist.
    assert seconds < 12, f"the observer waited {seconds:.1f}s after applying"
