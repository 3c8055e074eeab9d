"""What the real scheduler and controllers do with GPU answers on the kwok cluster.

Each test applies an answer through `grade_live` (the path `kprep check --live`
and the terminal app use) and asserts on the report: placement, the scheduler's
reasons and the advice kprep derives from them, API server diagnostics and
their lines. The default profile: 4 A100 nodes x 4 GPUs, 2 T4 nodes x 1 GPU
(all tainted nvidia.com/gpu=present:NoSchedule), 2 CPU nodes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.live.conftest import make_scenario

SEED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: model-serving
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: model-serving}}
  template:
    metadata:
      labels: {{app: model-serving}}
    spec:
{extra}      containers:
        - name: model-server
          image: model-serving:v1.2.3
          resources:
            requests: {{nvidia.com/gpu: 1}}
            limits: {{nvidia.com/gpu: 1}}
"""
TOLERATION = """\
      tolerations:
        - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
"""
PREFERRED_SPREAD = """\
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector: {matchLabels: {app: model-serving}}
"""
REQUIRED_SPREAD = """\
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector: {matchLabels: {app: model-serving}}
"""


def seed(replicas: int = 10, extra: str = TOLERATION + PREFERRED_SPREAD) -> str:
    return SEED.format(replicas=replicas, extra=extra)


def grade(
    course: Any,
    cluster: Any,
    tmp_path: Path,
    text: str,
    *,
    kinds: tuple[str, ...] = ("Deployment",),
    checks: dict[str, str] | None = None,
    settle: float = 20.0,
) -> Any:
    from app.grading.engine import Grader
    from app.live.attempt import grade_live

    scenario = make_scenario(tmp_path, allowed_kinds=kinds, live_checks=checks)
    grader = Grader(scenario, crd_dir=course.crd_dir)
    return grade_live(
        course, scenario, grader, text, "answer.yaml", cluster=cluster, settle_seconds=settle
    )


def gpu_nodes(cluster: Any) -> dict[str, dict[str, str]]:
    nodes = cluster.kube.get("/api/v1/nodes")["items"]
    return {
        n["metadata"]["name"]: n["metadata"].get("labels", {})
        for n in nodes
        if "nvidia.com/gpu" in (n["status"].get("allocatable") or {})
    }


def test_seed_deployment_schedules_on_gpu_nodes(course: Any, cluster: Any, tmp_path: Path) -> None:
    report = grade(
        course,
        cluster,
        tmp_path,
        seed(),
        checks={
            "on-gpu-nodes": "pods.size() == 10 && pods.all(p, p.scheduled && "
            "nodeNamed(nodes, p.node).gpus > 0)",
            "owner": "pods.all(p, p.owner.kind == 'Deployment' && p.owner.name == 'model-serving')",
        },
    )
    assert report.mode == "live"
    assert not report.blocking_errors, report.errors
    assert [c.status for c in report.checks] == ["pass", "pass"], report.checks
    placement = report.placement
    assert len(placement) == 10
    gpu = gpu_nodes(cluster)
    assert all(p.node in gpu and p.phase == "Running" for p in placement), placement
    # Preferred anti-affinity spreads the ten pods over all six GPU nodes.
    assert len({p.node for p in placement}) == 6


