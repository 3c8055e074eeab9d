"""The kind `Cluster` config kprep renders for a profile, and how cpu/memory are scaled.

One control plane and one worker per profile node. Each worker gets the profile
node's labels at creation (`nodes[].labels`) plus `kprep.dev/node=<profile node>`
and `kprep.dev/profile=<profile>`, and its taints through a kubeadm
`JoinConfiguration` patch. Beyond that, settings every kind cluster of kprep's
gets, whichever node image it runs (kprep's own or the public `kindest/node`):

- **No network add-on, no kube-proxy, no CoreDNS.** `disableDefaultCNI: true` and a
  static conflist per node (the `ptp` and `host-local` plugins both images ship, a
  /24 of its own per node), mounted into `/etc/cni/net.d`; `kubeProxyMode: none`;
  kubeadm's `addon/coredns` phase skipped. Nothing kprep checks needs Service
  routing or in-cluster DNS, and on kwok none of them exist either: their pods
  would only take scheduling room the profile's nodes do not lose on kwok.
- **`failCgroupV1: false`** in the kubelet config when Docker runs on cgroup v1:
  kubelet 1.35+ refuses to start on v1 otherwise.
- **Memory eviction threshold 0** (`evictionHard.memory.available: "0%"`), so a
  worker's allocatable memory is its capacity minus what kprep reserves, exactly.
- **cpu and memory in proportion** (`Scale`): every kind node has the Docker host's
  cpu and memory, whatever the profile says. kprep reserves on each worker
  (`--system-reserved`) what makes its allocatable the profile node's capacity
  times one factor per resource (the host over the profile's largest node), and the
  live grader scales each answer's requests by the same factor, so what fits where
  is the profile's, as on kwok. The factors are recorded with the cluster.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from app.cluster.nodes import PROFILE_NODE_LABEL
from app.cluster.profiles import NodeSpec, Profile, Taint
from app.k8s.quantity import QuantityError, parse_quantity

CLUSTER_NAME = "kprep"
NODE_LABEL = PROFILE_NODE_LABEL
"""On every worker: the profile node it realises (kind names nodes itself)."""
PROFILE_LABEL = "kprep.dev/profile"
"""On every worker: the profile the cluster was created from."""
CNI_CONFIG_PATH = "/etc/cni/net.d/10-kprep.conflist"
POD_SUBNET = "10.244.0.0/16"
"""kind's default pod subnet; node `i` (control plane 0) gets 10.244.i.0/24."""
KUBEADM_API = "v1beta4"
"""The kubeadm config version kind v0.33 writes for Kubernetes 1.36."""
PLUGIN_CPU_REQUEST_MILLIS = 10
PLUGIN_MEMORY_REQUEST_BYTES = 32 * 1024 * 1024
"""What each device plugin pod requests (`manifests.py`): kept free on top of the
scaled profile capacity, so answers see exactly the profile's room."""


