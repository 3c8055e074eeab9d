"""Switching the kwok cluster's profile between scenarios, as `kprep check --live` does.

kwok plays a node's pods only while it holds the node's Lease. A node recreated under
its old name inherits the old node's Lease, which the garbage collector then deletes,
and kwok makes a new one only a renew interval (50 s) later: meanwhile every pod bound
to that node stays Pending (a CI failure: two of four training workers never started).
"""

from __future__ import annotations

import time
from typing import Any

from app.cluster.kwok_nodes import LEASES_PATH, leases_not_current
from tests.conftest import REPO


def _uids(kube: Any) -> dict[str, str]:
    nodes = kube.get("/api/v1/nodes").get("items") or []
    return {n["metadata"]["name"]: n["metadata"]["uid"] for n in nodes}


def _pod(name: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    }


def test_pods_on_nodes_kept_or_readded_across_a_profile_switch_start_at_once(
    cluster: Any, provider: Any, scratch_namespace: str
) -> None:
    from app.cluster.profiles import load_profile

    kube = cluster.kube
    before = _uids(kube)
    assert {"cpu-0", "cpu-1"} <= set(before)
    quiet = lambda *_: None  # noqa: E731
    sharing, default = load_profile("sharing", REPO), load_profile("default", REPO)
    assert "cpu-1" not in {n.name for n in sharing.nodes}  # removed, then added back
    try:
        provider.ensure_profile(sharing, echo=quiet)
        assert _uids(kube)["cpu-0"] == before["cpu-0"], "a kept node must not be recreated"
    finally:
        provider.ensure_profile(default, echo=quiet)
    after = _uids(kube)
    assert after["cpu-0"] == before["cpu-0"]
    assert after["cpu-1"] != before["cpu-1"]
    nodes = kube.get("/api/v1/nodes").get("items") or []
    assert leases_not_current(nodes, kube.get(LEASES_PATH).get("items") or []) == []

    pods = f"/api/v1/namespaces/{scratch_namespace}/pods"
    for node in ("cpu-0", "cpu-1"):
        kube.request("POST", pods, body=_pod(f"on-{node}", node))
    deadline = time.monotonic() + 10
    phases: dict[str, str] = {}
    while time.monotonic() < deadline:
        items = kube.get(pods).get("items") or []
        phases = {p["metadata"]["name"]: (p.get("status") or {}).get("phase", "") for p in items}
        if phases and all(phase == "Running" for phase in phases.values()):
            break
        time.sleep(0.2)
    assert phases == {"on-cpu-0": "Running", "on-cpu-1": "Running"}, phases
