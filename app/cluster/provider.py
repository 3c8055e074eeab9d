"""What every cluster provider offers, and which cluster is kprep's current one.

Two providers realise a profile: kwok (`app.cluster.kwok.KwokProvider`: a real
control plane as host processes, fake nodes) and kind
(`app.cluster.kind.KindProvider`: real kubelets in Docker). Both satisfy the
`Provider` protocol below, so `kprep cluster ...` and the live grader treat
them alike. `kprep cluster up` records the provider and profile it started in
`data_dir()/cluster/active.json`; the live grader reads that record to find the
kubeconfig, and `down` clears it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.cluster.errors import ClusterError
from app.cluster.profiles import Profile

Echo = Callable[[str], None]
PROVIDERS = ("kwok", "kind")
DEFAULT_PROVIDER = "kwok"


class NodeSummary(Protocol):
    """One row of `status()`: what `kprep cluster status` prints (read-only attributes)."""

    @property
    def name(self) -> str: ...

    @property
    def ready(self) -> bool: ...

    @property
    def labels(self) -> dict[str, str]: ...

    @property
    def taints(self) -> list[dict[str, str]]: ...

    @property
    def devices(self) -> Mapping[str, Any]:
        """Device resource name -> an object with `allocatable` and `used` counts."""
        ...

    @property
    def pods(self) -> list[str]: ...

    @property
    def gpu_allocatable(self) -> int: ...

    @property
    def gpu_used(self) -> int: ...


class Provider(Protocol):
    """A way to run a profile as a cluster (kwok, kind)."""

    name: str

    @property
    def kubeconfig_path(self) -> Path:
        """kprep's own kubeconfig for the cluster (never ~/.kube/config)."""
        ...

    def up(self, profile: Profile, *, dry_run: bool = False, echo: Echo = print) -> None:
        """Create or reuse the cluster for `profile`; return once every node is Ready."""
        ...

    def down(self) -> None:
        """Delete the cluster and its state; a no-op when there is none."""
        ...

    def status(self) -> Sequence[NodeSummary]:
        """Every node with labels, taints, device counts and pods. ClusterError if down."""
        ...


# -- status rows built from raw Node/Pod JSON (the kwok provider's) ----------------------------


@dataclass(frozen=True)
class DeviceUsage:
    allocatable: int
    used: int


@dataclass(frozen=True)
class NodeRow:
    """A node as `KwokProvider.status` reports it (same attributes as kind's NodeStatus)."""

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

    @property
    def gpu_allocatable(self) -> int:
        return sum(d.allocatable for d in self.devices.values())

    @property
    def gpu_used(self) -> int:
        return sum(d.used for d in self.devices.values())


def int_quantity(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def pod_request(pod: dict[str, Any], resource: str) -> int:
    """Whole units of an extended resource a pod asks for (limits, else requests)."""
    spec = pod.get("spec") or {}

    def amount(container: dict[str, Any]) -> int:
        resources = container.get("resources") or {}
        for section in ("limits", "requests"):
            values = resources.get(section) or {}
            if resource in values:
                return int_quantity(values[resource])
        return 0

    main = sum(amount(c) for c in spec.get("containers") or [])
    init = max((amount(c) for c in spec.get("initContainers") or []), default=0)
    return max(main, init)


def _unfinished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


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
        if "/" in resource
    }
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
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
        ready,
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
    """Summaries of raw Node JSON with the pods bound to each."""
    by_node: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name:
            by_node.setdefault(node_name, []).append(pod)
    rows = [
        node_row(
            node, by_node.get(str((node.get("metadata") or {}).get("name")), []), profile_node_label
        )
        for node in nodes
    ]
    return sorted(rows, key=lambda r: r.name)


# -- the active cluster record ---------------------------------------------------------------


def cluster_root() -> Path:
    """`data_dir()/cluster`: every provider keeps its state in a subfolder here."""
    from app.paths import data_dir

    return data_dir() / "cluster"


@dataclass(frozen=True)
class ActiveCluster:
    provider: str
    profile: str


def _active_path() -> Path:
    return cluster_root() / "active.json"


def record_active(provider: str, profile: str) -> None:
    path = _active_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"provider": provider, "profile": profile}) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_active() -> ActiveCluster | None:
    try:
        data = json.loads(_active_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("provider") not in PROVIDERS:
        return None
    return ActiveCluster(str(data["provider"]), str(data.get("profile") or "default"))


def clear_active(provider: str | None = None) -> None:
    """Forget the active cluster (only if it is `provider`'s, when given)."""
    active = read_active()
    if active is None or provider is None or active.provider == provider:
        _active_path().unlink(missing_ok=True)


def make_provider(name: str, course_dir: Path) -> Provider:
    if name == "kwok":
        from app.cluster.kwok import KwokProvider

        return KwokProvider(course_dir)
    if name == "kind":
        from app.cluster.kind import KindProvider

        return KindProvider(course_dir)
    raise ClusterError(f"unknown provider {name!r} (known: {', '.join(PROVIDERS)})")