@dataclass(frozen=True)
class Scale:
    """How a profile's cpu and memory map onto kind workers that all have the host's size.

    `cpu` and `memory` are kind units per profile unit (a Fraction, at most 1 when
    the host is smaller than the profile's largest node). A worker's allocatable
    is its profile capacity times the factor (rounded down), plus what its device
    plugin pods request; an answer's request is multiplied by the factor and
    rounded up, so a pod that does not fit on the profile node does not fit on its
    worker either, and one that fits exactly still fits.
    """

    cpu: Fraction
    memory: Fraction
    host_cpu_millis: int
    host_memory_bytes: int

    @classmethod
    def fit(cls, profile: Profile, host_cpu_millis: int, host_memory_bytes: int) -> Scale:
        """The factors that fit the profile's largest node (per resource) onto the host."""
        biggest_cpu = max((_millis(n, "cpu") for n in profile.nodes), default=0)
        biggest_memory = max((_bytes(n, "memory") for n in profile.nodes), default=0)
        # Room for the plugin pods a worker runs, which the profile does not count.
        usable_cpu = host_cpu_millis - 2 * PLUGIN_CPU_REQUEST_MILLIS
        usable_memory = host_memory_bytes - 2 * PLUGIN_MEMORY_REQUEST_BYTES
        cpu = Fraction(usable_cpu, biggest_cpu) if biggest_cpu else Fraction(1)
        memory = Fraction(usable_memory, biggest_memory) if biggest_memory else Fraction(1)
        return cls(
            min(cpu, Fraction(1)), min(memory, Fraction(1)), host_cpu_millis, host_memory_bytes
        )

    def scaled_cpu_millis(self, profile_millis: Fraction) -> int:
        return math.ceil(profile_millis * self.cpu)

    def scaled_memory_bytes(self, profile_bytes: Fraction) -> int:
        return math.ceil(profile_bytes * self.memory)

    def reserved(self, node: NodeSpec, plugin_pods: int) -> tuple[int, int]:
        """(cpu millicores, memory bytes) to reserve on the node's worker."""
        cpu_room = (
            math.floor(_millis(node, "cpu") * self.cpu) + plugin_pods * PLUGIN_CPU_REQUEST_MILLIS
        )
        memory_room = (
            math.floor(_bytes(node, "memory") * self.memory)
            + plugin_pods * PLUGIN_MEMORY_REQUEST_BYTES
        )
        return (
            max(self.host_cpu_millis - cpu_room, 0),
            max(self.host_memory_bytes - memory_room, 0),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpu": [self.cpu.numerator, self.cpu.denominator],
            "memory": [self.memory.numerator, self.memory.denominator],
            "hostCpuMillis": self.host_cpu_millis,
            "hostMemoryBytes": self.host_memory_bytes,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Scale | None:
        """The recorded factors, or None when the record has none (or is broken)."""
        try:
            return cls(
                Fraction(*data["cpu"]),
                Fraction(*data["memory"]),
                int(data["hostCpuMillis"]),
                int(data["hostMemoryBytes"]),
            )
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return None


def _millis(node: NodeSpec, resource: str) -> Fraction:
    return _quantity(node, resource) * 1000


def _bytes(node: NodeSpec, resource: str) -> Fraction:
    return _quantity(node, resource)


def _quantity(node: NodeSpec, resource: str) -> Fraction:
    try:
        return parse_quantity(node.capacity.get(resource, "0"))
    except QuantityError:
        return Fraction(0)


@dataclass(frozen=True)
class ClusterSettings:
    """What the config depends on besides the profile: found at `up`, recorded with it."""

    node_image: str
    cgroup_v1: bool = False
    """Docker runs on cgroup v1: the kubelet must be told to accept it."""
    cni_dir: Path | None = None
    """Where the per-node conflists are written (host side of the mounts)."""
    scale: Scale | None = None
    """None: no reservations (a dry run without Docker to ask the host's size)."""


def worker_labels(profile: Profile, node: NodeSpec) -> dict[str, str]:
    """The labels a worker gets at creation: the profile's, plus kprep's two."""
    return {**node.labels, NODE_LABEL: node.name, PROFILE_LABEL: profile.name}


def plugin_pods_on(node: NodeSpec) -> int:
    """Device plugin pods on the node: one per device resource (`manifests.device_sets`)."""
    return len(node.device_resources)


def cni_conflist(index: int) -> dict[str, Any]:
    """Node `index`'s CNI config: ptp links with addresses from its own /24."""
    return {
        "cniVersion": "1.0.0",
        "name": "kprep",
        "plugins": [
            {
                "type": "ptp",
                "ipMasq": False,
                "mtu": 1500,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": f"10.244.{index}.0/24"}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def conflist_path(cni_dir: Path, index: int) -> Path:
    return cni_dir / f"node-{index}.conflist"


def write_conflists(cni_dir: Path, count: int) -> None:
    """Write the conflists `kind_config` mounts, for nodes 0..count-1."""
    cni_dir.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        text = json.dumps(cni_conflist(index), indent=2) + "\n"
        conflist_path(cni_dir, index).write_text(text, encoding="utf-8")


def _taint_patch(taints: tuple[Taint, ...]) -> str:
    patch = {
        "kind": "JoinConfiguration",
        "nodeRegistration": {"taints": [t.as_dict() for t in taints]},
    }
    return dump_yaml(patch)


def _reserved_patch(cpu_millis: int, memory_bytes: int) -> dict[str, Any]:
    """A JSON 6902 patch appending `--system-reserved` to kind's own kubelet arguments
    (a merge patch would replace kind's list: its node IP and labels)."""
    return {
        "group": "kubeadm.k8s.io",
        "version": KUBEADM_API,
        "kind": "JoinConfiguration",
        "patch": dump_yaml(
            [
                {
                    "op": "add",
                    "path": "/nodeRegistration/kubeletExtraArgs/-",
                    "value": {
                        "name": "system-reserved",
                        "value": f"cpu={cpu_millis}m,memory={memory_bytes}",
                    },
                }
            ]
        ),
    }


def _cluster_patches(settings: ClusterSettings) -> list[str]:
    init = {
        "kind": "InitConfiguration",
        # kind skips preflight itself; a merge patch replaces its list, so it is repeated.
        "skipPhases": ["preflight", "addon/kube-proxy", "addon/coredns"],
    }
    kubelet: dict[str, Any] = {
        "kind": "KubeletConfiguration",
        "evictionHard": {"memory.available": "0%"},
    }
    if settings.cgroup_v1:
        kubelet["failCgroupV1"] = False
    return [dump_yaml(init), dump_yaml(kubelet)]


def _mounts(settings: ClusterSettings, index: int) -> list[dict[str, Any]]:
    if settings.cni_dir is None:
        return []
    return [
        {
            "hostPath": str(conflist_path(settings.cni_dir, index)),
            "containerPath": CNI_CONFIG_PATH,
            "readOnly": True,
        }
    ]


def kind_config(profile: Profile, settings: ClusterSettings) -> dict[str, Any]:
    """The kind Cluster config for a profile, as data."""
    control_plane: dict[str, Any] = {"role": "control-plane", "image": settings.node_image}
    if mounts := _mounts(settings, 0):
        control_plane["extraMounts"] = mounts
    nodes: list[dict[str, Any]] = [control_plane]
    for index, node in enumerate(profile.nodes, start=1):
        worker: dict[str, Any] = {
            "role": "worker",
            "image": settings.node_image,
            "labels": worker_labels(profile, node),
        }
        if node.taints:
            worker["kubeadmConfigPatches"] = [_taint_patch(node.taints)]
        if settings.scale is not None:
            cpu, memory = settings.scale.reserved(node, plugin_pods_on(node))
            worker["kubeadmConfigPatchesJSON6902"] = [_reserved_patch(cpu, memory)]
        if mounts := _mounts(settings, index):
            worker["extraMounts"] = mounts
        nodes.append(worker)
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": CLUSTER_NAME,
        "networking": {
            "disableDefaultCNI": True,
            "kubeProxyMode": "none",
            "podSubnet": POD_SUBNET,
        },
        "kubeadmConfigPatches": _cluster_patches(settings),
        "nodes": nodes,
    }


def render_kind_config(profile: Profile, settings: ClusterSettings) -> str:
    """The kind Cluster config for a profile, as YAML (`kind create cluster --config`)."""
    header = (
        f"# kind cluster for kprep profile {profile.name!r}: 1 control plane, "
        f"{len(profile.nodes)} workers. Generated by kprep; do not edit.\n"
    )
    return header + dump_yaml(kind_config(profile, settings))


class _Dumper(yaml.SafeDumper):
    """Block style, no anchors; multi-line strings (kubeadm patches) as `|` literals."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
