"""What kprep applies on a kind cluster: the device plugin, and answers made runnable.

- `render_manifests(profile)`: the plugin's Namespace, ServiceAccount and one
  DaemonSet per (device resource, count) pair, pinned by node affinity on
  `kprep.dev/node` to exactly the nodes with that pair and tolerating their taints.
  `deploy/rbac.yaml` and `deploy/daemonset.yaml` are these manifests for the default
  profile (a test keeps them in step).
- `runnable_on_kind(manifest, placeholder, scale)`: the copy of an answer object the
  live grader applies on kind. Pods really start there, so every container runs the
  placeholder image the nodes already hold (`registry.k8s.io/pause`), without
  command, probes or lifecycle hooks (kwok ignores them too). Init containers (not
  sidecars) run `/pause -v`, which prints its version and exits 0, so the pod goes on
  to start; every main container keeps running, a Job's too, as kwok holds a Job's
  pods Running (for 10 minutes) while live checks look: a training Job's workers stay
  side by side, in their Service's endpoints, holding their GPUs. cpu and
  memory requests and limits, and ResourceQuota and LimitRange amounts, are scaled
  by the cluster's factors (`config.Scale`). Everything changed is recorded
  (`app.cluster.originals`) so live checks see the answer as written. Volumes
  from outside the node (`image`, `nfs`, `csi`, ...) become empty emptyDirs. Env, ports,
  other volumes, security context and scheduling fields are untouched.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app import __version__
from app.cluster import originals
from app.cluster.kind.config import (
    NODE_LABEL,
    PLUGIN_CPU_REQUEST_MILLIS,
    PLUGIN_MEMORY_REQUEST_BYTES,
    Scale,
    dump_yaml,
)
from app.cluster.profiles import NodeSpec, Profile
from app.k8s.quantity import QuantityError, parse_quantity

NAMESPACE = "kprep-system"
PLUGIN_NAME = "fake-gpu-plugin"
PLUGIN_IMAGE_REPO = "kprep/fake-gpu-plugin"
DEFAULT_PLUGIN_IMAGE = f"{PLUGIN_IMAGE_REPO}:{__version__}"
DEVICE_SET_LABEL = "kprep.dev/device-set"
"""On each plugin DaemonSet and its pods: `<resource slug>-x<count>`."""
IMAGE_ID_ANNOTATION = "kprep.dev/image-id"
DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"
HEALTH_DIR = "/var/lib/kprep/health"
"""On each GPU node (inside the kind container): `<resource slug>` files list unhealthy devices."""
DEFAULT_PLACEHOLDER_IMAGE = "registry.k8s.io/pause:3.10.2"
"""The pause image kprep's node image holds; `up` records the one the nodes really hold."""
REWRITTEN_FIELDS = (
    "image",
    "imagePullPolicy",
    "command",
    "args",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "resources",
)
_DEPENDENT_FIELDS = ("command", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle")
MIN_MEMORY_LIMIT_BYTES = 8 * 1024 * 1024
"""A scaled memory limit is raised to this: runc refuses containers below a few MiB."""
QUOTA_KEYS = {
    "cpu": "cpu",
    "requests.cpu": "cpu",
    "limits.cpu": "cpu",
    "memory": "memory",
    "requests.memory": "memory",
    "limits.memory": "memory",
}
"""ResourceQuota `hard` keys that count cpu or memory, and which."""


NOT_ON_KIND = {
    "TrainJob": "Kubeflow Trainer",
    "JobSet": "the JobSet controller",
    "PyTorchJob": "the Kubeflow training operator",
    "ResourceClaim": "a DRA driver",
    "ResourceClaimTemplate": "a DRA driver",
}
"""Kinds whose controller or driver runs next to the kwok provider only
(docs/cluster-addons.md): on kind they would be stored and never become placed pods."""


def missing_on_kind(kinds: Iterable[str]) -> str | None:
    """Why kind cannot show what these kinds would do, or None: the kinds it lacks."""
    lacking = sorted(k for k in set(kinds) if k in NOT_ON_KIND)
    if not lacking:
        return None
    what = sorted({NOT_ON_KIND[k] for k in lacking})
    return (
        f"the kind cluster runs no {' and no '.join(what)}, so its "
        f"{', '.join(lacking)} would create no placed pods; check this answer live on the "
        "kwok cluster (`kprep cluster up`), which runs them"
    )


def resource_slug(resource_name: str) -> str:
    """`nvidia.com/mig-1g.5gb` -> `nvidia-com-mig-1g-5gb` (same as the plugin's)."""
    return re.sub(r"[^a-z0-9]+", "-", resource_name.lower()).strip("-")


@dataclass(frozen=True)
class DeviceSet:
    """One plugin DaemonSet: a device resource, a count, and the nodes that have that pair."""

    resource: str
    count: int
    nodes: tuple[NodeSpec, ...]

    @property
    def name(self) -> str:
        return f"{PLUGIN_NAME}-{self.label}"

    @property
    def label(self) -> str:
        return f"{resource_slug(self.resource)}-x{self.count}"


def device_sets(profile: Profile) -> list[DeviceSet]:
    """Group the profile's nodes by (device resource, count), in a stable order."""
    grouped: dict[tuple[str, int], list[NodeSpec]] = {}
    for node in profile.nodes:
        for resource, count in node.device_resources.items():
            grouped.setdefault((resource, count), []).append(node)
    return [
        DeviceSet(resource, count, tuple(nodes))
        for (resource, count), nodes in sorted(grouped.items())
    ]


def _tolerations(nodes: Iterable[NodeSpec]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for node in nodes:
        for taint in node.taints:
            seen.setdefault((taint.key, taint.effect), None)
    return [{"key": key, "operator": "Exists", "effect": effect} for key, effect in sorted(seen)]


def _daemonset(device_set: DeviceSet, image: str, image_id: str | None) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/name": PLUGIN_NAME,
        "app.kubernetes.io/part-of": "kprep",
        DEVICE_SET_LABEL: device_set.label,
    }
    selector = {"app.kubernetes.io/name": PLUGIN_NAME, DEVICE_SET_LABEL: device_set.label}
    pod_metadata: dict[str, Any] = {"labels": labels}
    if image_id:
        # A rebuilt image keeps its tag; the annotation makes the DaemonSet roll.
        pod_metadata["annotations"] = {IMAGE_ID_ANNOTATION: image_id}
    slug = resource_slug(device_set.resource)
    container = {
        "name": "plugin",
        "image": image,
        "imagePullPolicy": "IfNotPresent",  # loaded by `kind load`; never pulled
        "args": [
            "--resource",
            device_set.resource,
            "--count",
            str(device_set.count),
            "--plugin-dir",
            DEVICE_PLUGIN_DIR,
            "--health-file",
            f"{HEALTH_DIR}/{slug}",
        ],
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        # Kept free on every GPU worker on top of the scaled profile capacity (config.Scale).
        "resources": {
            "requests": {
                "cpu": f"{PLUGIN_CPU_REQUEST_MILLIS}m",
                "memory": str(PLUGIN_MEMORY_REQUEST_BYTES),
            },
            "limits": {"memory": "128Mi"},
        },
        "securityContext": {
            # Root only to own a socket in the kubelet's root-owned folder; nothing else.
            "runAsUser": 0,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "device-plugins", "mountPath": DEVICE_PLUGIN_DIR},
            {"name": "health", "mountPath": HEALTH_DIR, "readOnly": True},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": device_set.name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": pod_metadata,
                "spec": {
                    "serviceAccountName": PLUGIN_NAME,
                    "automountServiceAccountToken": False,
                    "priorityClassName": "system-node-critical",
                    "terminationGracePeriodSeconds": 10,
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {
                                                "key": NODE_LABEL,
                                                "operator": "In",
                                                "values": sorted(n.name for n in device_set.nodes),
                                            }
                                        ]
                                    }
                                ],
                            },
                        }
                    },
                    "tolerations": _tolerations(device_set.nodes),
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "device-plugins",
                            "hostPath": {"path": DEVICE_PLUGIN_DIR, "type": "Directory"},
                        },
                        {
                            "name": "health",
                            "hostPath": {"path": HEALTH_DIR, "type": "DirectoryOrCreate"},
                        },
                    ],
                },
            },
        },
    }


