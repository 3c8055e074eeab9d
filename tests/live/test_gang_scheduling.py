"""Gang scheduling on the local cluster: Kubernetes 1.36's own (alpha Workload API, the
GenericWorkload and GangScheduling gates `kprep cluster up` turns on). A Job whose pods
reference a PodGroup with `gang.minCount` is placed all together or not at all."""

from __future__ import annotations

import time
from typing import Any

import pytest

PODGROUPS = "/apis/scheduling.k8s.io/v1alpha2/namespaces/{namespace}/podgroups"


def _gang_job(kube: Any, namespace: str, name: str, pods: int, gpus: int) -> None:
    kube.request(
        "POST",
        PODGROUPS.format(namespace=namespace),
        body={
            "apiVersion": "scheduling.k8s.io/v1alpha2",
            "kind": "PodGroup",
            "metadata": {"name": name},
            "spec": {"schedulingPolicy": {"gang": {"minCount": pods}}},
        },
    )
    kube.request(
        "POST",
        f"/apis/batch/v1/namespaces/{namespace}/jobs",
        body={
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                "completionMode": "Indexed",
                "completions": pods,
                "parallelism": pods,
                "template": {
                    "spec": {
                        "schedulingGroup": {"podGroupName": name},
                        "restartPolicy": "Never",
                        "nodeSelector": {"gpu-type": "a100"},
                        "tolerations": [
                            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                        ],
                        "containers": [
                            {
                                "name": "worker",
                                "image": "trainer:v1",
                                "resources": {"limits": {"nvidia.com/gpu": gpus}},
                            }
                        ],
                    }
                },
            },
        },
    )


def _job_pods(kube: Any, namespace: str, name: str) -> list[dict[str, Any]]:
    return list(
        kube.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=f"job-name={name}")["items"]
    )


def _podgroup_condition(kube: Any, namespace: str, name: str) -> dict[str, Any] | None:
    body = kube.get(f"{PODGROUPS.format(namespace=namespace)}/{name}")
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodGroupScheduled":
            return dict(condition)
    return None


def _wait(probe: Any, what: str, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what} not seen after {seconds}s", pytrace=False)


def test_a_gang_that_cannot_fit_whole_gets_no_pod_placed(kube: Any, scratch_namespace: str) -> None:
    # 5 pods x 4 GPUs on the default profile's 4 A100 nodes x 4 GPUs: 4 would fit alone.
    _gang_job(kube, scratch_namespace, "too-big", pods=5, gpus=4)
    condition = _wait(
        lambda: _podgroup_condition(kube, scratch_namespace, "too-big"),
        "the PodGroup's PodGroupScheduled condition",
    )
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    pods = _job_pods(kube, scratch_namespace, "too-big")
    assert len(pods) == 5
    assert [p["metadata"]["name"] for p in pods if p["spec"].get("nodeName")] == []


def test_a_gang_that_fits_is_placed_whole(kube: Any, scratch_namespace: str) -> None:
    _gang_job(kube, scratch_namespace, "fits", pods=2, gpus=1)

    def all_placed() -> list[dict[str, Any]] | None:
        pods = _job_pods(kube, scratch_namespace, "fits")
        return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None

    pods = _wait(all_placed, "both pods of the gang placed")
    assert all(p["spec"]["schedulingGroup"]["podGroupName"] == "fits" for p in pods)
