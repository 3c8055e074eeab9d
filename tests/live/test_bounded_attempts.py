"""Bounded live attempts (issue 11): a replicas typo is refused before anything is applied,
and an attempt starts only once earlier attempts' namespaces are quiet."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.live.conftest import make_scenario

FLOOD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: typo
spec:
  replicas: 100000
  selector:
    matchLabels: {app: typo}
  template:
    metadata:
      labels: {app: typo}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1
"""


def _attempt_namespaces(kube: Any) -> set[str]:
    from app.cluster.namespaces import NAMESPACE_RESOURCE, OWNED_LABEL

    listed = kube.get(NAMESPACE_RESOURCE.path(), labelSelector=f"{OWNED_LABEL}=true")
    return {n["metadata"]["name"] for n in listed.get("items") or []}


def test_a_replicas_typo_is_refused_before_anything_is_applied(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    from app.grading.engine import Grader
    from app.live.attempt import cluster_size, grade_live

    scenario = make_scenario(
        tmp_path, allowed_kinds=("Deployment",), live_checks={"ran": "size(pods) > 0"}
    )
    grader = Grader(scenario, crd_dir=course.crd_dir)
    before = _attempt_namespaces(cluster.kube)
    started = time.monotonic()
    report = grade_live(course, scenario, grader, FLOOD, "typo.yaml", cluster=cluster)
    assert time.monotonic() - started < 10
    gpus, _ = cluster_size(cluster.kube)
    (refusal,) = [e for e in report.errors if "pods" in e.message and e.source == "cluster"]
    assert refusal.line == 6  # spec.replicas
    assert "replicas 100000 means 100000 pods" in refusal.message
    assert f"more than the {max(50, 4 * gpus)}" in refusal.message
    assert [c.status for c in report.checks if c.id == "ran"] == ["skip"]
    assert _attempt_namespaces(cluster.kube) == before  # no namespace was even created


def test_the_next_attempt_starts_once_earlier_ones_hold_no_pods(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    from app.cluster.namespaces import MAX_TERMINATING, await_quiet
    from app.grading.engine import Grader
    from app.live.attempt import grade_live

    scenario = make_scenario(
        tmp_path, allowed_kinds=("Deployment",), live_checks={"ran": "size(pods) == 3"}
    )
    grader = Grader(scenario, crd_dir=course.crd_dir)
    answer = FLOOD.replace("replicas: 100000", "replicas: 3")
    for _ in range(MAX_TERMINATING + 1):
        report = grade_live(course, scenario, grader, answer, "a.yaml", cluster=cluster)
        assert [c.status for c in report.checks if c.id == "ran"] == ["pass"], report.to_json()
    waited = await_quiet(cluster.kube)
    kube = cluster.kube
    from app.cluster.namespaces import NAMESPACE_RESOURCE, OWNED_LABEL

    listed = kube.get(NAMESPACE_RESOURCE.path(), labelSelector=f"{OWNED_LABEL}=true")
    leaving = [
        n["metadata"]["name"]
        for n in listed.get("items") or []
        if n["metadata"].get("deletionTimestamp")
    ]
    assert len(leaving) <= MAX_TERMINATING, (leaving, waited)
    for name in leaving:
        assert not kube.get(f"/api/v1/namespaces/{name}/pods").get("items")
