"""Cluster profiles: the nodes a scenario's live checks run against.

A profile is a YAML file in the course's `profiles/` folder. It lists node
groups; each group expands to `count` nodes named `<group>-<i>` with the
group's labels, taints, capacity and GPUs. Every provider (kwok, kind) realises
the same expanded node list, so a scenario passes or fails the same way on both.
See `profiles/README.md` for the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

GPU_RESOURCE_DEFAULT = "nvidia.com/gpu"
ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"


class ProfileError(Exception):
    """A profile file is missing or malformed; the message names the file and field."""


@dataclass(frozen=True)
class Taint:
    """A node taint, as in `Node.spec.taints`."""

    key: str
    effect: str
    value: str | None = None

    def as_dict(self) -> dict[str, str]:
        data = {"key": self.key, "effect": self.effect}
        if self.value is not None:
            data["value"] = self.value
        return data

    def as_kubeadm_arg(self) -> str:
        """The `key=value:Effect` form kubelet's --register-with-taints takes."""
        value = f"={self.value}" if self.value is not None else ""
        return f"{self.key}{value}:{self.effect}"


@dataclass(frozen=True)
class NodeSpec:
    """One node of an expanded profile."""

    name: str
    """Node name, also its `kubernetes.io/hostname` label."""
    group: str
    """The node group it came from."""
    labels: dict[str, str]
    """All labels, hostname and zone included."""
    taints: tuple[Taint, ...]
    capacity: dict[str, str]
    """cpu, memory, pods and the GPU resource (when the node has GPUs)."""
    gpu_resource: str | None
    """Extended resource name of the node's GPUs (`nvidia.com/gpu`, `amd.com/gpu`, ...)."""
    gpu_count: int
    """How many GPUs the node advertises; 0 for CPU-only nodes."""
    extra_resources: dict[str, int] = field(default_factory=dict)
    """Further device resources from the group's `extraResources` (MIG slices, ...)."""
    gpu_model: str | None = None
    """The GPUs' product name as the driver reports it (`NVIDIA A100-SXM4-40GB`), for the
    DRA ResourceSlices `kprep cluster up` publishes; None publishes none."""
    gpu_memory: str | None = None
    """Memory per GPU as a quantity (`40Gi`), the devices' `memory` capacity in DRA."""

    @property
    def zone(self) -> str | None:
        return self.labels.get(ZONE_LABEL)

    @property
    def device_resources(self) -> dict[str, int]:
        """Every device-plugin resource of the node: its GPUs, then `extraResources`."""
        devices = {self.gpu_resource: self.gpu_count} if self.gpu_resource else {}
        devices.update(self.extra_resources)
        return devices


@dataclass(frozen=True)
class Profile:
    """A named cluster shape."""

    name: str
    description: str
    nodes: tuple[NodeSpec, ...]
    path: Path | None = None
    crds: tuple[str, ...] = field(default_factory=tuple)
    """CRD manifest files (relative to the profile) installed by `kprep cluster up`."""

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def crd_path(self, entry: str, course_dir: Path) -> Path:
        """Where a `crds:` entry lives: relative to the course folder, else to the profile file.

        Returns the course-relative path when neither exists, so errors name it.
        """
        candidates = [course_dir / entry]
        if self.path is not None:
            candidates.append(self.path.parent / entry)
        return next((c for c in candidates if c.is_file()), candidates[0])

    @property
    def gpu_nodes(self) -> tuple[NodeSpec, ...]:
        return tuple(n for n in self.nodes if n.gpu_count > 0)

    @property
    def device_nodes(self) -> tuple[NodeSpec, ...]:
        """Nodes with any device resource (GPUs or `extraResources`)."""
        return tuple(n for n in self.nodes if n.device_resources)


def profiles_dir(course_dir: Path) -> Path:
    return course_dir / "profiles"


def list_profiles(course_dir: Path) -> list[str]:
    folder = profiles_dir(course_dir)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_profile(name_or_path: str, course_dir: Path) -> Profile:
    """Load a profile by name (from the course) or by file path, and expand it."""
    candidate = Path(name_or_path)
    path = candidate if candidate.suffix in (".yaml", ".yml") else None
    if path is None:
        path = profiles_dir(course_dir) / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(list_profiles(course_dir)) or "none"
        raise ProfileError(f"unknown cluster profile {name_or_path!r} (known: {known})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read profile: {exc}") from exc
    return parse_profile(raw, path)


