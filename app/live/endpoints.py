"""The Services an attempt created, read once the EndpointSlice controller caught up.

Cluster DNS answers from EndpointSlices, so a live check about names reads them; the
controller lists a pod a moment after it gets its IP, so `services_listed` polls
(bounded) until every pod a Service selects that should be listed is.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from app.cluster.kube import ApiError, Kube
from app.live.training import service_views

ENDPOINTS_SECONDS = 30.0
"""Longest wait for the EndpointSlice controller to list the pods Services select, counted
from when the pods settled (not from the start of the settle wait: a slow settle must not
eat it). On a loaded 2-core machine kwok has taken over 13 s to mark bound pods Running;
a healthy cluster lists them in well under a second, so the bound is only paid when the
cluster lags, and then a note says so."""
SLOW_START_ANNOTATION = "kprep.dev/start-after"
"""kwok: a pod carrying this starts late on purpose (autoscaling runs): not waited for."""
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
    pods_start: bool,
    cancel: threading.Event | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The namespace's Services with their endpoints, once the EndpointSlice controller has
    listed every pod a Service selects that should be there, the pods as last read, and a
    problem per Service still behind when the wait ran out (bounded by ENDPOINTS_SECONDS:
    on a cluster without that controller no endpoint ever comes).

    A pod should be listed once it runs; on kwok, once it is bound, since kwok marks a
    bound pod Running (and gives it its IP) a moment later, longer on a busy machine.
    """
    give_up = time.monotonic() + ENDPOINTS_SECONDS
    while True:
        services = service_views(
            kube.get(f"/api/v1/namespaces/{namespace}/services").get("items") or [],
            list_or_none(kube, f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"),
        )
        behind = [s for s in services if s["selector"] and not listed(s, pods, pods_start)]
        stopped = cancel is not None and cancel.is_set()
        if not behind or stopped or time.monotonic() >= give_up:
            problems = [] if stopped else [_behind_problem(s, pods, pods_start) for s in behind]
            return services, pods, problems
        time.sleep(POLL_SECONDS)
        pods = [
            p
            for p in kube.get(f"/api/v1/namespaces/{namespace}/pods").get("items") or []
            if not (p.get("metadata") or {}).get("deletionTimestamp")
        ]


def _behind_problem(service: dict[str, Any], pods: list[dict[str, Any]], pods_start: bool) -> str:
    names = {e["pod"] for e in service["endpoints"]}
    waiting = sorted(
        p["metadata"]["name"]
        for p in _due(service, pods, pods_start)
        if p["metadata"]["name"] not in names
    )
    who = "kwok had not marked them Running; " if not pods_start else ""
    return (
        f"after {int(ENDPOINTS_SECONDS)}s the EndpointSlices of Service {service['name']} "
        f"still did not list pod(s) {', '.join(waiting)} ({who}the cluster is slow, not "
        f"necessarily the answer wrong: grade again)"
    )


def _due(
    service: dict[str, Any], pods: list[dict[str, Any]], pods_start: bool
) -> list[dict[str, Any]]:
    """The pods the Service selects that its endpoints should list by now: Running ones,
    and on kwok bound ones too (unless started late on purpose)."""
    due = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        if not all(labels.get(k) == v for k, v in service["selector"].items()):
            continue
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Running" or (
            not pods_start
            and phase == "Pending"
            and (pod.get("spec") or {}).get("nodeName")
            and SLOW_START_ANNOTATION not in (meta.get("annotations") or {})
        ):
            due.append(pod)
    return due


def listed(service: dict[str, Any], pods: list[dict[str, Any]], pods_start: bool) -> bool:
    """Whether the Service's endpoints list every pod its selector matches that should be
    listed: Running ones, and on kwok bound ones too."""
    names = {e["pod"] for e in service["endpoints"]}
    return all(p["metadata"]["name"] in names for p in _due(service, pods, pods_start))
