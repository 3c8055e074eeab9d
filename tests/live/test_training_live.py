"""Training workloads on the real control plane: the placement tree, the rendezvous each
worker really gets, `kprep placement`, and a Job that completes when kwok's stage is short.

Built-in kinds only (Indexed Job + headless Service); the Kubeflow operators' tests are
in tests/live/test_operators_live.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from tests.conftest import REPO


def _reference_report(course: Any, cluster: Any, scenario_id: str, **kwargs: Any) -> Any:
    from app.grading.engine import Grader
    from app.live.attempt import grade_live

    scenario = course.scenario(scenario_id)
    grader = Grader(scenario, crd_dir=course.crd_dir)
    return grade_live(
        course, scenario, grader, scenario.answer_text(), "answer.yaml", cluster=cluster, **kwargs
    )


def test_indexed_job_tree_shows_nodes_gpus_and_rendezvous(course: Any, cluster: Any) -> None:
    started = time.monotonic()
    report = _reference_report(course, cluster, "multi-gpu-training")
    seconds = time.monotonic() - started
    assert report.passed, [c for c in report.checks if c.status != "pass"]
    assert seconds < 10, f"a training live check took {seconds:.1f}s (budget 10 s)"
    [job] = report.workloads
    assert (job["kind"], job["name"]) == ("Job", "llm-pretrain")
    pods = job["pods"]
    assert len(pods) == 3
    assert len({p["node"] for p in pods}) == 3, "one worker per A100 node"
    assert all(p["node"].startswith("gpu-a100-") and p["gpus"] == 4 for p in pods)
    ranks = sorted(p["rendezvous"]["nodeRank"] for p in pods)
    assert ranks == ["0", "1", "2"]
    rank0 = next(p["name"] for p in pods if p["rendezvous"]["nodeRank"] == "0")
    for pod in pods:
        settings = pod["rendezvous"]
        assert settings["nnodes"] == "3" and settings["nprocPerNode"] == "4"
        assert settings["masterAddr"] == "llm-pretrain-0.llm-pretrain"
        assert settings["masterPods"] == rank0  # resolved through the EndpointSlices


def test_live_check_catches_rank_zero_that_resolves_nowhere(course: Any, cluster: Any) -> None:
    """The Service selects no worker: every name under it resolves to nothing, and the
    tree says so for every pod."""
    from app.authoring.patch import apply_patch
    from app.grading.engine import Grader
    from app.live.attempt import grade_live

    scenario = course.scenario("multi-gpu-training")
    grader = Grader(scenario, crd_dir=course.crd_dir)
    text = apply_patch(
        scenario.answer_text(),
        [
            {
                "op": "set",
                "target": "Service/llm-pretrain",
                "path": "spec.selector",
                "value": {"job-name": "llm-train"},
            }
        ],
    )
    report = grade_live(course, scenario, grader, text, "wrong.yaml", cluster=cluster)
    result = next(c for c in report.checks if c.id == "rank-zero-resolves-on-cluster")
    assert result.status == "fail"
    pods = (report.workloads or [{}])[0].get("pods")
    assert pods and all(not p["rendezvous"].get("masterPods") for p in pods)


def test_kprep_placement_shows_a_kept_attempt(course: Any, cluster: Any, cluster_home: Any) -> None:
    report = _reference_report(course, cluster, "indexed-job-headless-service", keep=True)
    namespace = next(n.split()[1] for n in report.notes if n.startswith("namespace "))
    try:
        run = subprocess.run(
            [sys.executable, "-m", "app", "placement", namespace, "--format", "json"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        shown = json.loads(run.stdout.splitlines()[0])
        assert shown["namespace"] == namespace
        [job] = shown["workloads"]
        assert job["name"] == "ddp-smoke" and len(job["pods"]) == 4
        assert {p["rendezvous"]["nodeRank"] for p in job["pods"]} == {"0", "1", "2", "3"}
        text = subprocess.run(
            [sys.executable, "-m", "app", "placement", namespace],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "200"},
        ).stdout
        assert f"namespace {namespace}" in text
        assert "Job ddp-smoke" in text
        assert "master=ddp-smoke-0.ddp-smoke-workers:29500 (master resolves to ddp-smoke-0-" in text
    finally:
        from app.cluster.namespaces import delete_attempt_namespace

        delete_attempt_namespace(cluster.kube, namespace)


JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: finish}
spec:
  completionMode: Indexed
  completions: 2
  parallelism: 2
  template:
    metadata:
      annotations: {ANNOTATIONS}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: registry.example.com/finish:1}]
"""


def _job_conditions(kube: Any, namespace: str) -> set[str]:
    job = kube.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/finish")
    return {
        c["type"]
        for c in (job.get("status") or {}).get("conditions") or []
        if c["status"] == "True"
    }


def test_job_succeeds_only_when_the_kwok_stage_is_shortened(
    kube: Any, scratch_namespace: str
) -> None:
    """kwok holds Job pods Running for 10 minutes (live checks see workers side by side);
    kwok's `pod-complete.stage.kwok.x-k8s.io/delay` annotation shortens that, and the Job
    controller then marks the Job Complete."""
    import yaml

    held = yaml.safe_load(JOB.replace("{ANNOTATIONS}", "{}"))
    held["metadata"]["name"] = "held"
    kube.create(held, namespace=scratch_namespace)
    short = yaml.safe_load(
        JOB.replace("{ANNOTATIONS}", '{"pod-complete.stage.kwok.x-k8s.io/delay": "2s"}')
    )
    kube.create(short, namespace=scratch_namespace)
    deadline = time.monotonic() + 30
    while "Complete" not in _job_conditions(kube, scratch_namespace):
        assert time.monotonic() < deadline, "the Job with a 2 s stage did not complete in 30 s"
        time.sleep(0.5)
    pods = kube.get(f"/api/v1/namespaces/{scratch_namespace}/pods").get("items") or []
    phases = {
        p["metadata"]["name"].rsplit("-", 2)[0]: p["status"]["phase"]
        for p in pods
        if p["metadata"]["name"].startswith("finish-")
    }
    assert set(phases.values()) == {"Succeeded"}
    held_pods = [p for p in pods if p["metadata"]["name"].startswith("held-")]
    assert len(held_pods) == 2
    assert {p["status"]["phase"] for p in held_pods} == {"Running"}
    held_job = kube.get(f"/apis/batch/v1/namespaces/{scratch_namespace}/jobs/held")
    assert not (held_job.get("status") or {}).get("succeeded")