def _require(data: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise ProfileError(f"{where}: missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise ProfileError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}")
    return value


def _extra_resources(group: dict[str, Any], where: str) -> dict[str, int]:
    """The optional `extraResources: {resource: count}` map of a node group."""
    raw = group.get("extraResources") or {}
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}.extraResources: expected a mapping of resource to count")
    extra: dict[str, int] = {}
    for resource, amount in raw.items():
        if "/" not in str(resource):
            raise ProfileError(
                f"{where}.extraResources: {resource!r} is not an extended "
                "resource name like nvidia.com/mig-1g.5gb"
            )
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
            raise ProfileError(f"{where}.extraResources.{resource}: a whole number above 0")
        extra[str(resource)] = amount
    return extra


def parse_profile(raw: Any, path: Path | None = None) -> Profile:
    where = str(path) if path else "profile"
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: a profile is a mapping")
    name = _require(raw, "name", where, str)
    groups = _require(raw, "nodeGroups", where, list)
    nodes: list[NodeSpec] = []
    seen: set[str] = set()
    for index, group in enumerate(groups):
        gwhere = f"{where}: nodeGroups[{index}]"
        if not isinstance(group, dict):
            raise ProfileError(f"{gwhere}: a node group is a mapping")
        gname = _require(group, "name", gwhere, str)
        count = group.get("count", 1)
        if not isinstance(count, int) or count < 1 or count > 100:
            raise ProfileError(f"{gwhere}.count: a whole number from 1 to 100")
        zones = group.get("zones") or []
        labels = {str(k): str(v) for k, v in (group.get("labels") or {}).items()}
        taints = tuple(
            Taint(
                key=str(t["key"]),
                effect=str(t["effect"]),
                value=None if t.get("value") is None else str(t["value"]),
            )
            for t in (group.get("taints") or [])
        )
        capacity = {str(k): str(v) for k, v in _require(group, "capacity", gwhere, dict).items()}
        for needed in ("cpu", "memory", "pods"):
            if needed not in capacity:
                raise ProfileError(f"{gwhere}.capacity: missing {needed!r}")
        gpus = group.get("gpus") or {}
        if not isinstance(gpus, dict):
            raise ProfileError(f"{gwhere}.gpus: a mapping (resource, count, model, memory)")
        gpu_count = int(gpus.get("count", 0))
        gpu_model = str(gpus["model"]) if gpus.get("model") else None
        gpu_memory = str(gpus["memory"]) if gpus.get("memory") else None
        gpu_resource = str(gpus.get("resource", GPU_RESOURCE_DEFAULT)) if gpu_count else None
        extra_resources = _extra_resources(group, gwhere)
        if gpu_resource in extra_resources:
            raise ProfileError(f"{gwhere}.extraResources: {gpu_resource!r} is already in gpus")
        for i in range(count):
            node_name = f"{gname}-{i}"
            if node_name in seen:
                raise ProfileError(f"{gwhere}: node name {node_name!r} repeats")
            seen.add(node_name)
            node_labels = {
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                **labels,
                HOSTNAME_LABEL: node_name,
            }
            if zones:
                node_labels[ZONE_LABEL] = str(zones[i % len(zones)])
            node_capacity = dict(capacity)
            if gpu_resource:
                node_capacity[gpu_resource] = str(gpu_count)
            for resource, amount in extra_resources.items():
                node_capacity[resource] = str(amount)
            nodes.append(
                NodeSpec(
                    node_name,
                    gname,
                    node_labels,
                    taints,
                    node_capacity,
                    gpu_resource,
                    gpu_count,
                    dict(extra_resources),
                    gpu_model if gpu_count else None,
                    gpu_memory if gpu_count else None,
                )
            )
    crds = tuple(str(c) for c in (raw.get("crds") or []))
    return Profile(
        name=name,
        description=str(raw.get("description", "")),
        nodes=tuple(nodes),
        path=path,
        crds=crds,
    )
