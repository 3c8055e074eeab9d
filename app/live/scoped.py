"""Cluster-scoped objects an answer may bring, as copies private to one attempt.

A PriorityClass, a Kueue ClusterQueue or ResourceFlavor is part of a good
answer, but it is cluster-wide: applied as written it would outlive the
attempt, collide with the next one and affect everything else on the cluster.
So the live grader creates a copy with a name of its own
(`<name>-<attempt suffix>`), labelled with the attempt's namespace, rewrites
every reference to it in the answer's other objects (a pod's
`priorityClassName`, a LocalQueue's `clusterQueue`, ...), and deletes the
copies with the namespace. A PriorityClass with `globalDefault: true` is
refused: it would change the priority of every new pod on the cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from app.cluster.kube import ApiError, Kube, Resource
from app.cluster.namespaces import ATTEMPT_LABEL
from app.k8s.pods import dig, template_paths


@dataclass(frozen=True)
class Copiable:
    """A cluster-scoped kind an answer may define, and how the answer refers to it."""

    group: str
    kind: str
    rewrite: Callable[[dict[str, Any], dict[str, str]], None]
    """Rename references to this kind in one manifest, given old name -> new name."""


def _pod_specs(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in template_paths(manifest):
        spec = dig(manifest, (*path, "spec"))
        if isinstance(spec, dict):
            yield spec


def _priority_class_refs(manifest: dict[str, Any], names: dict[str, str]) -> None:
    for spec in _pod_specs(manifest):
        name = spec.get("priorityClassName")
        if isinstance(name, str) and name in names:
            spec["priorityClassName"] = names[name]


def _cluster_queue_refs(manifest: dict[str, Any], names: dict[str, str]) -> None:
    if manifest.get("kind") == "LocalQueue":
        spec = manifest.get("spec")
        if isinstance(spec, dict) and spec.get("clusterQueue") in names:
            spec["clusterQueue"] = names[spec["clusterQueue"]]


def _flavor_refs(manifest: dict[str, Any], names: dict[str, str]) -> None:
    if manifest.get("kind") != "ClusterQueue":
        return
    groups = dig(manifest, ("spec", "resourceGroups"))
    for group in groups if isinstance(groups, list) else []:
        flavors = group.get("flavors") if isinstance(group, dict) else None
        for flavor in flavors if isinstance(flavors, list) else []:
            if isinstance(flavor, dict) and flavor.get("name") in names:
                flavor["name"] = names[flavor["name"]]


def _workload_priority_refs(manifest: dict[str, Any], names: dict[str, str]) -> None:
    labels = dig(manifest, ("metadata", "labels"))
    key = "kueue.x-k8s.io/priority-class"
    if isinstance(labels, dict) and labels.get(key) in names:
        labels[key] = names[labels[key]]


COPIABLE: tuple[Copiable, ...] = (
    Copiable("scheduling.k8s.io", "PriorityClass", _priority_class_refs),
    Copiable("kueue.x-k8s.io", "ClusterQueue", _cluster_queue_refs),
    Copiable("kueue.x-k8s.io", "ResourceFlavor", _flavor_refs),
    Copiable("kueue.x-k8s.io", "WorkloadPriorityClass", _workload_priority_refs),
)


def copiable(api_version: str, kind: str) -> Copiable | None:
    group = api_version.rpartition("/")[0]
    return next((c for c in COPIABLE if c.group == group and c.kind == kind), None)


def copy_name(name: str, namespace: str) -> str:
    """`serving-high` in attempt `kprep-x-3fa2c1` -> `serving-high-3fa2c1` (≤ 63 chars, so it
    is also a valid label value for the Kueue priority label)."""
    suffix = namespace.rsplit("-", 1)[-1]
    return f"{name[: 62 - len(suffix)]}-{suffix}"


def refusal(manifest: dict[str, Any]) -> tuple[tuple[str | int, ...], str] | None:
    """Why a copy must not be applied, at which field; None when it may."""
    if manifest.get("kind") == "PriorityClass" and manifest.get("globalDefault") is True:
        return (
            ("globalDefault",),
            "globalDefault: true would give every new pod on the cluster this priority; kprep "
            "applies PriorityClasses as copies private to the attempt and refuses a global default",
        )
    return None


def rewrite_references(manifests: list[dict[str, Any]], renamed: dict[str, dict[str, str]]) -> None:
    """Point every manifest at the copies: `renamed` is kind -> old name -> new name."""
    for copy in COPIABLE:
        names = renamed.get(copy.kind)
        if names:
            for manifest in manifests:
                copy.rewrite(manifest, names)


def delete_copies(kube: Kube, resources: list[Resource], namespace: str) -> None:
    """Delete the attempt's copies (best effort; `kprep cluster gc` finds what is left)."""
    for resource in resources:
        with contextlib.suppress(ApiError):
            listed = kube.get(resource.path(), labelSelector=f"{ATTEMPT_LABEL}={namespace}")
            for item in listed.get("items") or []:
                with contextlib.suppress(ApiError):
                    kube.delete(resource.path(name=item["metadata"]["name"]))
