"""Node rows: one summary per node (labels, taints, device counts, pods), for both providers.

`kprep cluster status`, the kind provider's readiness wait and the terminal app
read nodes through these rows, built from raw Node and Pod JSON the same way
whichever provider realised the profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.k8s.resources import int_quantity, is_device_resource, pod_request

PROFILE_NODE_LABEL = "kprep.dev/node"
"""On every node a provider creates: the profile node it realises. kwok names nodes after
it; kind names them itself (`kprep-worker3`), so this label is how both are read alike."""


@dataclass(frozen=True)
class DeviceUsage:
    """Allocatable and in-use counts of one device resource on one node."""

    allocatable: int
    used: int


@dataclass(frozen=True)
class NodeRow:
    """A node as `Provider.status` reports it."""

    name: str
    ready: bool
    labels: dict[str, str]
    taints: list[dict[str, str]]
    devices: dict[str, DeviceUsage]
    """Extended (device) resources by name: `nvidia.com/gpu` -> allocatable and used."""
    pods: list[str] = field(default_factory=list)
    """`namespace/name` of the pods on the node that have not finished."""
    profile_node: str | None = None
    """The profile node it realises when the provider names nodes itself (kind); else None."""
    problems: tuple[str, ...] = ()
    """How the node falls short of its profile node (kind: GPUs its plugin stopped
    advertising, e.g. the plugin crashed there); empty when it matches."""

    @property
    def gpu_allocatable(self) -> int:
        return sum(d.allocatable for d in self.devices.values())

    @property
    def gpu_used(self) -> int:
        return sum(d.used for d in self.devices.values())


def _unfinished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def node_ready(node: dict[str, Any]) -> bool:
    """The node's Ready condition is True."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )


def node_row(
    node: dict[str, Any], pods: Iterable[dict[str, Any]], profile_node_label: str | None = None
) -> NodeRow:
    """Summarise a Node (API JSON) and the pods bound to it (finished ones are ignored)."""
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    labels = dict(meta.get("labels") or {})
    mine = [p for p in pods if _unfinished(p)]
    devices = {
        resource: DeviceUsage(int_quantity(amount), sum(pod_request(p, resource) for p in mine))
        for resource, amount in sorted((status.get("allocatable") or {}).items())
        if is_device_resource(resource)
    }
    taints = [
        {k: str(t[k]) for k in ("key", "value", "effect") if t.get(k)}
        for t in (node.get("spec") or {}).get("taints") or []
    ]
    pod_names = sorted(
        f"{(p.get('metadata') or {}).get('namespace')}/{(p.get('metadata') or {}).get('name')}"
        for p in mine
    )
    return NodeRow(
        str(meta.get("name")),
        node_ready(node),
        labels,
        taints,
        devices,
        pod_names,
        labels.get(profile_node_label) if profile_node_label else None,
    )


def node_rows(
    nodes: Sequence[dict[str, Any]],
    pods: Sequence[dict[str, Any]],
    profile_node_label: str | None = None,
) -> list[NodeRow]:
    """Summaries of raw Node JSON with the pods bound to each, by name (profile name first
    when the provider names nodes itself)."""
    by_node: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name:
            by_node.setdefault(node_name, []).append(pod)
    rows = [
        node_row(
            node,
            by_node.get(str((node.get("metadata") or {}).get("name")), []),
            profile_node_label,
        )
        for node in nodes
    ]
    return sorted(rows, key=lambda r: (r.profile_node is not None, r.profile_node or r.name))
