"""The placement tree of a namespace: each training job, the JobSets and Jobs the
operators made from it, and their pods with node, phase and GPUs.

`read_tree(kube, namespace)` reads TrainJobs, PyTorchJobs, JobSets, Jobs and pods
(kinds the cluster does not serve are skipped) and `build_tree` links them by
`ownerReferences` (the controller reference first), falling back on the labels
the controllers put on what they create (JobSet labels its Jobs and pods
`jobset.sigs.k8s.io/jobset-name`, the training operator its pods
`training.kubeflow.org/job-name`, the Job controller `batch.kubernetes.io/job-name`).
Plain data out
(`WorkloadNode`, `PodLeaf`), so the CLI (rich, `app.grading.tree_render`), the JSON
report and the terminal app draw the same tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.cluster.kube import ApiError, Kube
from app.k8s.resources import pod_spec_gpus
from app.live import gang
from app.live.training import service_views, training_views

TREE_KINDS: tuple[tuple[str, str, str], ...] = (
    ("trainer.kubeflow.org/v1alpha1", "TrainJob", "trainjobs"),
    ("kubeflow.org/v1", "PyTorchJob", "pytorchjobs"),
    ("jobset.x-k8s.io/v1alpha2", "JobSet", "jobsets"),
    ("batch/v1", "Job", "jobs"),
)
"""Workload kinds of the tree, outermost first: (apiVersion, kind, plural)."""
OWNER_LABELS = {
    "jobset.sigs.k8s.io/jobset-name": "JobSet",
    "training.kubeflow.org/job-name": "PyTorchJob",
    "batch.kubernetes.io/job-name": "Job",
}
"""Labels the controllers set on what they create, naming the parent (used when an
object has no ownerReference, e.g. read from a cluster whose garbage collector lags)."""


@dataclass
class PodLeaf:
    """One pod: where it landed and what it holds."""

    name: str
    node: str
    phase: str
    gpus: int
    reason: str = ""
    """The scheduler's message when the pod is not bound."""
    rendezvous: dict[str, str] = field(default_factory=dict)
    """The torchrun settings the pod will use (`app.live.training`), without the empty ones;
    {} when the pod runs no torchrun."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "node": self.node,
            "phase": self.phase,
            "gpus": self.gpus,
            "reason": self.reason,
            "rendezvous": dict(self.rendezvous),
        }


@dataclass
class WorkloadNode:
    """A workload object and what it created."""

    kind: str
    name: str
    status: str = ""
    """A short status: the last true condition, or the Job's active/succeeded counts."""
    children: list[WorkloadNode] = field(default_factory=list)
    pods: list[PodLeaf] = field(default_factory=list)

    def all_pods(self) -> list[PodLeaf]:
        found = list(self.pods)
        for child in self.children:
            found.extend(child.all_pods())
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "children": [c.to_json() for c in self.children],
            "pods": [p.to_json() for p in self.pods],
        }


