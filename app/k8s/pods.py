"""Where workloads keep their pod templates, and how many pods they ask for.

One lookup for every caller: the offline API rules need the template's path
(for line numbers), the CEL helpers and the placement view need its value, the
live grader needs the number of pods an object will create (to wait for them,
and to refuse an answer that would flood the local cluster).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PathT = tuple[str | int, ...]

TEMPLATE_PATHS: dict[str, PathT] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
"""Built-in workload kind -> path of its pod template (`()`: a Pod is its own template)."""
REPLICATED_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")
PYTORCH_ROLES = ("Master", "Worker")
"""PyTorchJob replica roles, in the order their templates are looked up."""


def dig(data: Any, path: PathT) -> Any:
    """The value at `path`, or None when any step is missing or of the wrong type."""
    for part in path:
        if isinstance(part, int):
            data = data[part] if isinstance(data, list) and 0 <= part < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
    return data


def template_paths(obj: Any) -> list[PathT]:
    """Every pod template in the object, primary first: a built-in workload's one, each
    PyTorchJob role (Master, then Worker, then any other), each JobSet replicated job,
    else `spec.template` when another kind has one."""
    if not isinstance(obj, dict):
        return []
    kind = str(obj.get("kind"))
    if kind in TEMPLATE_PATHS:
        return [TEMPLATE_PATHS[kind]]
    if kind == "PyTorchJob":
        roles = dig(obj, ("spec", "pytorchReplicaSpecs"))
        if not isinstance(roles, dict):
            return []
        ordered = [r for r in PYTORCH_ROLES if r in roles] + sorted(
            str(r) for r in roles if r not in PYTORCH_ROLES
        )
        return [("spec", "pytorchReplicaSpecs", role, "template") for role in ordered]
    if kind == "JobSet":
        jobs = dig(obj, ("spec", "replicatedJobs"))
        if not isinstance(jobs, list):
            return []
        return [
            ("spec", "replicatedJobs", i, "template", "spec", "template") for i in range(len(jobs))
        ]
    # Other kinds that follow the workload convention (a Knative Service, say).
    return [("spec", "template")] if isinstance(dig(obj, ("spec", "template")), dict) else []


def template_path(obj: Any) -> PathT | None:
    """The primary pod template's path, or None when the object has none."""
    paths = template_paths(obj)
    return paths[0] if paths else None


def pod_template(obj: Any) -> dict[str, Any]:
    """The primary pod template (metadata + spec) of a workload, or {}."""
    path = template_path(obj)
    if path is None:
        return {}
    if path == ():
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        spec = obj.get("spec") if isinstance(obj, dict) else None
        return {
            "metadata": meta if isinstance(meta, dict) else {},
            "spec": spec if isinstance(spec, dict) else {},
        }
    template = dig(obj, path)
    return dict(template) if isinstance(template, dict) else {}


def pod_spec(obj: Any) -> dict[str, Any]:
    """The primary pod template's spec, or {}."""
    spec = pod_template(obj).get("spec")
    return dict(spec) if isinstance(spec, dict) else {}


def pod_template_labels(obj: Any) -> dict[str, Any]:
    """The primary pod template's labels, or {}."""
    meta = pod_template(obj).get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return dict(labels) if isinstance(labels, dict) else {}


