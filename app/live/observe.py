"""Waiting for the cluster's verdict on an attempt, and collecting what it did.

`observe` waits (at most `SETTLE_SECONDS`) until every pod the answer's
objects should create exists and is bound to a node or refused by the
scheduler (PodScheduled=False with its reason), every bound pod has started
or is stuck with the kubelet's reason (ErrImagePull, CreateContainerError, ...:
on a provider whose nodes start containers), and HPAs have conditions; then it
reads back the objects, pods, nodes and events as the plain views live checks
see (the contract in scenarios/README.md).

Three things make both providers look alike to a check:

- objects and pods are read back as the answer wrote them
  (`app.cluster.originals.restore` undoes a provider's rewrite);
- `nodes` are the profile's nodes, by their profile names (the
  `kprep.dev/node` label; a kind cluster's control plane is not one), and each
  pod's `node` is that name;
- a pod counts as placed (`scheduled`) only once it started: bound to a node
  but never Running, it is reported with the kubelet's reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.cluster.kube import ApiError, Kube, Resource
from app.cluster.nodes import PROFILE_NODE_LABEL
from app.cluster.originals import Defaults, restore
from app.k8s.limitrange import container_defaults
from app.k8s.pods import expected_pods
from app.k8s.resources import int_quantity, node_gpu_resource
from app.live import advice, arrival, gang
from app.live.endpoints import list_or_none, services_listed
from app.live.placement import read_tree, rendezvous_summaries
from app.live.training import training_views
from app.yamlmap import Document

RUNNING_OPERATOR_KINDS = ("TrainJob", "JobSet", "PyTorchJob")
"""Kinds whose operator `kprep cluster up` runs (docs/cluster-addons.md): wait for their
pods too. LeaderWorkerSet has a CRD but no controller on the local cluster."""
JOBSET_API = "jobset.x-k8s.io/v1alpha2"
OWNER_CHAIN_KINDS = ("Deployment", "CronJob", "TrainJob", "JobSet")
"""Kinds whose pods belong to them through ReplicaSets, Jobs or JobSets."""
SETTLE_SECONDS = 20.0
"""Upper bound on waiting for the scheduler and controllers."""
POLL_SECONDS = 0.2
STUCK_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerError",
        "CreateContainerConfigError",
        "RunContainerError",
        "CrashLoopBackOff",
    }
)
"""A container waiting for one of these will not start by waiting longer."""
STARTING_SETTLE_FACTOR = 3
"""Where containers start (kind) the settle bound is this many times longer (12 pods took 15 s
on a loaded 2-core machine); a stuck pod still settles at once."""
BOUND_GRACE_SECONDS = 3.0
"""kwok: a pod bound this long counts as placed even before kwok marks it Running."""


@dataclass
class Planned:
    """One answer document, ready to apply in the attempt's namespace."""

    doc: Document
    resource: Resource
    manifest: dict[str, Any]
    """The answer's object in the attempt's namespace: what the dry run validates."""
    runnable: dict[str, Any] | None = None
    """What is applied for real when it differs (kind: placeholder images)."""


@dataclass
class Observation:
    """What the cluster did with the answer."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the wait ended without a verdict (no scheduler, no controller)."""
    seconds: float = 0.0
    services: list[dict[str, Any]] = field(default_factory=list)
    """Every Service with the pods its EndpointSlices list (`app.live.training`)."""
    tree: list[dict[str, Any]] = field(default_factory=list)
    """The placement tree, JSON form (`app.live.placement`)."""
    server_objects: list[tuple[Document, dict[str, Any]]] = field(default_factory=list)
    """Each answer document with the object the API server holds for it (a cluster-scoped
    copy has another name than the document)."""


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def _unschedulable(pod: dict[str, Any]) -> dict[str, Any] | None:
    condition = _condition(pod, "PodScheduled")
    if condition and condition.get("status") == "False" and not gang.stale_gated(pod, condition):
        return condition
    return None


def owner_key(obj: dict[str, Any]) -> tuple[str, str]:
    return (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))


def _top_owner(
    pod: dict[str, Any], owners: dict[tuple[str, str], dict[str, Any]]
) -> tuple[str, str]:
    """(kind, name) of the answer object that (transitively) owns a pod."""
    current = pod
    key = ("", "")
    for _ in range(5):
        refs = (current.get("metadata") or {}).get("ownerReferences") or []
        ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if ref is None:
            break
        key = (str(ref.get("kind")), str(ref.get("name")))
        parent = owners.get(key)
        if parent is None:
            break
        current = parent
    return key