def _status(kind: str, obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    if kind == "Job":
        parts = [
            f"{status.get(key)} {key}"
            for key in ("active", "ready", "succeeded", "failed")
            if status.get(key)
        ]
        if (obj.get("spec") or {}).get("suspend"):
            parts.insert(0, "suspended")
        return ", ".join(parts)
    true = [c for c in status.get("conditions") or [] if c.get("status") == "True"]
    if true:
        last = true[-1]
        reason = f" ({last.get('reason')})" if last.get("reason") else ""
        return f"{last.get('type')}{reason}"
    return ""


def _parent(obj: dict[str, Any], known: dict[tuple[str, str], Any]) -> tuple[str, str] | None:
    meta = obj.get("metadata") or {}
    refs = meta.get("ownerReferences") or []
    ordered = sorted(refs, key=lambda r: not r.get("controller"))
    for ref in ordered:
        key = (str(ref.get("kind")), str(ref.get("name")))
        if key in known:
            return key
    labels = meta.get("labels") or {}
    own_kind = str(obj.get("kind") or "")
    for label, kind in OWNER_LABELS.items():
        name = labels.get(label)
        if name and kind != own_kind and (kind, str(name)) in known:
            return (kind, str(name))
    return None


def _pod_leaf(pod: dict[str, Any]) -> PodLeaf:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    node = str(spec.get("nodeName") or "")
    reason = ""
    if not node:
        for condition in status.get("conditions") or []:
            if (
                condition.get("type") == "PodScheduled"
                and condition.get("status") == "False"
                and not gang.stale_gated(pod, condition)
            ):
                reason = str(condition.get("message") or condition.get("reason") or "")
    return PodLeaf(
        name=str((pod.get("metadata") or {}).get("name")),
        node=node,
        phase=str(status.get("phase") or "Pending"),
        gpus=pod_spec_gpus(spec),
        reason=reason,
    )


def build_tree(
    workloads: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    rendezvous: dict[str, dict[str, str]] | None = None,
    waits: dict[str, str] | None = None,
) -> list[WorkloadNode]:
    """Roots (workloads no other listed workload owns) with their children and pods, by
    name within each level. `workloads` carry their `kind`; `rendezvous` is pod name ->
    its torchrun settings; `waits` is pod name -> why an unbound pod waits beyond the
    scheduler's condition (its gang: `app.live.gang`). Pods of no listed workload go
    under a root named after their own owner, or `Pod/<name>` when bare."""
    nodes: dict[tuple[str, str], WorkloadNode] = {}
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in workloads:
        key = (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))
        objects[key] = obj
        nodes[key] = WorkloadNode(key[0], key[1], _status(key[0], obj))
    roots: list[WorkloadNode] = []
    for key, obj in objects.items():
        parent = _parent(obj, nodes)
        if parent is not None and parent != key:
            nodes[parent].children.append(nodes[key])
        else:
            roots.append(nodes[key])
    for pod in pods:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        parent = _parent({**pod, "kind": "Pod"}, nodes)
        leaf = _pod_leaf(pod)
        wait = (waits or {}).get(leaf.name)
        if wait and not leaf.node:
            leaf.reason = f"{leaf.reason}; {wait}" if leaf.reason else wait
        leaf.rendezvous = {k: v for k, v in (rendezvous or {}).get(leaf.name, {}).items() if v}
        if parent is not None:
            nodes[parent].pods.append(leaf)
            continue
        refs = (pod.get("metadata") or {}).get("ownerReferences") or []
        owner = (str(refs[0].get("kind")), str(refs[0].get("name"))) if refs else ("Pod", leaf.name)
        orphan = WorkloadNode(*owner)
        orphan.pods.append(leaf)
        roots.append(orphan)
    for node in nodes.values():
        node.children.sort(key=lambda n: (n.kind, n.name))
        node.pods.sort(key=lambda p: p.name)
    order = {kind: index for index, (_, kind, _) in enumerate(TREE_KINDS)}
    roots.sort(key=lambda n: (order.get(n.kind, len(order)), n.name))
    return roots


def read_tree(
    kube: Kube, namespace: str, rendezvous: dict[str, dict[str, str]] | None = None
) -> list[WorkloadNode]:
    """The namespace's placement tree, read from the API server. `rendezvous` (pod name ->
    settings) is computed from the pods, Services and EndpointSlices when not given."""
    workloads: list[dict[str, Any]] = []
    for api_version, kind, plural in TREE_KINDS:
        prefix = "/apis" if "/" in api_version else "/api"
        try:
            listed = kube.get(f"{prefix}/{api_version}/namespaces/{namespace}/{plural}")
        except ApiError:
            continue  # the kind is not served on this cluster (no such CRD)
        workloads.extend({**item, "kind": kind} for item in listed.get("items") or [])
    pods = kube.get(f"/api/v1/namespaces/{namespace}/pods").get("items") or []
    if rendezvous is None:
        services = service_views(
            kube.get(f"/api/v1/namespaces/{namespace}/services").get("items") or [],
            kube.get(f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices").get(
                "items"
            )
            or [],
        )
        rendezvous = rendezvous_summaries(training_views(pods, services, namespace))
    return build_tree(workloads, pods, rendezvous, gang_waits(kube, namespace, pods))


def gang_waits(kube: Kube, namespace: str, pods: list[dict[str, Any]]) -> dict[str, str]:
    """Pod name -> why its gang keeps it unbound (held out of the queue, or the group's
    verdict), for the pods that name a PodGroup; {} when none does."""
    if not any(gang.group_name(p) for p in pods):
        return {}
    groups = gang.read_groups(kube, namespace)
    held = gang.held_pods(pods, groups)
    waits = {}
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name"))
        why = held[name]["message"] if name in held else gang.group_note(pod, groups)
        if why:
            waits[name] = why
    return waits


def rendezvous_summaries(views: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Pod name -> its rendezvous settings as strings (the master's pods joined), for
    pods that run torchrun or were given PET_ variables."""
    summaries = {}
    for name, view in views.items():
        if not view["torchrun"] and not any(k.startswith("PET_") for k in view["env"]):
            continue
        settings = {
            k: v for k, v in view["rendezvous"].items() if isinstance(v, str) and k != "static"
        }
        settings["masterPods"] = ",".join(view["rendezvous"]["masterPods"])
        summaries[name] = settings
    return summaries
