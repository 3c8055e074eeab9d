"""Scheduler verdicts in plain words.

The scheduler explains a Pending pod in one dense sentence: "0/8 nodes are
available: 2 node(s) didn't match Pod's node affinity/selector, 4 node(s) had
untolerated taint {nvidia.com/gpu: present}, 2 Insufficient nvidia.com/gpu.
preemption: ...". `explain` turns each clause into what the candidate should
change, using the cluster's nodes to fill in details the message leaves out
(a taint's effect, which nodes carry a label). Pure functions, no cluster
access, so they are unit-tested on recorded messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.k8s.scheduling import tolerates

NO_SCHEDULER = (
    "nothing scheduled your pods within {seconds}s; is the scheduler running? "
    "(`kprep cluster status`; `kprep cluster up` restarts stopped components)"
)
NO_CONTROLLER = (
    "no pods were created for {what} within {seconds}s; is the controller-manager "
    "running? (`kprep cluster up` restarts stopped components)"
)

_TAINT = re.compile(r"(\d+) node\(s\) had untolerated taint\(?s?\)? \{([^}]*)\}")
_TAINTS_UNNAMED = re.compile(r"(\d+) node\(s\) had untolerated taint\(s\)(?! \{)")
_INSUFFICIENT = re.compile(r"(\d+) Insufficient ([A-Za-z0-9./_-]+)")


def _carried(nodes: Sequence[dict[str, Any]], key: str) -> bool:
    return any(t.get("key") == key for node in nodes for t in node.get("taints") or [])


def _taint_effect(nodes: Sequence[dict[str, Any]], key: str, value: str) -> str:
    for node in nodes:
        for taint in node.get("taints") or []:
            if taint.get("key") == key and str(taint.get("value") or "") == value:
                return str(taint.get("effect") or "NoSchedule")
    return "NoSchedule"


def _toleration_text(key: str, value: str, effect: str) -> str:
    if not value:
        return f"{{key: {key}, operator: Exists, effect: {effect}}}"
    return (
        f"{{key: {key}, operator: Exists, effect: {effect}}} (or operator: Equal with "
        f"value: {value})"
    )


def _one_taint(count: str, key: str, value: str, effect: str) -> str:
    spelled = f"{key}={value}:{effect}" if value else f"{key}:{effect}"
    gpu = " GPU" if "gpu" in key.lower() else ""
    return (
        f"your pods don't tolerate the{gpu} nodes' taint {spelled} ({count} node(s)); "
        f"add a toleration {_toleration_text(key, value, effect)}"
    )


def _taint_advice(match: re.Match[str], nodes: Sequence[dict[str, Any]]) -> str:
    count, body = match.group(1), match.group(2)
    key, _, value = body.partition(":")
    key, value = key.strip(), value.strip()
    return _one_taint(count, key, value, _taint_effect(nodes, key, value))


def untolerated_taints(
    nodes: Sequence[dict[str, Any]], tolerations: Any
) -> dict[tuple[str, str, str], int]:
    """(key, value, effect) -> how many nodes carry it, for scheduling taints not tolerated."""
    found: dict[tuple[str, str, str], int] = {}
    for node in nodes:
        for taint in node.get("taints") or []:
            if taint.get("effect") not in ("NoSchedule", "NoExecute"):
                continue
            if tolerates(tolerations, taint):
                continue
            key = (
                str(taint.get("key") or ""),
                str(taint.get("value") or ""),
                str(taint.get("effect") or ""),
            )
            found[key] = found.get(key, 0) + 1
    return found


def _unnamed_taint_advice(
    count: str, nodes: Sequence[dict[str, Any]], tolerations: Any
) -> list[str]:
    """Kubernetes 1.36 says only "N node(s) had untolerated taint(s)": name them from the nodes."""
    taints = untolerated_taints(nodes, tolerations)
    if not taints:
        return [
            f"{count} node(s) carry taints your pods don't tolerate; compare the pods' "
            "tolerations with the nodes' taints (`kprep cluster status`)"
        ]
    advice = []
    for (key, value, effect), nodes_with in sorted(taints.items()):
        advice.append(_one_taint(str(nodes_with), key, value, effect))
        if tolerations and any(
            isinstance(t, dict)
            and t.get("key") == key
            and (t.get("operator") or "Equal") == "Equal"
            and not t.get("value")
            for t in tolerations
        ):
            advice.append(
                f"a toleration with operator: Equal and no value only tolerates the "
                f"taint {key} with an empty value, not {key}={value}; use operator: "
                "Exists or give the value"
            )
    return advice


def _insufficient_advice(match: re.Match[str]) -> str:
    count, resource = match.group(1), match.group(2)
    if "/" in resource:
        return (
            f"{count} node(s) have too few free {resource} (none at all, or all in use): "
            "devices are whole and never shared, so each pod needs its full count free "
            "on one node; ask for fewer per pod, run fewer replicas, or target nodes "
            "that have more"
        )
    return (
        f"{count} node(s) don't have enough unreserved {resource} for the pod's requests "
        "(the scheduler counts requests, not usage); lower the request or fewer replicas"
    )


_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(\d+) node\(s\) didn't match Pod's node affinity/selector"),
        "{n} node(s) don't match the pod's nodeSelector / required node affinity; check each "
        "label key and value against the nodes' labels (`kprep cluster status`)",
    ),
    (
        re.compile(r"(\d+) node\(s\) didn't match pod anti-affinity rules"),
        "{n} node(s) already run a pod your required anti-affinity excludes: required "
        "anti-affinity allows one such pod per topology domain, so replicas beyond the number "
        "of domains stay Pending; use preferredDuringScheduling anti-affinity or a topology "
        "spread constraint, or fewer replicas",
    ),
    (
        re.compile(r"(\d+) node\(s\) didn't satisfy existing pods anti-affinity rules"),
        "{n} node(s) run pods whose own anti-affinity keeps your pod away",
    ),
    (
        re.compile(r"(\d+) node\(s\) didn't match pod affinity rules"),
        "{n} node(s) have no pod your required pod affinity asks to be near; the pods it "
        "selects must exist (and match its labelSelector) first",
    ),
    (
        re.compile(
            r"(\d+) node\(s\) didn't match pod topology spread constraints"
            r"(?: \(missing required label\))?"
        ),
        "{n} node(s) would break a topology spread constraint (maxSkew with "
        "whenUnsatisfiable: DoNotSchedule): the pods cannot be spread as evenly as required; "
        "raise maxSkew, use ScheduleAnyway, or check that nodes carry the topologyKey label",
    ),
    (
        re.compile(r"(\d+) node\(s\) were unschedulable"),
        "{n} node(s) are cordoned (spec.unschedulable)",
    ),
    (
        re.compile(r"(\d+) node\(s\) didn't have free ports for the requested pod ports"),
        "{n} node(s) already use the hostPort the pod asks for; drop hostPort (a Service is "
        "the usual way in)",
    ),
    (re.compile(r"(\d+) Too many pods"), "{n} node(s) are at their pod limit"),
    (
        re.compile(r"(\d+) node\(s\) had volume node affinity conflict"),
        "{n} node(s) are outside the zone of the pod's volume",
    ),
    (
        re.compile(r"pod has unbound immediate PersistentVolumeClaims"),
        "a PersistentVolumeClaim is not bound: the local cluster has no storage provisioner, so "
        "a claim without a matching PersistentVolume stays Pending",
    ),
    (
        re.compile(r"persistentvolumeclaim \"([^\"]+)\" not found"),
        "the pod mounts a PersistentVolumeClaim that does not exist",
    ),
)


def explain(
    message: str, nodes: Sequence[dict[str, Any]] = (), tolerations: Any = None
) -> list[str]:
    """Plain advice for one scheduler message, one sentence per clause it recognises.

    `nodes` (the live `nodes` view) and the pod's `tolerations` fill in what
    the message leaves out: which taints, with which effect.
    """
    if not message:
        return []
    main = message.split(" preemption:", 1)[0]
    advice: list[str] = []
    for match in _TAINT.finditer(main):
        # Only taints a node of the profile carries: kind's control-plane node is in the
        # scheduler's count but not in the profile, and tolerating it is never the fix.
        if not nodes or _carried(nodes, match.group(2).partition(":")[0].strip()):
            advice.append(_taint_advice(match, nodes))
    for match in _TAINTS_UNNAMED.finditer(main):
        advice.extend(_unnamed_taint_advice(match.group(1), nodes, tolerations))
    for match in _INSUFFICIENT.finditer(main):
        advice.append(_insufficient_advice(match))
    for pattern, text in _PLAIN:
        found = pattern.search(main)
        if found:
            count = found.group(1) if found.groups() else ""
            advice.append(text.format(n=count))
    return advice


def summarize(messages: Sequence[tuple[str, Any]], nodes: Sequence[dict[str, Any]] = ()) -> str:
    """Advice for several pods' (message, tolerations), each distinct sentence once."""
    seen: list[str] = []
    for message, tolerations in messages:
        for sentence in explain(message, nodes, tolerations):
            if sentence not in seen:
                seen.append(sentence)
    return "; ".join(seen)