def observe(
    kube: Kube,
    namespace: str,
    planned: Sequence[Planned],
    applied: Sequence[dict[str, Any]],
    settle_seconds: float = SETTLE_SECONDS,
    cancel: threading.Event | None = None,
    pods_start: bool = True,
) -> Observation:
    """Wait (bounded) until the answer's pods are placed or refused, then collect everything.

    `pods_start`: the nodes really start containers (kind), so a bound pod is placed
    once it started and not while it is stuck; else (kwok) a bound pod is placed, after
    `BOUND_GRACE_SECONDS` for kwok to mark it Running.
    """
    start = time.monotonic()
    bound_since: dict[str, float] = {}
    if pods_start:
        settle_seconds *= STARTING_SETTLE_FACTOR
    deadline = start + settle_seconds
    expected: dict[tuple[str, str], int | None] = {
        owner_key(o): expected_pods(o, operators=o.get("kind") in RUNNING_OPERATOR_KINDS)
        for o in applied
    }
    statefulsets_ordered = {
        owner_key(o)
        for o in applied
        if o.get("kind") == "StatefulSet"
        and (o.get("spec") or {}).get("podManagementPolicy") != "Parallel"
    }
    hpas = [owner_key(o) for o in applied if o.get("kind") == "HorizontalPodAutoscaler"]
    needs_owners = any(o.get("kind") in OWNER_CHAIN_KINDS for o in applied)
    needs_jobsets = any(o.get("kind") in ("TrainJob", "JobSet") for o in applied)
    daemonsets = [o for o in applied if o.get("kind") == "DaemonSet"]
    pods: list[dict[str, Any]] = []
    owners: dict[tuple[str, str], dict[str, Any]] = {}
    problems: list[str] = []
    groups: dict[str, dict[str, Any]] = {}
    held: dict[str, dict[str, str]] = {}
    while True:
        now = time.monotonic()
        pods = [
            p
            for p in kube.get(f"/api/v1/namespaces/{namespace}/pods").get("items") or []
            if not (p.get("metadata") or {}).get("deletionTimestamp")
        ]
        owners = {owner_key(o): o for o in applied}
        if needs_owners:
            for rs in (
                kube.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets").get("items") or []
            ):
                owners[("ReplicaSet", rs["metadata"]["name"])] = {**rs, "kind": "ReplicaSet"}
            for job in kube.get(f"/apis/batch/v1/namespaces/{namespace}/jobs").get("items") or []:
                owners[("Job", job["metadata"]["name"])] = {**job, "kind": "Job"}
        if needs_jobsets:
            for jobset in list_or_none(kube, f"/apis/{JOBSET_API}/namespaces/{namespace}/jobsets"):
                key = ("JobSet", jobset["metadata"]["name"])
                owners.setdefault(key, {**jobset, "kind": "JobSet"})
        for ds in daemonsets:
            fresh = kube.get(
                f"/apis/apps/v1/namespaces/{namespace}/daemonsets/{ds['metadata']['name']}"
            )
            status = fresh.get("status") or {}
            if status.get("observedGeneration"):
                expected[owner_key(ds)] = int(status.get("desiredNumberScheduled") or 0)
        if any(gang.group_name(p) for p in pods):
            # Gang pods held out of the scheduler's queue get no verdict: they are decided
            # once all the answer's pods exist (`missing` waits for those).
            groups = gang.read_groups(kube, namespace)
            held = gang.held_pods(pods, groups)
        counts: dict[tuple[str, str], int] = {}
        blocked: set[tuple[str, str]] = set()
        unsettled = 0
        for pod in pods:
            name = pod["metadata"]["name"]
            top = _top_owner(pod, owners)
            if top == ("", ""):
                top = ("Pod", name)
            counts[top] = counts.get(top, 0) + 1
            node = (pod.get("spec") or {}).get("nodeName")
            phase = (pod.get("status") or {}).get("phase")
            if node and not pods_start:
                bound_since.setdefault(name, now)
                if phase == "Pending" and now - bound_since[name] < BOUND_GRACE_SECONDS:
                    unsettled += 1
            elif node:
                if phase == "Pending" and not _started(pod) and not _stuck(pod):
                    unsettled += 1
            elif (pod.get("status") or {}).get("nominatedNodeName"):
                # Preemption under way: the scheduler has evicted victims for this pod
                # and binds it once they are gone; its verdict is not in yet.
                unsettled += 1
            elif _unschedulable(pod) or name in held:
                blocked.add(top)
            else:
                unsettled += 1
        missing = [
            key
            for key, want in expected.items()
            if (want is None or counts.get(key, 0) < want)
            and not (key in statefulsets_ordered and key in blocked)
        ]
        hpa_pending = [key for key in hpas if not _hpa_has_conditions(kube, namespace, key[1])]
        if not unsettled and not missing and not hpa_pending:
            break
        refused = _refused_creates(kube, namespace, owners) if missing and not unsettled else {}
        if refused and not hpa_pending and set(missing) <= set(refused):
            # The controllers tried and the API server said no (a ResourceQuota, say):
            # that is the verdict for those objects, and waiting longer changes nothing.
            for key in missing:
                problems.extend(f"pods were refused: {message}" for message in refused[key])
            break
        if (cancel is not None and cancel.is_set()) or now >= deadline:
            seconds = int(settle_seconds)
            if any(
                not (p.get("spec") or {}).get("nodeName")
                and not _unschedulable(p)
                and p["metadata"]["name"] not in held
                for p in pods
            ):
                problems.append(advice.NO_SCHEDULER.format(seconds=seconds))
            for key in missing:
                if counts.get(key, 0) == 0:
                    problems.append(
                        advice.NO_CONTROLLER.format(what=f"{key[0]}/{key[1]}", seconds=seconds)
                    )
            if hpa_pending:
                problems.append(
                    f"the HorizontalPodAutoscaler controller reported nothing "
                    f"within {seconds}s; is the controller-manager running?"
                )
            break
        time.sleep(POLL_SECONDS)
    observation = Observation(problems=problems, seconds=time.monotonic() - start)
    observation.services, pods, late = services_listed(kube, namespace, pods, pods_start, cancel)
    nodes = profile_nodes(kube.get("/api/v1/nodes").get("items") or [])
    profile_names = {
        str(n["metadata"]["name"]): profile_name(n) for n in nodes if n.get("metadata")
    }
    events = kube.get(f"/api/v1/namespaces/{namespace}/events").get("items") or []
    observation.nodes, observation.problems = [_node_view(n) for n in nodes], problems + late
    # As the answer wrote them: on kind the applied pods run a placeholder, and the
    # rendezvous views read the commands and env the candidate wrote.
    limit_defaults = _limit_defaults(planned)
    as_written = {
        p["metadata"]["name"]: arrival.without_gate(restore(p, limit_defaults)) for p in pods
    }
    views = training_views(list(as_written.values()), observation.services, namespace)
    if groups or held:  # read again: the PodGroups' verdicts came with the pods'
        groups = gang.read_groups(kube, namespace)
        held = gang.held_pods(pods, groups)
    observation.pods = [
        {
            **_pod_view(
                as_written[p["metadata"]["name"]],
                owners,
                profile_names,
                events if pods_start else None,
                held.get(p["metadata"]["name"]),
            ),
            **views[p["metadata"]["name"]],
            "gang": "" if p["metadata"]["name"] in held else gang.group_note(p, groups),
        }
        for p in pods
    ]
    observation.tree = [
        node.to_json() for node in read_tree(kube, namespace, rendezvous_summaries(views))
    ]
    observation.objects = []
    for item in planned:
        name = item.manifest["metadata"].get("name")
        try:
            body = kube.get(item.resource.path(namespace, name))
        except ApiError:
            continue
        body = arrival.without_gate(restore(body))
        observation.objects.append(body)
        observation.server_objects.append((item.doc, body))
    observation.events = [_event_view(e) for e in events]
    return observation


