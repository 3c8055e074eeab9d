"""Interleaved arrival: the answer's workloads' pods reach the scheduler taking turns.

Whether two 4-worker jobs on 4 GPUs deadlock depends on the order in which their
pods reach the scheduler: all of one job's first, and it simply gets every GPU;
interleaved, as when two teams' jobs trickle in, each gets part and both wait
forever. Which order a live attempt sees is a race between the Job controller's
batches and the scheduler (measured: on an idle machine nearly always interleaved,
under load often not), so a scenario about that deadlock asks for the arrival order
explicitly (`interleaveArrivals: true` in scenario.yaml).

How: every pod template of the answer gets the scheduling gate `GATE`, so the
controllers create every pod but the scheduler looks at none (a gated pod is held
before the scheduler's queue: kubernetes.io/docs/concepts/scheduling-eviction/
pod-scheduling-readiness/). Once all the pods exist, `release_in_turns` removes the
gate one pod at a time, the first pod of each workload, then the second of each, and
so on (Indexed Jobs by completion index), waiting after each for the scheduler's
decision (bound, refused, or held back by its gang: `app.live.gang`). The order is
then the same on every run and every machine. Objects read back have the gate taken
out again (`without_gate`), so live checks see the answer as written.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from typing import Any

from app.cluster.kube import ApiError, Kube
from app.k8s.pods import expected_pods
from app.live import gang

GATE = "kprep.dev/interleaved-arrival"
DECISION_SECONDS = 5.0
"""Longest wait for the scheduler's decision on one released pod."""
POLL_SECONDS = 0.1
INDEX_LABEL = "batch.kubernetes.io/job-completion-index"


def gated(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of `manifest` whose pod template carries `GATE`, or None when it has no
    `spec.template.spec` (the kinds this is for: Job, Deployment, StatefulSet, ...)."""
    template = (manifest.get("spec") or {}).get("template")
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return None
    result = copy.deepcopy(manifest)
    spec = result["spec"]["template"]["spec"]
    spec["schedulingGates"] = [*(spec.get("schedulingGates") or []), {"name": GATE}]
    return result


def without_gate(obj: Any) -> Any:
    """`obj` (an object or pod read back) without `GATE` in its pod spec or template."""
    if not isinstance(obj, dict):
        return obj
    for spec in (obj.get("spec"), ((obj.get("spec") or {}).get("template") or {}).get("spec")):
        if isinstance(spec, dict) and isinstance(spec.get("schedulingGates"), list):
            kept = [g for g in spec["schedulingGates"] if (g or {}).get("name") != GATE]
            if kept:
                spec["schedulingGates"] = kept
            else:
                del spec["schedulingGates"]
    return obj


def _is_gated(pod: dict[str, Any]) -> bool:
    gates = (pod.get("spec") or {}).get("schedulingGates") or []
    return any((g or {}).get("name") == GATE for g in gates)


def _owner(pod: dict[str, Any]) -> str:
    refs = (pod.get("metadata") or {}).get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    return f"{ref.get('kind')}/{ref.get('name')}" if ref else ""


def _index(pod: dict[str, Any]) -> tuple[int, str]:
    meta = pod.get("metadata") or {}
    raw = str((meta.get("labels") or {}).get(INDEX_LABEL, ""))
    return (int(raw) if raw.isdigit() else 0, str(meta.get("name")))


def turns(pods: Sequence[dict[str, Any]], owner_order: Sequence[str]) -> list[dict[str, Any]]:
    """The pods in release order: the first of each owner (in `owner_order`, then any
    other), then the second of each, and so on."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        groups.setdefault(_owner(pod), []).append(pod)
    order = [o for o in owner_order if o in groups] + sorted(set(groups) - set(owner_order))
    queues = [sorted(groups[o], key=_index) for o in order]
    released: list[dict[str, Any]] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        released.extend(q[depth] for q in queues if depth < len(q))
    return released


def decided(pod: dict[str, Any], held: dict[str, dict[str, str]]) -> bool:
    """Bound, refused by the scheduler (not merely gated), or held back by its gang."""
    if (pod.get("spec") or {}).get("nodeName") or pod["metadata"]["name"] in held:
        return True
    return gang.refused(pod)


def release_in_turns(
    kube: Kube,
    namespace: str,
    applied: Sequence[dict[str, Any]],
    deadline: float,
    cancel: threading.Event | None = None,
) -> None:
    """Wait (until `deadline`) for every gated pod to exist, then release them in turns."""
    workloads = [o for o in applied if gated(o) is not None]
    want = sum(expected_pods(o) or 0 for o in workloads)
    owner_order = [f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}" for o in workloads]
    path = f"/api/v1/namespaces/{namespace}/pods"

    def waiting() -> list[dict[str, Any]]:
        return [p for p in kube.get(path).get("items") or [] if _is_gated(p)]

    pods = waiting()
    while len(pods) < want and time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            return
        time.sleep(POLL_SECONDS)
        pods = waiting()
    for pod in turns(pods, owner_order):
        name = pod["metadata"]["name"]
        gates = [g for g in pod["spec"].get("schedulingGates") or [] if g.get("name") != GATE]
        try:
            kube.request(
                "PATCH",
                f"{path}/{name}",
                body=[{"op": "replace", "path": "/spec/schedulingGates", "value": gates}],
                content_type="application/json-patch+json",
            )
        except ApiError as exc:
            if exc.status == 404:
                continue  # gone meanwhile (its controller replaced it): nothing to release
            raise
        until = min(deadline, time.monotonic() + DECISION_SECONDS)
        while time.monotonic() < until and not (cancel is not None and cancel.is_set()):
            current = kube.get(f"{path}/{name}")
            held: dict[str, dict[str, str]] = {}
            if gang.group_name(current):
                everyone = kube.get(path).get("items") or []
                held = gang.held_pods(everyone, gang.read_groups(kube, namespace))
            if decided(current, held):
                break
            time.sleep(POLL_SECONDS)
