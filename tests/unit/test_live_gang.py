"""Which unbound pods Kubernetes' gang scheduling holds back, and what the report says
about them (app.live.gang; the live side is tests/live/test_gang_live.py and the
gang-scheduling-deadlock scenario's PodGroup variant)."""

from __future__ import annotations

from typing import Any

from app.live import gang, observe
from app.live.placement import build_tree


def _pod(name: str, group: str | None, node: str = "", refused: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "w"}]}
    if group:
        spec["schedulingGroup"] = {"podGroupName": group}
    if node:
        spec["nodeName"] = node
    status: dict[str, Any] = {"phase": "Pending"}
    if refused:
        status["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/5 nodes are available: 5 Insufficient nvidia.com/gpu.",
            }
        ]
    return {"metadata": {"name": name}, "spec": spec, "status": status}


def _group(name: str, min_count: int | None, verdict: str | None = None) -> dict[str, Any]:
    policy: dict[str, Any] = (
        {"basic": {}} if min_count is None else {"gang": {"minCount": min_count}}
    )
    group: dict[str, Any] = {"metadata": {"name": name}, "spec": {"schedulingPolicy": policy}}
    if verdict:
        group["status"] = {
            "conditions": [
                {
                    "type": "PodGroupScheduled",
                    "status": "False",
                    "reason": verdict,
                    "message": "pod group is unschedulable",
                }
            ]
        }
    return group


def test_pods_naming_a_missing_pod_group_are_held_with_the_name() -> None:
    pods = [_pod("b-0", "team-b"), _pod("b-1", "team-b")]
    held = gang.held_pods(pods, {})
    assert set(held) == {"b-0", "b-1"}
    assert held["b-0"]["reason"] == gang.HELD_NO_GROUP
    assert "PodGroup team-b, which does not exist" in held["b-0"]["message"]


def test_a_gang_short_of_its_min_count_holds_every_pod() -> None:
    groups = {"team-a": _group("team-a", 4)}
    pods = [_pod(f"a-{i}", "team-a") for i in range(3)]
    held = gang.held_pods(pods, groups)
    assert set(held) == {"a-0", "a-1", "a-2"}
    assert held["a-0"]["reason"] == gang.HELD_NO_QUORUM
    assert "minCount 4 but only 3 pod(s)" in held["a-0"]["message"]


def test_a_full_gang_waits_for_the_scheduler_not_for_more_pods() -> None:
    groups = {"team-a": _group("team-a", 4)}
    pods = [_pod(f"a-{i}", "team-a") for i in range(4)]
    assert gang.held_pods(pods, groups) == {}


def test_pods_with_a_verdict_bound_pods_basic_groups_and_plain_pods_are_not_held() -> None:
    groups = {"team-a": _group("team-a", 4), "basic": _group("basic", None)}
    pods = [
        _pod("a-0", "team-a", refused=True),
        _pod("a-1", "team-a", node="a100-full-0"),
        _pod("basic-0", "basic"),
        _pod("plain-0", None),
    ]
    assert gang.held_pods(pods, groups) == {}


def test_the_group_note_names_the_gang_and_the_schedulers_verdict_on_it() -> None:
    groups = {"team-b": _group("team-b", 4, verdict="Unschedulable")}
    note = gang.group_note(_pod("b-0", "team-b", refused=True), groups)
    assert note.startswith("gang team-b (minCount 4): PodGroupScheduled=False, Unschedulable")
    assert "none of its pods is bound until 4 fit together" in note
    assert gang.group_note(_pod("b-0", "team-b", node="a100-full-0"), groups) == ""
    assert gang.group_note(_pod("p-0", None), groups) == ""


def test_the_pod_view_carries_why_a_held_pod_waits() -> None:
    held = gang.held_pods([_pod("b-0", "team-b")], {})["b-0"]
    view = observe._pod_view(_pod("b-0", "team-b"), {}, {}, None, held)
    assert view["scheduled"] is False
    assert view["reason"] == gang.HELD_NO_GROUP
    assert "does not exist" in view["message"]


def test_the_placement_tree_says_why_a_gang_pod_waits() -> None:
    pods = [_pod("b-0", "team-b", refused=True), _pod("a-0", "team-a", node="a100-full-0")]
    roots = build_tree([], pods, waits={"b-0": "gang team-b (minCount 4): unschedulable"})
    leaves = {leaf.name: leaf for root in roots for leaf in root.all_pods()}
    assert leaves["b-0"].reason.endswith("; gang team-b (minCount 4): unschedulable")
    assert leaves["b-0"].reason.startswith("0/5 nodes are available")
    assert leaves["a-0"].reason == ""