def render_manifests(
    profile: Profile, image: str = DEFAULT_PLUGIN_IMAGE, image_id: str | None = None
) -> list[dict[str, Any]]:
    """The plugin's manifests for a profile: Namespace, ServiceAccount, DaemonSets.

    The plugin talks only to its kubelet, over a unix socket, never to the API
    server; so its ServiceAccount gets no token and no Role or ClusterRole.
    `image_id`, when given, is stamped on the pod template so a rebuilt image
    with an unchanged tag still rolls out.
    """
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "app.kubernetes.io/part-of": "kprep",
                # hostPath mounts need the privileged Pod Security level.
                "pod-security.kubernetes.io/enforce": "privileged",
            },
        },
    }
    service_account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": PLUGIN_NAME,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/name": PLUGIN_NAME, "app.kubernetes.io/part-of": "kprep"},
        },
        "automountServiceAccountToken": False,
    }
    daemonsets = [_daemonset(s, image, image_id) for s in device_sets(profile)]
    return [namespace, service_account, *daemonsets]


def dump_manifests(manifests: Iterable[dict[str, Any]]) -> str:
    """Manifests as one multi-document YAML stream."""
    return "---\n".join(dump_yaml(m) for m in manifests)


# -- answers made runnable on kind ---------------------------------------------


