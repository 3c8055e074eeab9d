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


def test_on_kwok_a_pod_started_late_on_purpose_is_not_waited_for() -> None:
    # Autoscaling runs annotate pods that kwok starts after a delay: they are not late.
    slow = _pod("w-1", "Pending", "n1")
    slow["metadata"]["annotations"] = {"kprep.dev/start-after": "20s"}
    assert listed(_service(), [slow], pods_start=False)


class _Kube:
    """Serves a namespace whose EndpointSlices never catch up, counting the reads."""

    def __init__(self, pods: list[dict[str, Any]]) -> None:
        self.pods = pods
        self.reads = 0

    def get(self, path: str) -> dict[str, Any]:
        self.reads += 1
        if path.endswith("/services"):
            service = {"metadata": {"name": "w"}, "spec": {"selector": {"app": "w"}}}
            return {"items": [service]}
        if path.endswith("/pods"):
            return {"items": self.pods}
        return {"items": []}


def _listed_on_kwok(kube: _Kube, cancel: Any = None) -> Any:
    from app.live import endpoints

    return endpoints.services_listed(
        kube,  # type: ignore[arg-type]
        "ns",
        kube.pods,
        pods_start=False,
        cancel=cancel,
    )


def test_a_service_still_behind_when_the_wait_ends_is_reported_not_hidden(
    monkeypatch: Any,
) -> None:
    from app.live import endpoints

    monkeypatch.setattr(endpoints, "ENDPOINTS_SECONDS", 0.3)
    monkeypatch.setattr(endpoints, "POLL_SECONDS", 0.05)
    kube = _Kube([_pod("w-0", "Pending", "n0")])
    services, _, problems = _listed_on_kwok(kube)
    assert kube.reads > 3  # it polled rather than giving up at once
    assert [s["name"] for s in services] == ["w"]
    assert len(problems) == 1 and "w-0" in problems[0] and "Service w" in problems[0]


def test_a_cancelled_wait_returns_at_once_without_blaming_the_cluster() -> None:
    import threading

    cancel = threading.Event()
    cancel.set()
    kube = _Kube([_pod("w-0", "Pending", "n0")])
    _, _, problems = _listed_on_kwok(kube, cancel)
    assert problems == [] and kube.reads == 2
