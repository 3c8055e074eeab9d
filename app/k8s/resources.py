"""Resource names and amounts: which extended resources are GPUs, and how much a pod asks for.

One list of GPU resource names, with the MIG rule beside it, so "is this a
GPU" has one answer everywhere (offline checks, live checks, placement views,
`kprep cluster status`).
"""

from __future__ import annotations

from typing import Any

WHOLE_GPU_RESOURCES: tuple[str, ...] = (
    "nvidia.com/gpu",
    "amd.com/gpu",
    "gpu.intel.com/i915",
    "gpu.intel.com/xe",
)
"""Device-plugin resource names that stand for whole GPUs, by vendor (NVIDIA, AMD, Intel)."""
MIG_PREFIX = "nvidia.com/mig-"
"""The NVIDIA device plugin's mixed MIG strategy names each slice `nvidia.com/mig-<profile>`
(e.g. `nvidia.com/mig-1g.5gb`); a slice is a GPU partition, not a whole GPU."""


def is_mig_resource(name: str) -> bool:
    """`nvidia.com/mig-1g.5gb` and friends: MIG slices under the mixed strategy."""
    return name.startswith(MIG_PREFIX)


def is_gpu_resource(name: str) -> bool:
    """A whole GPU of any vendor, or a MIG slice."""
    return name in WHOLE_GPU_RESOURCES or is_mig_resource(name)


def is_extended_resource(name: str) -> bool:
    """Domain-qualified, not in the kubernetes.io domain, not `requests.*`
    (k8s.io/kubernetes/pkg/apis/core/helper: IsExtendedResourceName). cpu, memory,
    hugepages-* and `*.kubernetes.io/*` are native resources."""
    if "/" not in name or name.startswith("requests."):
        return False
    domain = name.split("/", 1)[0]
    return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io"))


def is_device_resource(name: str) -> bool:
    """An extended resource a node advertises (GPUs, MIG slices, RDMA devices, ...)."""
    return is_extended_resource(name)


def node_gpu_resource(allocatable: dict[str, Any]) -> str:
    """A node's main GPU resource: the first whole-GPU name it advertises, else its first
    MIG slice name, else ""."""
    whole = next((r for r in WHOLE_GPU_RESOURCES if r in allocatable), "")
    return whole or next((r for r in sorted(allocatable) if is_mig_resource(r)), "")


def int_quantity(value: Any) -> int:
    """A whole-number quantity as an int (device counts); 0 when it is not one."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def container_request(container: Any, resource: str) -> int:
    """Whole units of an extended resource one container asks for (limits, else requests)."""
    if not isinstance(container, dict):
        return 0
    resources = container.get("resources")
    if not isinstance(resources, dict):
        return 0
    for section in ("limits", "requests"):
        values = resources.get(section)
        if isinstance(values, dict) and resource in values:
            return int_quantity(values[resource])
    return 0


def _containers(spec: dict[str, Any], key: str) -> list[Any]:
    value = spec.get(key)
    return value if isinstance(value, list) else []


def pod_spec_request(spec: Any, resource: str) -> int:
    """What the scheduler counts for a pod spec: the sum over containers, or the largest
    init container when that is more (init containers run one at a time)."""
    if not isinstance(spec, dict):
        return 0
    main = sum(container_request(c, resource) for c in _containers(spec, "containers"))
    init = max(
        (container_request(c, resource) for c in _containers(spec, "initContainers")), default=0
    )
    return max(main, init)


def pod_request(pod: dict[str, Any], resource: str) -> int:
    """Whole units of an extended resource a Pod (API JSON) asks for."""
    return pod_spec_request(pod.get("spec"), resource)


def pod_spec_gpus(spec: Any) -> int:
    """Every GPU a pod spec asks for: whole GPUs of any vendor and MIG slices, summed."""
    if not isinstance(spec, dict):
        return 0
    names: set[str] = set()
    for key in ("containers", "initContainers"):
        for container in _containers(spec, key):
            resources = container.get("resources") if isinstance(container, dict) else None
            for section in ("limits", "requests"):
                values = resources.get(section) if isinstance(resources, dict) else None
                if isinstance(values, dict):
                    names.update(str(k) for k in values if is_gpu_resource(str(k)))
    return sum(pod_spec_request(spec, name) for name in sorted(names))