def test_gpu_request_without_toleration_stays_pending(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    report = grade(
        course,
        cluster,
        tmp_path,
        seed(replicas=2, extra=""),
        checks={"scheduled": "pods.all(p, p.scheduled)"},
    )
    assert report.checks[0].status == "fail"
    assert all(p.node is None and p.phase == "Pending" for p in report.placement)
    reason = report.placement[0].reason
    assert "untolerated taint" in reason
    advice = report.checks[0].advice
    assert "nvidia.com/gpu=present:NoSchedule" in advice and "add a toleration" in advice


def test_equal_without_value_does_not_tolerate_present(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    extra = (
        "      tolerations:\n        - {key: nvidia.com/gpu, operator: Equal, effect: NoSchedule}\n"
    )
    report = grade(
        course,
        cluster,
        tmp_path,
        seed(replicas=1, extra=extra),
        checks={"scheduled": "pods.all(p, p.scheduled)"},
    )
    assert report.checks[0].status == "fail"
    assert report.placement[0].node is None
    assert "operator: Equal and no value" in report.checks[0].advice


def test_node_selector_lands_only_on_a100(course: Any, cluster: Any, tmp_path: Path) -> None:
    extra = TOLERATION + "      nodeSelector: {gpu-type: a100}\n"
    report = grade(
        course,
        cluster,
        tmp_path,
        seed(replicas=8, extra=extra),
        checks={
            "a100": "pods.all(p, p.scheduled && nodeNamed(nodes, p.node).labels['gpu-type'] "
            "== 'a100')"
        },
    )
    assert report.checks[0].status == "pass", report.checks
    gpu = gpu_nodes(cluster)
    assert {gpu[p.node]["gpu-type"] for p in report.placement} == {"a100"}


def test_required_anti_affinity_leaves_excess_pending(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    report = grade(
        course,
        cluster,
        tmp_path,
        seed(replicas=8, extra=TOLERATION + REQUIRED_SPREAD),
        checks={"all-scheduled": "pods.all(p, p.scheduled)"},
    )
    scheduled = [p for p in report.placement if p.node]
    pending = [p for p in report.placement if not p.node]
    assert len(scheduled) == 6 and len(pending) == 2  # six GPU nodes, one pod each
    assert len({p.node for p in scheduled}) == 6
    assert all("anti-affinity" in p.reason for p in pending)
    assert "required anti-affinity" in report.checks[0].advice


def test_api_server_rejects_request_not_equal_limit_at_its_line(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    text = seed(replicas=1).replace(
        "requests: {nvidia.com/gpu: 1}", "requests: {nvidia.com/gpu: 2}"
    )
    report = grade(course, cluster, tmp_path, text)
    server = [e for e in report.errors if e.source == "apiserver"]
    assert server, report.errors
    line = text.splitlines().index("            requests: {nvidia.com/gpu: 2}") + 1
    assert server[0].line == line
    assert "must be equal to nvidia.com/gpu limit of 1" in server[0].message
    assert report.placement == []


def test_api_server_rejects_fractional_gpu_at_its_line(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    text = seed(replicas=1).replace("{nvidia.com/gpu: 1}", "{nvidia.com/gpu: 500m}")
    report = grade(course, cluster, tmp_path, text)
    server = [e for e in report.errors if e.source == "apiserver"]
    assert server and all("must be an integer" in e.message for e in server), report.errors
    lines = text.splitlines()
    assert {e.line for e in server} <= {i + 1 for i, row in enumerate(lines) if "500m" in row}


HPA = """\
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: model-serving
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: model-serving}
  minReplicas: 2
  maxReplicas: 12
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: 70}
"""


def test_hpa_is_accepted_and_finds_its_target(course: Any, cluster: Any, tmp_path: Path) -> None:
    text = (
        seed(replicas=2).replace(
            "requests: {nvidia.com/gpu: 1}", "requests: {nvidia.com/gpu: 1, cpu: '1'}"
        )
        + HPA
    )
    report = grade(
        course,
        cluster,
        tmp_path,
        text,
        kinds=("Deployment", "HorizontalPodAutoscaler"),
        checks={
            "able-to-scale": "objects.exists(o, o.kind == "
            "'HorizontalPodAutoscaler' && o.status.conditions.exists(c, "
            "c.type == 'AbleToScale' && c.status == 'True'))",
            "no-failed-get-scale": "!events.exists(e, e.reason == 'FailedGetScale')",
        },
    )
    assert not report.blocking_errors, report.errors
    assert [c.status for c in report.checks] == ["pass", "pass"], report.checks


INDEXED_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: shards
spec:
  completionMode: Indexed
  completions: 4
  parallelism: 4
  template:
    spec:
      restartPolicy: Never
      tolerations:
        - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
      containers:
        - name: worker
          image: trainer:1
          resources:
            limits: {nvidia.com/gpu: 4}
"""


def test_indexed_job_workers_are_all_scheduled(course: Any, cluster: Any, tmp_path: Path) -> None:
    report = grade(
        course,
        cluster,
        tmp_path,
        INDEXED_JOB,
        kinds=("Job",),
        checks={
            "four-workers": "pods.size() == 4 && pods.all(p, p.scheduled && "
            "nodeNamed(nodes, p.node).labels['gpu-type'] == 'a100')",
            "indexed": "pods.all(p, 'batch.kubernetes.io/job-completion-index' in p.labels)",
        },
    )
    assert [c.status for c in report.checks] == ["pass", "pass"], report.checks
    assert len({p.node for p in report.placement}) == 4  # 4 GPUs each: one A100 node per pod
    # Workers run side by side (kprep's kwok stages keep Job pods Running for minutes).
    assert {p.phase for p in report.placement} == {"Running"}


def test_cleanup_leaves_no_namespace(course: Any, cluster: Any, tmp_path: Path) -> None:
    from app.cluster.gc import owned_namespaces

    before = set(owned_namespaces(cluster.kube, include_terminating=False))
    grade(course, cluster, tmp_path, seed(replicas=2))
    after = set(owned_namespaces(cluster.kube, include_terminating=False))
    assert after <= before, f"left behind: {after - before}"


@pytest.mark.parametrize(
    "mutation, fragment",
    [
        ("      hostNetwork: true\n", "hostNetwork"),
        ("      volumes:\n        - name: root\n          hostPath: {path: /}\n", "hostPath"),
    ],
)
def test_host_access_is_refused_and_nothing_applied(
    course: Any, cluster: Any, tmp_path: Path, mutation: str, fragment: str
) -> None:
    from app.cluster.gc import owned_namespaces

    before = set(owned_namespaces(cluster.kube))
    report = grade(
        course,
        cluster,
        tmp_path,
        seed(replicas=1, extra=TOLERATION + mutation),
        checks={"any": "true"},
    )
    refusals = [e for e in report.errors if e.source == "cluster"]
    assert refusals and fragment in refusals[0].message
    assert (
        refusals[0].line
        == seed(1, TOLERATION + mutation)
        .splitlines()
        .index(next(r for r in seed(1, TOLERATION + mutation).splitlines() if fragment in r))
        + 1
    )
    assert report.checks[0].status == "skip"
    assert report.placement == []
    assert set(owned_namespaces(cluster.kube)) <= before


def test_privileged_container_is_refused(course: Any, cluster: Any, tmp_path: Path) -> None:
    text = seed(replicas=1).replace(
        "          image: model-serving:v1.2.3\n",
        "          image: model-serving:v1.2.3\n          securityContext: {privileged: true}\n",
    )
    report = grade(course, cluster, tmp_path, text, checks={"any": "true"})
    assert any("privileged" in e.message for e in report.errors if e.source == "cluster")
    assert report.placement == []


def test_cluster_scoped_and_disallowed_kinds_are_refused(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    role = (
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: kprep-test-escalate}\nrules: []\n"
    )
    secret = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n"
    report = grade(
        course,
        cluster,
        tmp_path,
        seed(replicas=1) + role + secret,
        kinds=("Deployment", "ClusterRole"),
        checks={"any": "true"},
    )
    messages = [e.message for e in report.errors if e.source == "cluster"]
    assert any("ClusterRole is cluster-scoped" in m for m in messages), messages
    assert any("does not apply Secret objects" in m for m in messages), messages
    assert report.placement == []
    from app.cluster.kube import ApiError

    with pytest.raises(ApiError):
        cluster.kube.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/kprep-test-escalate")


def test_unknown_kind_is_named(course: Any, cluster: Any, tmp_path: Path) -> None:
    text = "apiVersion: example.com/v1\nkind: GpuQuota\nmetadata: {name: q}\nspec: {}\n"
    report = grade(course, cluster, tmp_path, text, kinds=("GpuQuota",), checks={"any": "true"})
    assert any("unknown kind example.com/v1/GpuQuota" in e.message for e in report.errors)


def test_namespace_in_the_answer_is_overridden(course: Any, cluster: Any, tmp_path: Path) -> None:
    text = seed(replicas=1).replace(
        "  name: model-serving\nspec:", "  name: model-serving\n  namespace: production\nspec:"
    )
    report = grade(
        course,
        cluster,
        tmp_path,
        text,
        checks={"moved": "objects.all(o, o.metadata.namespace.startsWith('kprep-'))"},
    )
    assert report.checks[0].status == "pass"
    assert any("production" in n for n in report.notes)
