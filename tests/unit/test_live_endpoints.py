"""Which pods a Service's EndpointSlices must list before live checks read them."""

from __future__ import annotations

from typing import Any

from app.live.endpoints import listed


def _pod(name: str, phase: str, node: str | None) -> dict[str, Any]:
    spec = {"nodeName": node} if node else {}
    return {
        "metadata": {"name": name, "labels": {"app": "w"}},
        "spec": spec,
        "status": {"phase": phase},
    }


def _service(*pods: str) -> dict[str, Any]:
    return {"selector": {"app": "w"}, "endpoints": [{"pod": p} for p in pods]}


def test_a_running_pod_the_selector_matches_must_be_listed() -> None:
    pods = [_pod("w-0", "Running", "n0"), _pod("w-1", "Running", "n1")]
    assert not listed(_service("w-0"), pods, pods_start=True)
    assert listed(_service("w-0", "w-1"), pods, pods_start=True)


def test_on_kwok_a_bound_pod_not_yet_running_is_waited_for() -> None:
    # kwok marks a bound pod Running (and gives it an IP) a moment later; on a busy
    # machine that moment outlasts the settle grace, and the endpoints must catch up.
    pods = [_pod("w-0", "Running", "n0"), _pod("w-1", "Pending", "n1")]
    assert not listed(_service("w-0"), pods, pods_start=False)
    assert listed(_service("w-0", "w-1"), pods, pods_start=False)


def test_on_real_kubelets_a_pending_pod_is_not_waited_for() -> None:
    # A pod stuck pulling its image never gets an IP: waiting for it only burns time.
    pods = [_pod("w-0", "Running", "n0"), _pod("w-1", "Pending", "n1")]
    assert listed(_service("w-0"), pods, pods_start=True)


def test_unbound_and_unselected_pods_are_not_waited_for() -> None:
    other = _pod("x", "Running", "n0")
    other["metadata"]["labels"] = {"app": "other"}
    pods = [_pod("w-0", "Pending", None), other]
    assert listed(_service(), pods, pods_start=False)