def runnable_on_kind(
    manifest: dict[str, Any],
    placeholder: str = DEFAULT_PLACEHOLDER_IMAGE,
    scale: Scale | None = None,
) -> dict[str, Any]:
    """A copy of `manifest` whose containers can start on kind (see the module docstring).

    Every pod spec found anywhere in the object (Pod, Deployment, StatefulSet, Job,
    CronJob, or a custom resource embedding pod templates) is rewritten.
    """
    result = copy.deepcopy(manifest)
    kind = manifest.get("kind")
    if scale is not None and kind in ("ResourceQuota", "LimitRange"):
        _scale_policy(result, scale)
    _rewrite_pod_specs(result, placeholder, scale)
    return result


def _rewrite_pod_specs(value: Any, placeholder: str, scale: Scale | None) -> None:
    if isinstance(value, list):
        for item in value:
            _rewrite_pod_specs(item, placeholder, scale)
        return
    if not isinstance(value, dict):
        return
    spec = value.get("spec")
    if isinstance(spec, dict) and _is_pod_spec(spec):
        originals.record_containers(value.setdefault("metadata", {}), spec, REWRITTEN_FIELDS)
        for container in spec["containers"]:
            _placeholder(container, placeholder, exits=False)
            _scale_container(container, scale)
        for container in spec.get("initContainers") or []:
            if isinstance(container, dict):
                # A restartPolicy: Always init container is a sidecar: it keeps running.
                _placeholder(
                    container, placeholder, exits=container.get("restartPolicy") != "Always"
                )
                _scale_container(container, scale)
        _swap_external_volumes(value["metadata"], spec)
        return
    for item in value.values():
        _rewrite_pod_specs(item, placeholder, scale)


NODE_LOCAL_VOLUMES = frozenset(
    {"emptyDir", "configMap", "secret", "downwardAPI", "projected", "persistentVolumeClaim",
     "ephemeral", "hostPath"}
)  # fmt: skip
"""Volume sources a kind node provides as kwok would treat them (a claim waits for its
volume on both; hostPath is refused before anything is applied)."""


