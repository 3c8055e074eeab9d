"""Leftover attempt namespaces, and attempts' private copies of cluster-scoped objects:
find them by kprep's labels and delete them."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from app.cluster.errors import ClusterNotRunning
from app.cluster.kube import Kube
from app.cluster.namespaces import (
    NAMESPACE_RESOURCE,
    OWNED_LABEL,
    delete_attempt_copies,
    delete_attempt_namespace,
)


def _age_seconds(timestamp: str | None) -> float:
    if not timestamp:
        return float("inf")
    created = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return (datetime.now(timezone.utc) - created).total_seconds()  # noqa: UP017


def owned_namespaces(kube: Kube, *, include_terminating: bool = True) -> list[str]:
    items = (
        kube.get(NAMESPACE_RESOURCE.path(), labelSelector=f"{OWNED_LABEL}=true").get("items") or []
    )
    return sorted(
        n["metadata"]["name"]
        for n in items
        if include_terminating or (n.get("status") or {}).get("phase") != "Terminating"
    )


def collect(kubeconfig: Path, *, older_than: float = 0.0, wait: float = 0.0) -> list[str]:
    """Delete every kprep-owned namespace at least `older_than` seconds old; their names.

    With `wait`, block up to that many seconds until they are gone.
    """
    if not kubeconfig.is_file():
        raise ClusterNotRunning("no cluster is up; nothing to clean")
    with Kube(kubeconfig) as kube:
        items = (
            kube.get(NAMESPACE_RESOURCE.path(), labelSelector=f"{OWNED_LABEL}=true").get("items")
            or []
        )
        chosen = [
            n["metadata"]["name"]
            for n in items
            if _age_seconds(n["metadata"].get("creationTimestamp")) >= older_than
        ]
        for name in chosen:
            delete_attempt_namespace(kube, name, wait_seconds=0)
        delete_attempt_copies(kube, set(chosen))
        delete_attempt_copies(kube)  # copies whose attempt namespace is already gone
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline:
            if not set(chosen) & set(owned_namespaces(kube)):
                break
            time.sleep(0.25)
    return sorted(chosen)