def _count(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(value, 0)


@dataclass(frozen=True)
class PodSource:
    """Pods one object creates, and the field that sets how many."""

    path: PathT
    """The field the number comes from (`spec.replicas`...), for the report's line."""
    pods: int
    how: str
    """The arithmetic, for a message: `replicas 100000`, `2 replicas x size 8`."""


def _job_pods(spec: Any) -> int:
    """Pods a Job spec runs at once: parallelism (default 1), capped by completions."""
    spec = spec if isinstance(spec, dict) else {}
    if spec.get("suspend") is True:
        return 0
    parallelism = _count(spec.get("parallelism"), 1)
    completions = spec.get("completions")
    return parallelism if completions is None else min(parallelism, _count(completions, 1))


OPERATOR_KINDS = ("PyTorchJob", "JobSet", "LeaderWorkerSet", "TrainJob")
"""Kinds whose pods an operator creates (Kubeflow Training Operator, JobSet, LWS,
Kubeflow Trainer), when one runs on the cluster."""


def pod_sources(obj: Any, nodes: int | None = None) -> list[PodSource] | None:
    """Where an object's pods come from, each with its field; None when the count depends
    on the cluster and `nodes` is not given (a DaemonSet runs one pod per node).

    Built-in kinds as the API server defaults them (replicas 1; a Job's parallelism
    1, capped by completions; a suspended Job none; a CronJob one Job's worth), and
    the operators' kinds by their own replica fields: a PyTorchJob's roles'
    `replicas`, a JobSet's `replicatedJobs[*].replicas` x each Job's pods, a
    LeaderWorkerSet's `replicas` x `leaderWorkerTemplate.size`, a TrainJob's
    `trainer.numNodes` (all defaulting to 1).
    """
    if not isinstance(obj, dict):
        return []
    kind = obj.get("kind")
    spec = obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if kind == "Pod":
        return [PodSource((), 1, "one pod")]
    if kind in REPLICATED_KINDS:
        count = _count(spec.get("replicas"), 1)
        return [PodSource(("spec", "replicas"), count, f"replicas {count}")]
    if kind == "Job":
        count = _job_pods(spec)
        return [PodSource(("spec", "parallelism"), count, f"parallelism {count}")]
    if kind == "CronJob":
        job = dig(spec, ("jobTemplate", "spec"))
        count = _job_pods(job)
        path: PathT = ("spec", "jobTemplate", "spec", "parallelism")
        return [PodSource(path, count, f"parallelism {count} per run")]
    if kind == "DaemonSet":
        if nodes is None:
            return None
        return [PodSource(("kind",), nodes, f"one pod on each of {nodes} nodes")]
    if kind == "PyTorchJob":
        roles = spec.get("pytorchReplicaSpecs")
        found = []
        for role, role_spec in roles.items() if isinstance(roles, dict) else []:
            count = _count(role_spec.get("replicas") if isinstance(role_spec, dict) else None, 1)
            where: PathT = ("spec", "pytorchReplicaSpecs", str(role), "replicas")
            found.append(PodSource(where, count, f"{role} replicas {count}"))
        return found
    if kind == "JobSet":
        jobs = spec.get("replicatedJobs")
        found = []
        for index, job in enumerate(jobs if isinstance(jobs, list) else []):
            job = job if isinstance(job, dict) else {}
            replicas = _count(job.get("replicas"), 1)
            each = _job_pods(dig(job, ("template", "spec")))
            found.append(
                PodSource(
                    ("spec", "replicatedJobs", index, "replicas"),
                    replicas * each,
                    f"replicas {replicas} x {each} pod(s) per Job",
                )
            )
        return found
    if kind == "LeaderWorkerSet":
        replicas = _count(spec.get("replicas"), 1)
        size = _count(dig(spec, ("leaderWorkerTemplate", "size")), 1)
        return [
            PodSource(("spec", "replicas"), replicas * size, f"replicas {replicas} x size {size}")
        ]
    if kind == "TrainJob":
        count = _count(dig(spec, ("trainer", "numNodes")), 1)
        return [PodSource(("spec", "trainer", "numNodes"), count, f"numNodes {count}")]
    return []


def expected_pods(obj: Any, operators: bool = False, nodes: int | None = None) -> int | None:
    """Pods an object creates right away; None when it depends on the cluster (DaemonSet
    without `nodes`).

    Built-in kinds only unless `operators`: the live observer waits for what the
    cluster's own controllers make, while the live grader's pod budget also counts
    what an operator would make (see `pod_sources`). Kinds without pods (Services,
    PDBs, HPAs) create 0.
    """
    if not operators and isinstance(obj, dict) and obj.get("kind") in OPERATOR_KINDS:
        return 0
    sources = pod_sources(obj, nodes)
    return None if sources is None else sum(source.pods for source in sources)


@dataclass(frozen=True)
class ScaleCeiling:
    """An autoscaler's upper bound on another object's replicas."""

    kind: str
    name: str
    replicas: int
    path: PathT


def scale_ceiling(obj: Any) -> ScaleCeiling | None:
    """An HPA's `maxReplicas` for its `scaleTargetRef`, or None for anything else."""
    if not isinstance(obj, dict) or obj.get("kind") != "HorizontalPodAutoscaler":
        return None
    target = dig(obj, ("spec", "scaleTargetRef"))
    maximum = dig(obj, ("spec", "maxReplicas"))
    if not isinstance(target, dict) or isinstance(maximum, bool) or not isinstance(maximum, int):
        return None
    return ScaleCeiling(
        str(target.get("kind")), str(target.get("name")), max(maximum, 0), ("spec", "maxReplicas")
    )


def pods_per_replica(obj: Any) -> int:
    """Pods one replica of a scalable object is (a LeaderWorkerSet group is `size` pods)."""
    if isinstance(obj, dict) and obj.get("kind") == "LeaderWorkerSet":
        return _count(dig(obj, ("spec", "leaderWorkerTemplate", "size")), 1)
    return 1
