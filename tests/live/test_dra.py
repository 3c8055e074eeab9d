"""DRA on the local cluster: the ResourceSlices `kprep cluster up` publishes are what the
real scheduler allocates ResourceClaims from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.live.conftest import make_scenario

CLAIM = """\
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {{name: one-gpu}}
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly:
          deviceClassName: gpu.nvidia.com
          selectors:
          - cel:
              expression: >-
                device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("{memory}")) >= 0
---
apiVersion: v1
kind: Pod
metadata: {{name: trainer}}
spec:
  tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]
  resourceClaims: [{{name: gpu, resourceClaimTemplateName: one-gpu}}]
  containers:
  - name: train
    image: trainer:v1
    resources:
      claims: [{{name: gpu}}]
"""


def _grade(course: Any, cluster: Any, tmp_path: Path, memory: str) -> Any:
    from app.grading.engine import Grader
    from app.live.attempt import grade_live

    scenario = make_scenario(
        tmp_path,
        allowed_kinds=("ResourceClaimTemplate", "Pod"),
        live_checks={
            "placed-on-a100": "pods.size() == 1 && pods.all(p, p.scheduled && "
            "nodeNamed(nodes, p.node).labels['gpu-type'] == 'a100')"
        },
    )
    grader = Grader(scenario, crd_dir=course.crd_dir)
    return grade_live(
        course,
        scenario,
        grader,
        CLAIM.format(memory=memory),
        "claim.yaml",
        cluster=cluster,
        settle_seconds=15,
    )


def test_the_published_slices_describe_every_gpu(cluster: Any) -> None:
    slices = cluster.kube.get("/apis/resource.k8s.io/v1/resourceslices")["items"]
    by_node = {s["spec"]["nodeName"]: s["spec"] for s in slices}
    assert set(by_node) == {
        "gpu-a100-0",
        "gpu-a100-1",
        "gpu-a100-2",
        "gpu-a100-3",
        "gpu-t4-0",
        "gpu-t4-1",
    }
    a100 = by_node["gpu-a100-0"]
    assert a100["driver"] == "gpu.nvidia.com"
    assert [d["name"] for d in a100["devices"]] == ["gpu-0", "gpu-1", "gpu-2", "gpu-3"]
    assert a100["devices"][0]["attributes"]["productName"] == {"string": "NVIDIA A100-SXM4-40GB"}


def test_the_scheduler_allocates_a_claim_on_a_matching_device(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    report = _grade(course, cluster, tmp_path, "40Gi")
    assert not report.blocking_errors, report.errors
    assert [c.status for c in report.checks] == ["pass"], report.checks


def test_a_claim_no_device_satisfies_stays_pending_with_the_schedulers_reason(
    course: Any, cluster: Any, tmp_path: Path
) -> None:
    report = _grade(course, cluster, tmp_path, "80Gi")
    assert [c.status for c in report.checks] == ["fail"], report.checks
    [pod] = report.placement
    assert pod.node is None
    assert "cannot allocate all claims" in pod.reason, pod.reason
