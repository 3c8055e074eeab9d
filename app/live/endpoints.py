"""The Services an attempt created, read once the EndpointSlice controller caught up.

Cluster DNS answers from EndpointSlices, so a live check about names reads them; the
controller lists a pod a moment after it gets its IP, so `services_listed` polls
(bounded) until every pod a Service selects that should be listed is.
"""

from __future__ import annotations

import time
from typing import Any

from app.cluster.kube import ApiError, Kube
from app.live.training import service_views

ENDPOINTS_SECONDS = 10.0
"""Longest wait for the EndpointSlice controller to list the pods Services select."""
POLL_SECONDS = 0.2


def list_or_none(kube: Kube, path: str) -> list[dict[str, Any]]:
    """Items of a list, or [] when the cluster does not serve the kind."""
    try:
        return list(kube.get(path).get("items") or [])
    except ApiError:
        return []


def services_listed(
    kube: Kube,
    namespace: str,
    pods: list[dict[str, Any]],
    deadline: float,
    pods_start: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The namespace's Services with their endpoints, once the EndpointSlice controller has
    listed every pod a Service selects that should be there, and the pods as last read
    (bounded by the attempt's deadline, and by ENDPOINTS_SECONDS: on a cluster without
    that controller no endpoint ever comes).

    A pod should be listed once it runs; on kwok, once it is bound, since kwok marks a
    bound pod Running (and gives it its IP) a moment later, longer on a busy machine.
    """
    give_up = min(deadline, time.monotonic() + ENDPOINTS_SECONDS)
    while True:
        services = service_views(
            kube.get(f"/api/v1/namespaces/{namespace}/services").get("items") or [],
            list_or_none(kube, f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"),
        )
        behind = [s for s in services if s["selector"] and not listed(s, pods, pods_start)]
        if not behind or time.monotonic() >= give_up:
            return services, pods
        time.sleep(POLL_SECONDS)
        pods = [
            p
            for p in kube.get(f"/api/v1/namespaces/{namespace}/pods").get("items") or []
            if not (p.get("metadata") or {}).get("deletionTimestamp")
        ]


def listed(service: dict[str, Any], pods: list[dict[str, Any]], pods_start: bool) -> bool:
    """Whether the Service's endpoints list every pod its selector matches that should be
    listed: Running ones, and on kwok (`pods_start` false) bound ones too."""
    names = {e["pod"] for e in service["endpoints"]}
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        selected = all(labels.get(k) == v for k, v in service["selector"].items())
        phase = (pod.get("status") or {}).get("phase")
        due = phase == "Running" or (
            not pods_start and phase == "Pending" and (pod.get("spec") or {}).get("nodeName")
        )
        if selected and due and pod["metadata"]["name"] not in names:
            return False
    return True
