"""The gang-scheduling-deadlock scenario's two sides on the real scheduler.

Kubernetes 1.36's alpha gang scheduling (feature gates GenericWorkload and
GangScheduling, API scheduling.k8s.io/v1alpha2, turned on by `kprep cluster up`:
docs/cluster-addons.md). Two 4-worker Jobs, one GPU per worker, on one 4-GPU node:

- without a PodGroup, workers that arrive interleaved (each Job first at parallelism 2,
  then 4, as two teams' jobs trickle in) end with two workers of each Job Running and
  two Pending, for good: the deadlock of the scenario's prompt;
- with a PodGroup of minCount 4 per job, the same interleaved arrivals end with one
  job running whole and the other holding nothing, its PodGroup
  `PodGroupScheduled=False`; when the first job goes, the second starts whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

NODE = "gpu-a100-0"
"""One A100 node of the default profile: 4 whole GPUs."""


def _job(name: str, parallelism: int, group: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "nodeSelector": {"kubernetes.io/hostname": NODE},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [
            {
                "name": "trainer",
                "image": f"registry.example.com/{name}:1",
                "command": ["torchrun", "--nnodes=4", "--nproc-per-node=1", "train.py"],
                "resources": {"limits": {"nvidia.com/gpu": 1}},
            }
        ],
    }
    if group:
        spec["schedulingGroup"] = {"podGroupName": group}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "completionMode": "Indexed",
            "completions": 4,
            "parallelism": parallelism,
            "backoffLimit": 0,
            "template": {"metadata": {"labels": {"team": name}}, "spec": spec},
        },
    }


def _pod_group(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "scheduling.k8s.io/v1alpha2",
        "kind": "PodGroup",
        "metadata": {"name": name},
        "spec": {"schedulingPolicy": {"gang": {"minCount": 4}}},
    }


def _state(kube: Any, namespace: str) -> dict[str, dict[str, int]]:
    """Job name -> {"bound": n, "refused": n, "waiting": n} over its live pods."""
    counts: dict[str, dict[str, int]] = {}
    for pod in kube.get(f"/api/v1/namespaces/{namespace}/pods")["items"]:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        job = pod["metadata"]["labels"].get("job-name", "")
        entry = counts.setdefault(job, {"bound": 0, "refused": 0, "waiting": 0})
        refused = any(
            c["type"] == "PodScheduled" and c["status"] == "False"
            for c in pod["status"].get("conditions") or []
        )
        if pod["spec"].get("nodeName"):
            entry["bound"] += 1
        elif refused:
            entry["refused"] += 1
        else:
            entry["waiting"] += 1
    return counts


def _until(what: str, test: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not test():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f}s: {what}", pytrace=False)
        time.sleep(0.3)


def _gang_api(kube: Any) -> None:
    from app.cluster.kube import ApiError

    try:
        kube.get("/apis/scheduling.k8s.io/v1alpha2/podgroups")
    except ApiError as exc:
        pytest.fail(
            f"the cluster does not serve scheduling.k8s.io/v1alpha2 PodGroups ({exc}); "
            "`kprep cluster up` creates the kwok cluster with the gang-scheduling gates",
            pytrace=False,
        )


def test_without_gang_scheduling_two_half_started_jobs_wait_forever(
    kube: Any, scratch_namespace: str
) -> None:
    ns = scratch_namespace
    for name in ("team-a", "team-b"):
        kube.create(_job(name, 2), namespace=ns)
    _until(
        "each Job's first two workers are bound",
        lambda: all(_state(kube, ns).get(n, {}).get("bound") == 2 for n in ("team-a", "team-b")),
    )
    for name in ("team-a", "team-b"):
        kube.request(
            "PATCH",
            f"/apis/batch/v1/namespaces/{ns}/jobs/{name}",
            body={"spec": {"parallelism": 4}},
            content_type="application/merge-patch+json",
        )
    _until(
        "the other workers are refused",
        lambda: all(_state(kube, ns).get(n, {}).get("refused") == 2 for n in ("team-a", "team-b")),
    )
    time.sleep(5)  # and it stays so: nobody gives a GPU back
    assert _state(kube, ns) == {
        "team-a": {"bound": 2, "refused": 2, "waiting": 0},
        "team-b": {"bound": 2, "refused": 2, "waiting": 0},
    }


def _pod(team: str, index: int) -> dict[str, Any]:
    """Worker `index` of a team's job as a bare pod in the team's PodGroup (the Job
    controller would make the same pod; bare pods let the test choose the arrival order)."""
    template = _job(team, 4, group=team)["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{team}-{index}", "labels": {"job-name": team, "team": team}},
        "spec": template["spec"],
    }


def test_with_gang_scheduling_one_job_runs_whole_and_the_other_waits(
    kube: Any, scratch_namespace: str
) -> None:
    """The same interleaved arrivals as the deadlock (A0 A1 B0 B1 A2 A3 B2 B3), each
    worker in its team's PodGroup of minCount 4."""
    _gang_api(kube)
    ns = scratch_namespace
    for name in ("team-a", "team-b"):
        kube.create(_pod_group(name), namespace=ns)
    for team, index in [("team-a", 0), ("team-a", 1), ("team-b", 0), ("team-b", 1)]:
        kube.create(_pod(team, index), namespace=ns)
    time.sleep(2)  # the scheduler has seen half of each gang: it binds nothing yet
    assert all(v["bound"] == 0 for v in _state(kube, ns).values()), _state(kube, ns)
    for team, index in [("team-a", 2), ("team-a", 3), ("team-b", 2), ("team-b", 3)]:
        kube.create(_pod(team, index), namespace=ns)

    def settled() -> bool:
        state = _state(kube, ns)
        return sorted(state.get(n, {}).get("bound", 0) for n in ("team-a", "team-b")) == [0, 4]

    _until("one job bound whole (4/4) and the other not at all", settled)
    time.sleep(3)
    state = _state(kube, ns)
    winner = next(n for n in ("team-a", "team-b") if state[n]["bound"] == 4)
    loser = "team-b" if winner == "team-a" else "team-a"
    assert state[loser]["bound"] == 0 and state[loser]["refused"] + state[loser]["waiting"] == 4
    group = kube.get(f"/apis/scheduling.k8s.io/v1alpha2/namespaces/{ns}/podgroups/{loser}")
    conditions = {c["type"]: c for c in (group.get("status") or {}).get("conditions") or []}
    assert conditions["PodGroupScheduled"]["status"] == "False"
    assert conditions["PodGroupScheduled"]["reason"] == "Unschedulable"

    # The first team's job goes: the second starts whole.
    kube.request(
        "DELETE",
        f"/api/v1/namespaces/{ns}/pods",
        body={"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0},
        query={"labelSelector": f"team={winner}"},
    )
    _until(
        f"{loser} bound whole once {winner} is gone",
        lambda: _state(kube, ns).get(loser, {}).get("bound") == 4,
        seconds=60,
    )
