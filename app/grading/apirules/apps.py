"""`apps` rules: selectors that match their template, restart policy, replica counts,
rolling-update bounds (k8s.io/kubernetes/pkg/apis/apps/validation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.grading.apirules.common import RuleError, dig, err, is_zero, rules_for, validate_meta
from app.k8s.pods import TEMPLATE_PATHS
from app.k8s.scheduling import selector_matches

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")


@rules_for("apps", *WORKLOADS)
def validate_workload(obj: dict[str, Any]) -> Iterator[RuleError]:
    kind = str(obj.get("kind"))
    template = TEMPLATE_PATHS[kind]
    yield from validate_meta(dig(obj, (*template, "metadata")), (*template, "metadata"))
    selector = dig(obj, ("spec", "selector"))
    labels = dig(obj, (*template, "metadata", "labels"))
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        yield err(
            ("spec", "selector"),
            f"Invalid value: empty selector is invalid for {kind.lower()}"
            if isinstance(selector, dict)
            else "Required value",
        )
    elif not selector_matches(selector, labels):
        yield err(
            (*template, "metadata", "labels"),
            f"Invalid value: {labels or {}}: `selector` does not match template `labels`",
        )
    restart = dig(obj, (*template, "spec", "restartPolicy"))
    if restart not in (None, "Always"):
        yield err(
            (*template, "spec", "restartPolicy"),
            f'Unsupported value: "{restart}": supported values: "Always"',
        )
    replicas = dig(obj, ("spec", "replicas"))
    counted = kind != "DaemonSet" and isinstance(replicas, int) and not isinstance(replicas, bool)
    if counted and replicas < 0:
        yield err(
            ("spec", "replicas"), f"Invalid value: {replicas}: must be greater than or equal to 0"
        )


@rules_for("apps", "Deployment")
def validate_strategy(obj: dict[str, Any]) -> Iterator[RuleError]:
    strategy = dig(obj, ("spec", "strategy"))
    if not isinstance(strategy, dict):
        return
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type") == "Recreate" and rolling is not None:
        yield err(
            ("spec", "strategy", "rollingUpdate"),
            "Forbidden: may not be specified when strategy `type` is 'Recreate'",
        )
    elif (
        isinstance(rolling, dict)
        and is_zero(rolling.get("maxSurge"))
        and is_zero(rolling.get("maxUnavailable"))
    ):
        yield err(
            ("spec", "strategy", "rollingUpdate", "maxUnavailable"),
            "Invalid value: 0: may not be 0 when `maxSurge` is 0",
        )
