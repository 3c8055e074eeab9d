"""Pods that Kubernetes' own gang scheduling holds back, and why.

Kubernetes 1.35+ (alpha, gates `GenericWorkload` and `GangScheduling`, which the local
cluster turns on: docs/cluster-addons.md) lets a pod join a `PodGroup`
(`scheduling.k8s.io/v1alpha2`) through `spec.schedulingGroup.podGroupName`. For a
group with a gang policy, the scheduler keeps the pods out of its queue (its PreEnqueue
step) until the PodGroup exists and at least `minCount` pods name it; until then the
pods carry no PodScheduled condition and no event, exactly like pods no scheduler
looks at. Waiting for them changes nothing once all of the answer's pods exist, so the
observer counts them as decided, and the report says why they wait instead of
suggesting the scheduler is down.

Once the quorum is there, the scheduler decides for the group as a whole: placed pods
are bound, or every pod gets PodScheduled=False with the usual reasons, and the
PodGroup's `PodGroupScheduled` condition says so (`group_note` adds that to the
placement view).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.cluster.kube import ApiError, Kube

PODGROUPS_PATH = "/apis/scheduling.k8s.io/v1alpha2/namespaces/{namespace}/podgroups"
HELD_NO_GROUP = "PodGroupNotFound"
"""kprep's reason for a pod whose PodGroup does not exist (the scheduler gives none)."""
HELD_NO_QUORUM = "GangQuorumNotMet"
"""kprep's reason for a pod whose gang has fewer pods than its minCount."""


def group_name(pod: dict[str, Any]) -> str:
    """The PodGroup a pod names in `spec.schedulingGroup.podGroupName`, or ""."""
    group = ((pod.get("spec") or {}).get("schedulingGroup")) or {}
    return str(group.get("podGroupName") or "") if isinstance(group, dict) else ""


def read_groups(kube: Kube, namespace: str) -> dict[str, dict[str, Any]]:
    """The namespace's PodGroups by name; {} when the cluster does not serve the API."""
    try:
        listed = kube.get(PODGROUPS_PATH.format(namespace=namespace))
    except ApiError:
        return {}
    return {
        str((g.get("metadata") or {}).get("name")): g
        for g in listed.get("items") or []
        if isinstance(g, dict)
    }


def min_count(group: dict[str, Any]) -> int | None:
    """The gang policy's minCount, or None for a basic (or unreadable) policy."""
    policy = ((group.get("spec") or {}).get("schedulingPolicy")) or {}
    gang = policy.get("gang") if isinstance(policy, dict) else None
    if not isinstance(gang, dict):
        return None
    value = gang.get("minCount")
    return value if isinstance(value, int) else None


def refused(pod: dict[str, Any]) -> bool:
    """Whether the scheduler said no to the pod (PodScheduled=False that is not a stale
    `SchedulingGated` left from a gate since removed)."""
    return any(
        c.get("type") == "PodScheduled" and c.get("status") == "False" and not stale_gated(pod, c)
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _waiting_for_scheduler(pod: dict[str, Any]) -> bool:
    """Not bound, not nominated and no PodScheduled verdict yet."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    if spec.get("nodeName") or status.get("nominatedNodeName"):
        return False
    return not refused(pod)


def stale_gated(pod: dict[str, Any], condition: dict[str, Any]) -> bool:
    """A `SchedulingGated` verdict left on a pod whose gates are gone: the API server
    set it while the pod was gated, and a scheduler that holds the pod back in its
    queue (a gang short of its quorum) never replaces it, so it is no verdict."""
    return condition.get("reason") == "SchedulingGated" and not (
        (pod.get("spec") or {}).get("schedulingGates")
    )


def held_pods(
    pods: Sequence[dict[str, Any]], groups: dict[str, dict[str, Any]]
) -> dict[str, dict[str, str]]:
    """Pod name -> {reason, message} for every pod the gang scheduler holds out of its
    queue: its PodGroup does not exist, or the group's gang needs more pods than name it.
    Pods with a verdict, bound pods and pods of no group are left out."""
    members: dict[str, int] = {}
    for pod in pods:
        name = group_name(pod)
        if name and not (pod.get("metadata") or {}).get("deletionTimestamp"):
            members[name] = members.get(name, 0) + 1
    held: dict[str, dict[str, str]] = {}
    for pod in pods:
        name = group_name(pod)
        if not name or not _waiting_for_scheduler(pod):
            continue
        pod_name = str((pod.get("metadata") or {}).get("name"))
        group = groups.get(name)
        if group is None:
            held[pod_name] = {
                "reason": HELD_NO_GROUP,
                "message": (
                    f"its spec.schedulingGroup names PodGroup {name}, which does not exist: "
                    "the scheduler holds the pod, unbound, until it does"
                ),
            }
            continue
        wanted = min_count(group)
        if wanted is not None and members.get(name, 0) < wanted:
            held[pod_name] = {
                "reason": HELD_NO_QUORUM,
                "message": (
                    f"PodGroup {name} is a gang of minCount {wanted} but only "
                    f"{members.get(name, 0)} pod(s) name it: the scheduler holds them all, "
                    f"unbound, until {wanted} exist"
                ),
            }
    return held


def group_note(pod: dict[str, Any], groups: dict[str, dict[str, Any]]) -> str:
    """For an unbound pod of a gang PodGroup: the group and the scheduler's verdict on it
    ("gang team-b (minCount 4): PodGroupScheduled=False, Unschedulable: ..."); "" else."""
    name = group_name(pod)
    group = groups.get(name) if name else None
    if group is None or (pod.get("spec") or {}).get("nodeName"):
        return ""
    wanted = min_count(group)
    if wanted is None:
        return ""
    note = f"gang {name} (minCount {wanted})"
    for condition in (group.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodGroupScheduled":
            verdict = f"PodGroupScheduled={condition.get('status')}"
            if condition.get("reason"):
                verdict += f", {condition.get('reason')}"
            if condition.get("message"):
                verdict += f": {condition.get('message')}"
            note += f": {verdict}; none of its pods is bound until {wanted} fit together"
    return note