def _limit_defaults(planned: Sequence[Planned]) -> Defaults:
    """What the answer's LimitRanges, as written, fill into containers (in turn, the
    first to set a resource wins, as LimitRanger applies them)."""
    items: list[Any] = []
    for item in planned:
        spec = item.doc.data.get("spec") if isinstance(item.doc.data, dict) else None
        if item.doc.kind == "LimitRange" and isinstance(spec, dict):
            items.extend(spec.get("limits") or [])
    return container_defaults({"limits": items})


def profile_nodes(nodes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes that realise the profile (labelled with their profile name), or every node
    when none is (a foreign cluster reached with --context)."""
    labelled = [
        n for n in nodes if PROFILE_NODE_LABEL in ((n.get("metadata") or {}).get("labels") or {})
    ]
    return labelled or list(nodes)


def profile_name(node: dict[str, Any]) -> str:
    """The profile's name for a node: its `kprep.dev/node` label, else its name."""
    meta = node.get("metadata") or {}
    return str((meta.get("labels") or {}).get(PROFILE_NODE_LABEL) or meta.get("name"))


def _started(pod: dict[str, Any]) -> bool:
    """Whether any of the pod's containers ever ran (its phase, else its container states)."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Running", "Succeeded"):
        return True
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        last = container.get("lastState") or {}
        if "running" in state or "terminated" in state or "terminated" in last:
            return True
    return False


def _stuck(pod: dict[str, Any]) -> dict[str, str] | None:
    """The first container (init containers first) waiting for a reason that waiting will not
    fix, as {reason, message}; None when there is none."""
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for container in status.get(key) or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK_REASONS:
                return {
                    "reason": str(waiting.get("reason")),
                    "message": str(waiting.get("message") or ""),
                }
    return None


def _not_started_reason(pod: dict[str, Any], events: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Why a bound pod never started: its stuck container's reason, else its latest warning
    event (a volume that cannot be mounted), else its containers' waiting reason."""
    stuck = _stuck(pod)
    if stuck:
        return stuck
    name = (pod.get("metadata") or {}).get("name")
    warnings = [
        e
        for e in events
        if e.get("type") == "Warning"
        and (e.get("involvedObject") or {}).get("kind") == "Pod"
        and (e.get("involvedObject") or {}).get("name") == name
    ]
    if warnings:
        last = warnings[-1]
        return {"reason": str(last.get("reason") or ""), "message": str(last.get("message") or "")}
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return {"reason": str(waiting["reason"]), "message": str(waiting.get("message") or "")}
    return {"reason": "NotStarted", "message": "bound to a node, but no container started"}


def _refused_creates(
    kube: Kube, namespace: str, owners: dict[tuple[str, str], dict[str, Any]]
) -> dict[tuple[str, str], list[str]]:
    """Answer object -> the distinct messages of its controllers' FailedCreate events (a
    ReplicaSet's count for its Deployment): the API server refused to create its pods."""
    events = kube.get(f"/api/v1/namespaces/{namespace}/events").get("items") or []
    refused: dict[tuple[str, str], list[str]] = {}
    for event in events:
        message = str(event.get("message") or "")
        involved = event.get("involvedObject") or {}
        if event.get("reason") != "FailedCreate" or not message:
            continue
        key = (str(involved.get("kind")), str(involved.get("name")))
        parent = owners.get(key)
        top = _top_owner(parent, owners) if parent is not None else ("", "")
        top = top if top != ("", "") else key
        if message not in refused.setdefault(top, []):
            refused[top].append(message)
    return refused


def _hpa_has_conditions(kube: Kube, namespace: str, name: str) -> bool:
    try:
        body = kube.get(
            f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/{name}"
        )
    except ApiError:
        return True
    return bool((body.get("status") or {}).get("conditions"))


def _node_view(node: dict[str, Any]) -> dict[str, Any]:
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    allocatable = {k: str(v) for k, v in (status.get("allocatable") or {}).items()}
    capacity = {k: str(v) for k, v in (status.get("capacity") or {}).items()}
    gpu_resource = node_gpu_resource(allocatable)
    gpus = int_quantity(allocatable.get(gpu_resource, "0")) if gpu_resource else 0
    return {
        "name": profile_name(node),
        "labels": dict(meta.get("labels") or {}),
        "taints": [
            {k: str(t.get(k) or "") for k in ("key", "value", "effect")}
            for t in (node.get("spec") or {}).get("taints") or []
        ],
        "allocatable": allocatable,
        "capacity": capacity,
        "gpuResource": gpu_resource,
        "gpus": gpus,
    }


def _pod_view(
    pod: dict[str, Any],
    owners: dict[tuple[str, str], dict[str, Any]],
    profile_names: dict[str, str] | None = None,
    events: Sequence[dict[str, Any]] | None = (),
    held: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The pod as live checks see it. `events` None: the nodes never start containers
    (kwok), so a bound pod is placed; else a bound pod is placed once it started. `held`:
    why gang scheduling keeps the unbound pod out of the queue (`app.live.gang`)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    bound_to = str(spec.get("nodeName") or "")
    node = (profile_names or {}).get(bound_to, bound_to)
    refused = _unschedulable(pod)
    owner_kind, owner_name = _top_owner(pod, owners)
    why: dict[str, Any] = {}
    if refused and not node:
        why = refused
    elif held and not node:
        why = held
    elif node and events is not None and not _started(pod):
        why = _not_started_reason(pod, events)
    return {
        "name": str(meta.get("name")),
        "labels": dict(meta.get("labels") or {}),
        "node": node,
        "phase": str((pod.get("status") or {}).get("phase") or "Pending"),
        # Placed means running: a pod bound to a node whose containers never start
        # (ErrImagePull, a missing ConfigMap) does not count.
        "scheduled": bool(node) and not why,
        "reason": str(why.get("reason") or ""),
        "message": str(why.get("message") or ""),
        "owner": {"kind": owner_kind, "name": owner_name},
        "spec": spec,
        # The API server computes the QoS class at admission: the authority on it.
        "qosClass": str((pod.get("status") or {}).get("qosClass") or ""),
    }


def _event_view(event: dict[str, Any]) -> dict[str, Any]:
    involved = event.get("involvedObject") or {}
    return {
        "type": str(event.get("type") or ""),
        "reason": str(event.get("reason") or ""),
        "message": str(event.get("message") or ""),
        "kind": str(involved.get("kind") or ""),
        "name": str(involved.get("name") or ""),
    }