def _swap_external_volumes(metadata: dict[str, Any], spec: dict[str, Any]) -> None:
    """A volume from outside the node (an OCI `image` with the weights, an NFS export, a
    CSI driver) would make the kubelet pull or mount what no one serves here, and the
    pod would never start where kwok places it: it becomes an empty emptyDir, recorded
    so live checks read the volume as written."""
    volumes = spec.get("volumes")
    if not isinstance(volumes, list):
        return
    swapped: dict[str, Any] = {}
    for index, volume in enumerate(volumes):
        if not isinstance(volume, dict) or "name" not in volume:
            continue
        if any(key not in NODE_LOCAL_VOLUMES for key in volume if key != "name"):
            swapped[str(volume["name"])] = copy.deepcopy(volume)
            volumes[index] = {"name": volume["name"], "emptyDir": {}}
    if swapped:
        originals.record_volumes(metadata, swapped)


def _is_pod_spec(spec: dict[str, Any]) -> bool:
    containers = spec.get("containers")
    return isinstance(containers, list) and all(isinstance(c, dict) for c in containers)


def _placeholder(container: dict[str, Any], placeholder: str, *, exits: bool) -> None:
    container["image"] = placeholder
    container["imagePullPolicy"] = "IfNotPresent"
    for name in _DEPENDENT_FIELDS:
        container.pop(name, None)
    if exits:
        container["args"] = ["-v"]  # `/pause -v` prints its version and exits 0
    else:
        container.pop("args", None)


def scaled_quantity(value: Any, resource: str, scale: Scale) -> str | None:
    """A cpu or memory quantity in kind units (rounded up), or None when not a quantity."""
    try:
        amount = parse_quantity(value)
    except QuantityError:
        return None
    if resource == "cpu":
        return f"{scale.scaled_cpu_millis(amount * 1000)}m"
    return str(scale.scaled_memory_bytes(amount))


def _scale_container(container: dict[str, Any], scale: Scale | None) -> None:
    resources = container.get("resources")
    if scale is None or not isinstance(resources, dict):
        return
    equal = {
        r
        for r in ("cpu", "memory")
        if _get(resources, "requests", r) is not None
        and _get(resources, "requests", r) == _get(resources, "limits", r)
    }
    for bound in ("requests", "limits"):
        amounts = resources.get(bound)
        if not isinstance(amounts, dict):
            continue
        for resource in ("cpu", "memory"):
            if resource in amounts:
                scaled = scaled_quantity(amounts[resource], resource, scale)
                if scaled is not None:
                    amounts[resource] = scaled
    limits = resources.get("limits")
    if isinstance(limits, dict) and "memory" in limits:
        try:
            limit = parse_quantity(limits["memory"])
        except QuantityError:
            return
        if limit < MIN_MEMORY_LIMIT_BYTES:
            limits["memory"] = str(MIN_MEMORY_LIMIT_BYTES)
            if "memory" in equal:  # keep requests == limits (the QoS class) as written
                resources["requests"]["memory"] = str(MIN_MEMORY_LIMIT_BYTES)


def _get(resources: dict[str, Any], bound: str, resource: str) -> Any:
    amounts = resources.get(bound)
    return amounts.get(resource) if isinstance(amounts, dict) else None


def _scale_policy(obj: dict[str, Any], scale: Scale) -> None:
    """Scale a ResourceQuota's or LimitRange's cpu and memory amounts, recording the spec."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    originals.record_spec(obj, copy.deepcopy(spec))
    if obj.get("kind") == "ResourceQuota":
        hard = spec.get("hard")
        if isinstance(hard, dict):
            for key, resource in QUOTA_KEYS.items():
                if key in hard:
                    hard[key] = scaled_quantity(hard[key], resource, scale) or hard[key]
        return
    for limit in spec.get("limits") or []:
        if not isinstance(limit, dict):
            continue
        for field in ("max", "min", "default", "defaultRequest"):
            amounts = limit.get(field)
            if not isinstance(amounts, dict):
                continue
            for resource in ("cpu", "memory"):
                if resource in amounts:
                    amounts[resource] = (
                        scaled_quantity(amounts[resource], resource, scale) or amounts[resource]
                    )
