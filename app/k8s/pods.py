"""Where workloads keep their pod templates, and how many pods they ask for.

One lookup for every caller: the offline API rules need the template's path
(for line numbers), the CEL helpers and the placement view need its value, the
live grader needs the number of pods an object will create (to wait for them,
and to refuse an answer that would flood the local cluster).
"""

from __future__ import annotations

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


def expected_pods(obj: Any) -> int | None:
    """Pods an object creates right away; None when it depends on the cluster (DaemonSet).

    Defaults as the API server fills them in: replicas 1; a Job's parallelism 1,
    its completions capping parallelism; a suspended Job none. Kinds without
    pods (Services, PDBs, HPAs) create 0.
    """
    if not isinstance(obj, dict):
        return 0
    kind = obj.get("kind")
    spec = obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if kind == "Pod":
        return 1
    if kind in REPLICATED_KINDS:
        return _count(spec.get("replicas"), 1)
    if kind == "Job":
        if spec.get("suspend") is True:
            return 0
        parallelism = _count(spec.get("parallelism"), 1)
        completions = spec.get("completions")
        return parallelism if completions is None else min(parallelism, _count(completions, 1))
    if kind == "DaemonSet":
        return None
    return 0
