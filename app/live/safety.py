"""What the live grader refuses to apply, decided before anything reaches the cluster.

The candidate's YAML runs on a cluster kprep (or the candidate) owns, so the
rules are about keeping an attempt inside its namespace and off the host:

- only kinds the scenario allows (its `allowedKinds`, default: the kinds of its
  reference answer), and only namespaced ones (checked against discovery by the
  caller); `Namespace` documents are skipped, since every attempt runs in a
  fresh namespace of kprep's;
- no privileged containers, hostPath volumes, hostNetwork, hostPID or hostIPC,
  wherever a pod spec is embedded (Deployments, Jobs, CronJobs, custom
  resources);
- at most `MAX_OBJECTS` objects;
- at most `pod_limit(gpus)` pods in all: max(50, 4 x the cluster's GPUs),
  counting each workload's replicas, parallelism and completions, the operators'
  replica counts, and an HPA's `maxReplicas` for its target (`pod_budget`). A
  typo such as `replicas: 100000` would otherwise flood the local cluster with
  pods, and every later attempt with it.

A refusal names the field, so the report points at the line; any refusal means
nothing is applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.k8s.pods import pod_sources, pods_per_replica, scale_ceiling

MAX_OBJECTS = 50
MIN_POD_LIMIT = 50
PODS_PER_GPU = 4
HOST_FLAGS = ("hostNetwork", "hostPID", "hostIPC")

PathT = tuple[str | int, ...]


@dataclass(frozen=True)
class Refusal:
    path: PathT
    """Field inside the document that caused it (for the report's line)."""
    message: str


def _walk(node: Any, path: PathT) -> Iterator[tuple[PathT, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def host_access(document: Any) -> list[Refusal]:
    """Privileged containers and host namespaces/paths anywhere in one document."""
    refusals: list[Refusal] = []
    for path, node in _walk(document, ()):
        if not isinstance(node, dict):
            continue
        if "containers" in node:
            for flag in HOST_FLAGS:
                if node.get(flag) is True:
                    refusals.append(
                        Refusal(
                            (*path, flag),
                            f"{flag}: true shares the host's namespaces; kprep does not run it",
                        )
                    )
        if path and path[-1] == "securityContext" and node.get("privileged") is True:
            refusals.append(
                Refusal(
                    (*path, "privileged"),
                    "privileged containers get full access to the host; kprep does not run them",
                )
            )
        if len(path) >= 2 and path[-2] == "volumes" and "hostPath" in node:
            refusals.append(
                Refusal(
                    (*path, "hostPath"),
                    "hostPath volumes expose the host's "
                    "files; kprep does not run them (use emptyDir or a PVC)",
                )
            )
    return refusals


def allowed_kinds(scenario_kinds: Sequence[str], reference_kinds: Sequence[str]) -> set[str]:
    return set(scenario_kinds or reference_kinds)


def kind_refusal(kind: str, allowed: set[str]) -> Refusal | None:
    if kind in allowed:
        return None
    listed = ", ".join(sorted(allowed)) or "none"
    return Refusal(
        ("kind",), f"kprep does not apply {kind} objects for this scenario (allowed: {listed})"
    )


def pod_limit(gpus: int) -> int:
    """Pods one attempt may create on a cluster with `gpus` GPUs."""
    return max(MIN_POD_LIMIT, PODS_PER_GPU * gpus)


@dataclass(frozen=True)
class PodBudgetRefusal:
    """The answer would create more pods than the limit: which document and field."""

    document: int
    """Index, in the list given to `pod_budget`, of the document that sets the number."""
    path: PathT
    message: str


def pod_budget(objects: Sequence[Any], gpus: int, nodes: int) -> PodBudgetRefusal | None:
    """Refuse an answer whose objects would create more than `pod_limit(gpus)` pods.

    Each object's pods come from `app.k8s.pods.pod_sources`; a workload that an
    HPA of the answer targets counts as `maxReplicas` replicas when that is more.
    The refusal names the largest contributor's field and number.
    """
    limit = pod_limit(gpus)
    ceilings = {}
    for index, obj in enumerate(objects):
        ceiling = scale_ceiling(obj)
        if ceiling is not None:
            ceilings[(ceiling.kind, ceiling.name)] = (index, ceiling)
    contributions: list[tuple[int, int, PathT, str]] = []
    """(pods, document index, field, how)"""
    for index, obj in enumerate(objects):
        sources = pod_sources(obj, nodes) or []
        contributions += [(s.pods, index, s.path, s.how) for s in sources]
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        found = ceilings.get((str(obj.get("kind")) if isinstance(obj, dict) else "", str(name)))
        if found is not None:
            hpa_index, ceiling = found
            own = sum(s.pods for s in sources)
            scaled = ceiling.replicas * pods_per_replica(obj)
            if scaled > own:
                contributions.append(
                    (
                        scaled - own,
                        hpa_index,
                        ceiling.path,
                        f"maxReplicas {ceiling.replicas} of its autoscaler",
                    )
                )
    total = sum(pods for pods, *_ in contributions)
    if total <= limit:
        return None
    pods, index, path, how = max(contributions, key=lambda item: item[0])
    where = ".".join(str(part) for part in path) or "the object"
    if pods == total:
        summary = f"{where}: {how} means {pods} pods"
    else:
        summary = f"{total} pods in all, {pods} of them from {where} ({how})"
    return PodBudgetRefusal(
        index,
        path,
        f"{summary}, more than the {limit} an attempt may create on this cluster "
        f"(max({MIN_POD_LIMIT}, {PODS_PER_GPU} x its {gpus} GPUs)); nothing was applied",
    )
