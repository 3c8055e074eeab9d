"""Node objects for the kwok provider: one per profile node, labelled with its profile
name and carrying its GPUs in capacity and allocatable (kwok marks them Ready and plays
their pods' lifecycle)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from app.cluster.addon_config import RESOURCE_METRICS_PATH_ANNOTATION
from app.cluster.kube import ApiError, Kube, Resource
from app.cluster.kwok_binaries import K8S_VERSION
from app.cluster.profiles import NodeSpec, Profile
from app.cluster.wait import WaitTimeout, poll_until

NODE_LABEL = "kprep.dev/node"
PROFILE_LABEL = "kprep.dev/profile"
SPEC_ANNOTATION = "kprep.dev/node-spec"
"""Hash of the node's profile entry: a node whose entry changed is recreated."""
NODE_KIND = {"apiVersion": "v1", "kind": "Node"}
NODE_RESOURCE = Resource("v1", "Node", "nodes", False)


def node_manifest(node: NodeSpec, profile: Profile) -> dict[str, Any]:
    """The Node object for one profile node, status included."""
    labels = {**node.labels, NODE_LABEL: node.name, PROFILE_LABEL: profile.name}
    capacity = dict(node.capacity)
    spec: dict[str, Any] = {}
    if node.taints:
        spec["taints"] = [t.as_dict() for t in node.taints]
    body: dict[str, Any] = {
        **NODE_KIND,
        "metadata": {
            "name": node.name,
            "labels": labels,
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
                # kwok serves each node's simulated usage here; metrics-server scrapes it.
                RESOURCE_METRICS_PATH_ANNOTATION: f"/metrics/nodes/{node.name}/metrics/resource",
            },
        },
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": f"v{K8S_VERSION}",
                "kubeProxyVersion": f"v{K8S_VERSION}",
            },
            "phase": "Running",
        },
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    body["metadata"]["annotations"][SPEC_ANNOTATION] = digest
    return body


LEASES_PATH = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
"""kwok renews one Lease per node here, and plays a node's pods only while it holds it."""


def lease_path(name: str) -> str:
    return f"{LEASES_PATH}/{name}"


def leases_not_current(nodes: list[dict[str, Any]], leases: list[dict[str, Any]]) -> list[str]:
    """The nodes whose Lease is missing or still owned by an earlier node of that name.

    kwok sets a Lease's owner only when it has none, so a node recreated under its old
    name keeps the old node's Lease; the garbage collector deletes it (its owner is gone)
    and kwok plays none of the node's pods until it has made a new one, one renew interval
    (50 s with kwokctl's defaults) later. `apply_profile` therefore never recreates a node
    and deletes a removed node's Lease; this check waits for whatever is left to settle.
    """
    by_name = {str((lease.get("metadata") or {}).get("name")): lease for lease in leases}
    behind = []
    for node in nodes:
        meta = node.get("metadata") or {}
        lease = by_name.get(str(meta.get("name")))
        owners = ((lease or {}).get("metadata") or {}).get("ownerReferences") or []
        if lease is None or (owners and all(o.get("uid") != meta.get("uid") for o in owners)):
            behind.append(str(meta.get("name")))
    return sorted(behind)


def node_update(current: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The merge patch that turns a running node into `manifest` in place (same UID, so
    kwok keeps its Lease), or None when it already is.

    Every label and taint on a kprep node is one kprep set (kwok's stages set none), so
    labels the new manifest lacks are removed and taints replaced wholesale.
    """
    meta = current.get("metadata") or {}
    have = (meta.get("annotations") or {}).get(SPEC_ANNOTATION)
    want = manifest["metadata"]["annotations"][SPEC_ANNOTATION]
    allocatable = (current.get("status") or {}).get("allocatable") or {}
    if have == want and all(
        allocatable.get(k) == v for k, v in manifest["status"]["allocatable"].items()
    ):
        return None
    labels: dict[str, Any] = {k: None for k in meta.get("labels") or {}}
    labels.update(manifest["metadata"]["labels"])
    return {
        "metadata": {"labels": labels, "annotations": manifest["metadata"]["annotations"]},
        "spec": {"taints": manifest["spec"].get("taints")},
    }


def status_update(current: dict[str, Any] | None, manifest: dict[str, Any]) -> dict[str, Any]:
    """The merge patch for the node's status: the manifest's capacity and allocatable, with
    the resources the node had and no longer has removed."""
    status = ((current or {}).get("status")) or {}
    body: dict[str, Any] = {}
    for field in ("capacity", "allocatable"):
        values: dict[str, Any] = {k: None for k in status.get(field) or {}}
        values.update(manifest["status"][field])
        body[field] = values
    return {"status": body}


def wait_gone(kube: Kube, path: str, timeout: float = 10.0) -> None:
    """Wait (bounded, quietly) until the object at `path` is gone."""

    def gone() -> bool:
        try:
            kube.get(path)
        except ApiError as exc:
            if exc.status == 404:
                return True
            raise
        return False

    with contextlib.suppress(WaitTimeout):
        poll_until(gone, timeout=timeout)
