"""Interleaved arrival (app.live.arrival): which pods are gated, the order they are
released in, and when the scheduler has decided on one. The live side is the
gang-scheduling-deadlock scenario (`interleaveArrivals: true`) in
tests/live/test_differential.py and tests/live/test_gang_grading.py."""

from __future__ import annotations

from typing import Any

from app.live import arrival


def _job(name: str) -> dict[str, Any]:
    return {
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"parallelism": 4, "template": {"spec": {"containers": [{"name": "t"}]}}},
    }


def _pod(job: str, index: int, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"{job}-{index}-x",
            "labels": {arrival.INDEX_LABEL: str(index)},
            "ownerReferences": [{"kind": "Job", "name": job, "controller": True}],
        },
        "spec": {"schedulingGates": [{"name": arrival.GATE}]},
        "status": status,
    }


def test_a_workload_gets_the_gate_in_its_pod_template_and_loses_it_when_read_back() -> None:
    job = _job("team-a")
    job["spec"]["template"]["spec"]["schedulingGates"] = [{"name": "theirs"}]
    gated = arrival.gated(job)
    assert gated is not None
    assert gated["spec"]["template"]["spec"]["schedulingGates"] == [
        {"name": "theirs"},
        {"name": arrival.GATE},
    ]
    assert job["spec"]["template"]["spec"]["schedulingGates"] == [{"name": "theirs"}]
    restored = arrival.without_gate(gated)
    assert restored["spec"]["template"]["spec"]["schedulingGates"] == [{"name": "theirs"}]
    only_ours = arrival.gated(_job("team-b"))
    assert "schedulingGates" not in arrival.without_gate(only_ours)["spec"]["template"]["spec"]


def test_objects_without_a_pod_template_are_not_gated() -> None:
    assert arrival.gated({"kind": "Service", "spec": {"clusterIP": "None"}}) is None
    assert arrival.gated({"kind": "PodGroup", "spec": {"schedulingPolicy": {}}}) is None


def test_pods_are_released_in_turns_by_completion_index() -> None:
    pods = [_pod("team-b", i) for i in (3, 1, 0, 2)] + [_pod("team-a", i) for i in (2, 0, 1)]
    order = [p["metadata"]["name"] for p in arrival.turns(pods, ["Job/team-a", "Job/team-b"])]
    assert order == [
        "team-a-0-x",
        "team-b-0-x",
        "team-a-1-x",
        "team-b-1-x",
        "team-a-2-x",
        "team-b-2-x",
        "team-b-3-x",
    ]


def test_a_released_pod_is_decided_when_bound_refused_or_held_not_while_still_marked_gated() -> (
    None
):
    gated_verdict = {
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    }
    pod = _pod("team-a", 0, **gated_verdict)
    pod["spec"]["schedulingGates"] = []
    assert not arrival.decided(pod, {})
    assert arrival.decided(pod, {"team-a-0-x": {"reason": "GangQuorumNotMet", "message": ""}})
    refused = _pod(
        "team-a",
        0,
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    )
    assert arrival.decided(refused, {})
    bound = _pod("team-a", 0)
    bound["spec"]["nodeName"] = "a100-full-0"
    assert arrival.decided(bound, {})


class _Kube:
    """Serves gated pods; one of them vanishes before its release (404 on the patch)."""

    def __init__(self, pods: list[dict[str, Any]], gone: str) -> None:
        self.pods = {p["metadata"]["name"]: p for p in pods}
        self.gone = gone
        self.released: list[str] = []

    def get(self, path: str) -> dict[str, Any]:
        name = path.rsplit("/", 1)[-1]
        if name in self.pods:
            return self.pods[name]
        return {"items": list(self.pods.values())}

    def request(self, method: str, path: str, **kwargs: Any) -> None:
        from app.cluster.kube import ApiError

        name = path.rsplit("/", 1)[-1]
        if name == self.gone:
            raise ApiError(404, {"reason": "NotFound", "message": f"pods {name} not found"})
        self.released.append(name)
        self.pods[name]["spec"] = {"nodeName": "n0"}  # bound at once


def test_a_pod_gone_before_its_turn_is_skipped_and_the_rest_released() -> None:
    import time

    pods = [_pod("a", 0), _pod("a", 1), _pod("b", 0)]
    kube = _Kube(pods, gone="a-0-x")
    job_a, job_b = _job("a"), _job("b")
    job_a["spec"]["parallelism"], job_b["spec"]["parallelism"] = 2, 1
    arrival.release_in_turns(kube, "ns", [job_a, job_b], time.monotonic() + 5)  # type: ignore[arg-type]
    assert kube.released == ["b-0-x", "a-1-x"]
