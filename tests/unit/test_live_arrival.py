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
