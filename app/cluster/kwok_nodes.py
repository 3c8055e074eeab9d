"""Node objects for the kwok provider: one per profile node, labelled with its profile
name and carrying its GPUs in capacity and allocatable (kwok marks them Ready and plays
their pods' lifecycle)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.cluster.addon_config import RESOURCE_METRICS_PATH_ANNOTATION
from app.cluster.kube import Resource
from app.cluster.kwok_binaries import K8S_VERSION
from app.cluster.profiles import NodeSpec, Profile

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
