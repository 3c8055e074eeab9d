"""The namespaces kprep owns on a cluster: how they are labelled, and how they are removed.

Every live attempt runs in a fresh namespace labelled `kprep.dev/owned=true`
(and `kprep.dev/scenario=<id>`); `kprep cluster gc` finds leftovers by that
label. Deleting one also force-deletes its pods at once, so their GPUs are free
for the next attempt, and an attempt starts only once earlier attempts'
namespaces are quiet (`await_quiet`): the namespace controller takes a few
seconds to remove even an empty namespace, so the wait is bounded.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube, Resource
from app.cluster.wait import WaitTimeout, poll_until

OWNED_LABEL = "kprep.dev/owned"
SCENARIO_LABEL = "kprep.dev/scenario"
NAMESPACE_RESOURCE = Resource("v1", "Namespace", "namespaces", False)
ATTEMPT_LABEL = "kprep.dev/attempt"
"""On an attempt's private copy of a cluster-scoped object: the attempt's namespace."""
COPY_RESOURCES = (
    Resource("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False),
    Resource("kueue.x-k8s.io/v1beta2", "ClusterQueue", "clusterqueues", False),
    Resource("kueue.x-k8s.io/v1beta2", "ResourceFlavor", "resourceflavors", False),
    Resource("kueue.x-k8s.io/v1beta2", "WorkloadPriorityClass", "workloadpriorityclasses", False),
)
"""Where attempts' private copies may live (app.live.scoped makes them)."""


def delete_attempt_copies(kube: Kube, namespaces: set[str] | None = None) -> list[str]:
    """Delete the private copies of the given attempts (None: of every attempt whose
    namespace no longer exists); returns `Kind/name` of what was deleted."""
    if namespaces is None:
        live = kube.get(NAMESPACE_RESOURCE.path(), labelSelector=f"{OWNED_LABEL}=true")
        existing = {n["metadata"]["name"] for n in live.get("items") or []}
    deleted = []
    for resource in COPY_RESOURCES:
        try:
            listed = kube.get(resource.path(), labelSelector=ATTEMPT_LABEL)
        except ApiError:
            continue  # the kind is not served (no Kueue CRDs): nothing to clean
        for item in listed.get("items") or []:
            meta = item.get("metadata") or {}
            owner = (meta.get("labels") or {}).get(ATTEMPT_LABEL)
            gone = owner in namespaces if namespaces is not None else owner not in existing
            if gone:
                with contextlib.suppress(ApiError):
                    kube.delete(resource.path(name=meta.get("name")))
                    deleted.append(f"{resource.kind}/{meta.get('name')}")
    return deleted


JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"


def release_job_tracking(kube: Kube, namespace: str) -> None:
    """Drop the Job controller's tracking finalizer from the namespace's deleted pods.

    A Job with a podFailurePolicy keeps `batch.kubernetes.io/job-tracking` on a
    pod until the pod has a terminal phase. kwok never gives a deleted pod one,
    so the pod would stay Terminating, holding its GPUs, and the next attempt
    would find them taken.
    """
    pods_path = f"/api/v1/namespaces/{namespace}/pods"
    for pod in kube.get(pods_path).get("items") or []:
        meta = pod.get("metadata") or {}
        if JOB_TRACKING_FINALIZER not in (meta.get("finalizers") or []):
            continue
        kept = [f for f in meta.get("finalizers") or [] if f != JOB_TRACKING_FINALIZER]
        with contextlib.suppress(ApiError):
            kube.request(
                "PATCH",
                f"{pods_path}/{meta.get('name')}",
                body={"metadata": {"finalizers": kept or None}},
                content_type="application/merge-patch+json",
            )


def delete_attempt_namespace(
    kube: Kube, namespace: str, wait_seconds: float = 3.0, *, kubelets: bool = False
) -> None:
    """Delete the attempt's namespace and, at once, its pods (freeing their GPUs).

    Namespace deletion alone is asynchronous: terminating pods would keep their
    GPUs for seconds and skew the next attempt's placement. Deleting the
    namespace first stops controllers from making new pods; deleting the pods with
    grace 0 then frees their resources in the scheduler immediately. Where real
    kubelets run the pods (`kubelets`, kind), grace 0 would remove the objects
    before the kubelet has stopped the containers and released their devices, and
    the next attempt's pods, bound to the same GPUs, would be refused at admission:
    there the pods get a 1 s grace, the kubelet confirms each deletion, and the
    next attempt waits (`await_quiet`) until none is left.
    On failure `kprep cluster gc` finds the namespace by its label.
    """
    with contextlib.suppress(ApiError, ClusterError):
        kube.delete(NAMESPACE_RESOURCE.path(name=namespace), propagation="Background")
        pods_path = f"/api/v1/namespaces/{namespace}/pods"
        kube.request(
            "DELETE",
            pods_path,
            body={
                "apiVersion": "v1",
                "kind": "DeleteOptions",
                "gracePeriodSeconds": 1 if kubelets else 0,
            },
        )
        release_job_tracking(kube, namespace)
        with contextlib.suppress(WaitTimeout):
            poll_until(
                lambda: not kube.get(pods_path).get("items"), timeout=wait_seconds, interval=0.05
            )


QUIET_TIMEOUT_SECONDS = 20.0
"""The longest an attempt waits for earlier attempts' namespaces to quiet down."""
MAX_TERMINATING = 2
"""Attempt namespaces still being deleted that a new attempt tolerates (each takes the
namespace controller ~6 s even when empty; waiting for every one would add that to
each of a class's live checks)."""


def await_quiet(
    kube: Kube, timeout: float = QUIET_TIMEOUT_SECONDS, say: Callable[[str], None] | None = None
) -> float:
    """Wait (bounded) until kprep's namespaces being deleted hold no pods and at most
    MAX_TERMINATING of them remain; returns the seconds waited."""
    start = time.monotonic()
    told = False

    def quiet() -> bool:
        nonlocal told
        listed = kube.get(NAMESPACE_RESOURCE.path(), labelSelector=f"{OWNED_LABEL}=true")
        leaving = [
            n["metadata"]["name"]
            for n in listed.get("items") or []
            if (n.get("metadata") or {}).get("deletionTimestamp")
        ]
        busy = [
            name
            for name in leaving
            if kube.get(f"/api/v1/namespaces/{name}/pods", limit=1).get("items")
        ]
        if not busy and len(leaving) <= MAX_TERMINATING:
            return True
        if say is not None and not told and time.monotonic() - start > 1:
            told = True
            say(f"waiting for {len(leaving)} earlier attempt(s) to finish deleting")
        return False

    with contextlib.suppress(WaitTimeout, ApiError):
        poll_until(quiet, timeout=timeout, interval=0.2)
    return time.monotonic() - start
