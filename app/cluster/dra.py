"""Dynamic Resource Allocation on the local cluster: the ResourceSlices a GPU driver
would publish, for nodes that no real driver runs on.

`kprep cluster up` (kwok) publishes, for every profile node whose `gpus` name a
`model`, one ResourceSlice (`resource.k8s.io/v1`) in a pool named after the
node, with devices `gpu-0` .. `gpu-N-1` carrying the attributes a real driver
reports (`productName`, `type`, `uuid`) and a `memory` capacity; and one
DeviceClass per driver that selects its devices. The real scheduler then
allocates ResourceClaims against them and places pods as it would on a real
cluster; kwok marks the pods Running (nothing prepares the devices, which no
test needs).

Drivers are named as the vendors' DRA drivers are: `gpu.nvidia.com`,
`gpu.amd.com`, `gpu.intel.com`. The same GPUs stay advertised as extended
resources (`nvidia.com/gpu`) for the device-plugin scenarios; a real cluster
would use one mechanism per GPU (or KEP-5004's extended-resource mapping), so
a DRA claim and an extended-resource request do not see each other's
allocations here.
"""

from __future__ import annotations

import hashlib
from typing import Any

from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube, Resource
from app.cluster.profiles import NodeSpec, Profile

DRIVERS = {
    "nvidia.com/gpu": "gpu.nvidia.com",
    "amd.com/gpu": "gpu.amd.com",
    "gpu.intel.com/i915": "gpu.intel.com",
    "gpu.intel.com/xe": "gpu.intel.com",
}
"""Device-plugin resource -> the vendor's DRA driver name."""
SLICE_RESOURCE = Resource("resource.k8s.io/v1", "ResourceSlice", "resourceslices", False)
CLASS_RESOURCE = Resource("resource.k8s.io/v1", "DeviceClass", "deviceclasses", False)
OWNED_LABEL = "kprep.dev/dra"


def _driver(node: NodeSpec) -> str | None:
    if not node.gpu_model or not node.gpu_resource:
        return None
    return DRIVERS.get(node.gpu_resource)


def device_classes(profile: Profile) -> list[dict[str, Any]]:
    """One DeviceClass per driver the profile's nodes use, named after the driver."""
    drivers = sorted({d for d in (_driver(n) for n in profile.nodes) if d})
    return [
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": driver, "labels": {OWNED_LABEL: "true"}},
            "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{driver}"'}}]},
        }
        for driver in drivers
    ]


def resource_slices(profile: Profile) -> list[dict[str, Any]]:
    """One ResourceSlice per GPU node with a model: its GPUs as DRA devices."""
    slices = []
    for node in profile.nodes:
        driver = _driver(node)
        if driver is None:
            continue
        devices = []
        for index in range(node.gpu_count):
            digest = hashlib.sha1(f"{profile.name}/{node.name}/{index}".encode()).hexdigest()
            device: dict[str, Any] = {
                "name": f"gpu-{index}",
                "attributes": {
                    "productName": {"string": node.gpu_model},
                    "type": {"string": "gpu"},
                    "index": {"int": index},
                    "uuid": {"string": f"GPU-{digest[:8]}-{digest[8:12]}-{digest[12:16]}"},
                },
            }
            if node.gpu_memory:
                device["capacity"] = {"memory": {"value": node.gpu_memory}}
            devices.append(device)
        slices.append(
            {
                "apiVersion": "resource.k8s.io/v1",
                "kind": "ResourceSlice",
                "metadata": {
                    "name": f"{node.name}-{driver.replace('.', '-')}",
                    "labels": {OWNED_LABEL: "true"},
                },
                "spec": {
                    "driver": driver,
                    "nodeName": node.name,
                    "pool": {"name": node.name, "generation": 1, "resourceSliceCount": 1},
                    "devices": devices,
                },
            }
        )
    return slices


def publish(kube: Kube, profile: Profile) -> int:
    """Make the cluster's kprep-published DeviceClasses and ResourceSlices the profile's.

    Returns how many slices are published. Objects of another profile are deleted.
    """
    wanted = [*device_classes(profile), *resource_slices(profile)]
    try:
        for resource in (SLICE_RESOURCE, CLASS_RESOURCE):
            names = {o["metadata"]["name"] for o in wanted if o["kind"] == resource.kind}
            existing = kube.get(resource.path(), labelSelector=f"{OWNED_LABEL}=true")
            for item in existing.get("items") or []:
                if item["metadata"]["name"] not in names:
                    kube.delete(resource.path(name=item["metadata"]["name"]))
        for manifest in wanted:
            kube.apply(manifest)
    except ApiError as exc:
        raise ClusterError(f"publishing the DRA devices failed: {exc}") from exc
    return sum(1 for o in wanted if o["kind"] == "ResourceSlice")
