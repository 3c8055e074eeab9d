"""The live verdict: the scenario's live checks over what the cluster did, the
scheduler's reasons as advice, where each pod landed, and notes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from app.grading.engine import Grader
from app.grading.report import Placement, Report
from app.live import advice
from app.live.observe import Observation, Planned
from app.yamlmap import Document

NO_OPERATOR = {
    "PyTorchJob": "the Kubeflow training operator (v1) made none (is it running?)",
    "TrainJob": "the Kubeflow Trainer controller made none (is it running?)",
    "JobSet": "the JobSet controller made none (is it running?)",
    "InferenceService": "no KServe controller runs on the local cluster",
    "Service.serving.knative.dev": "no Knative controller runs on the local cluster",
    "LeaderWorkerSet": "no LeaderWorkerSet controller runs on the local cluster",
    "ScaledObject": "no KEDA operator runs on the local cluster",
    "ScaledJob": "no KEDA operator runs on the local cluster",
    "NodePool": "no Karpenter controller runs on the local cluster",
}
"""Kinds (`Kind` or `Kind.group`) whose pods come from a controller the local cluster may
not run; the note appears only when none of the answer's pods came from that kind."""


def finish(
    grader: Grader,
    report: Report,
    docs: Sequence[Document],
    planned: Sequence[Planned],
    observation: Observation,
) -> None:
    """Live checks, advice, placement and notes from an observation."""
    server_of = {id(doc): body for doc, body in observation.server_objects}
    live_docs = [
        dataclasses.replace(doc, data=server_of[id(doc)]) if id(doc) in server_of else doc
        for doc in docs
    ]
    results = grader.run_checks(
        live_docs,
        grader.live_checks,
        extra={
            "objects": observation.objects,
            "pods": observation.pods,
            "nodes": observation.nodes,
            "events": observation.events,
            "services": observation.services,
        },
    )
    pending_messages = [
        (p["message"], p["spec"].get("tolerations"))
        for p in observation.pods
        if not p["scheduled"] and p["message"] and not p["node"]
    ]
    summary = advice.summarize(pending_messages, observation.nodes)
    never_started = sorted({_never_started(p) for p in observation.pods if _bound_not_started(p)})
    extra = "; ".join([*never_started, *observation.problems])
    hint = "; ".join(part for part in (summary, extra) if part)
    for result in results:
        if result.status in ("fail", "error") and hint:
            result = dataclasses.replace(result, advice=hint)
        report.checks.append(result)
    placement: list[Placement] = []
    for pod in sorted(observation.pods, key=lambda p: p["name"]):
        reason = ""
        if _bound_not_started(pod):
            reason = _never_started(pod)
        elif not pod["scheduled"]:
            plain = "; ".join(
                advice.explain(pod["message"], observation.nodes, pod["spec"].get("tolerations"))
            )
            if pod["message"]:
                reason = f"{plain} (scheduler: {pod['message']})" if plain else pod["message"]
            else:
                reason = extra or "not scheduled"
            if pod.get("gang"):
                reason = f"{reason}; {pod['gang']}"
        placement.append(Placement(pod["name"], pod["node"] or None, pod["phase"], reason))
    report.placement = placement
    report.workloads = list(observation.tree)
    made_pods = {p["owner"]["kind"] for p in observation.pods}
    kinds: set[str] = set()
    for item in planned:
        kind = str(item.manifest.get("kind"))
        group = str(item.manifest.get("apiVersion") or "").rpartition("/")[0]
        kinds.update((kind, f"{kind}.{group}") if group else (kind,))
    for kind, why in NO_OPERATOR.items():
        if kind in kinds and kind.split(".", 1)[0] not in made_pods:
            shown = kind.split(".", 1)[0]
            report.notes.append(
                f"{shown} was accepted by the API server, but no pods were created from it: {why}"
            )
    for problem in observation.problems:
        report.notes.append(problem)


def _bound_not_started(pod: dict[str, Any]) -> bool:
    """Bound to a node by the scheduler, but its containers never started (kind)."""
    return bool(pod["node"]) and not pod["scheduled"]


def _never_started(pod: dict[str, Any]) -> str:
    reason = pod["reason"] or "NotStarted"
    message = f": {pod['message']}" if pod["message"] else ""
    return f"pod {pod['name']} was placed on {pod['node']} but never started ({reason}{message})"
