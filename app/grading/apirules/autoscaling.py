"""`autoscaling` rules: HorizontalPodAutoscaler bounds, metric targets and `behavior`
(k8s.io/kubernetes/pkg/apis/autoscaling/validation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.grading.apirules.common import PathT, RuleError, as_list, err, rules_for
from app.k8s.quantity import QuantityError, parse_quantity


@rules_for("autoscaling", "HorizontalPodAutoscaler")
def validate_hpa(obj: dict[str, Any]) -> Iterator[RuleError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    minimum = spec.get("minReplicas")
    maximum = spec.get("maxReplicas")
    ref = spec.get("scaleTargetRef")
    if isinstance(ref, dict):
        if not ref.get("name"):
            yield err(("spec", "scaleTargetRef", "name"), "Required value")
        if not ref.get("apiVersion"):
            yield err(
                ("spec", "scaleTargetRef", "apiVersion"),
                'Invalid value: "": apiVersion must specify API group',
            )
    if isinstance(minimum, int) and minimum < 1:
        yield err(
            ("spec", "minReplicas"), f"Invalid value: {minimum}: must be greater than or equal to 1"
        )
    if isinstance(maximum, int) and maximum < 1:
        yield err(("spec", "maxReplicas"), f"Invalid value: {maximum}: must be greater than 0")
    if isinstance(maximum, int) and isinstance(minimum, int) and maximum < minimum:
        yield err(
            ("spec", "maxReplicas"),
            f"Invalid value: {maximum}: must be greater than or equal to `minReplicas`",
        )
    for i, metric in enumerate(as_list(spec.get("metrics"))):
        if not isinstance(metric, dict):
            continue
        where: PathT = ("spec", "metrics", i)
        mtype = metric.get("type")
        source_key = {
            "Resource": "resource",
            "Pods": "pods",
            "Object": "object",
            "External": "external",
            "ContainerResource": "containerResource",
        }.get(str(mtype))
        if source_key is None:
            yield err(
                (*where, "type"),
                f'Unsupported value: "{mtype}": supported values: '
                '"ContainerResource", "External", "Object", "Pods", "Resource"',
            )
            continue
        source = metric.get(source_key)
        if not isinstance(source, dict):
            yield err(
                (*where, source_key),
                "Required value: must populate information for the given metric source",
            )
            continue
        raw_target = source.get("target")
        target: dict[str, Any] = raw_target if isinstance(raw_target, dict) else {}
        tpath = (*where, source_key, "target")
        ttype = target.get("type")
        if ttype not in ("Utilization", "Value", "AverageValue"):
            yield err(
                (*tpath, "type"),
                "Required value: must specify a metric target type"
                if ttype is None
                else f'Invalid value: "{ttype}": must be either '
                "Utilization, Value, or AverageValue",
            )
        for qkey in ("value", "averageValue"):
            raw = target.get(qkey)
            if raw is None:
                continue
            try:
                amount = parse_quantity(raw)
            except QuantityError as exc:
                yield err((*tpath, qkey), f"Invalid value: {raw!r}: {exc}")
                continue
            if amount <= 0:
                yield err((*tpath, qkey), "Invalid value: must be positive")
        utilization = target.get("averageUtilization")
        if isinstance(utilization, int) and utilization <= 0:
            yield err((*tpath, "averageUtilization"), "Invalid value: must be greater than 0")
        if mtype == "Pods" and target.get("averageValue") is None:
            yield err(
                (*tpath, "averageValue"),
                "Required value: must specify a positive target averageValue",
            )
        if (
            mtype in ("Resource", "ContainerResource")
            and utilization is None
            and target.get("averageValue") is None
        ):
            yield err(
                (*tpath, "averageUtilization"),
                "Required value: must set either a target raw value or a target utilization",
            )
        if mtype in ("Resource", "ContainerResource") and target.get("value") is not None:
            yield err(
                (*tpath, "value"), "Forbidden: may not set a target raw value for a resource metric"
            )
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction in ("scaleUp", "scaleDown"):
            rules = behavior.get(direction)
            if not isinstance(rules, dict):
                continue
            window = rules.get("stabilizationWindowSeconds")
            if isinstance(window, int) and not 0 <= window <= 3600:
                yield err(
                    ("spec", "behavior", direction, "stabilizationWindowSeconds"),
                    f"Invalid value: {window}: must be less than or equal to 3600"
                    if window > 3600
                    else f"Invalid value: {window}: must be greater than or equal to zero",
                )
            select = rules.get("selectPolicy")
            if select not in (None, "Max", "Min", "Disabled"):
                yield err(
                    ("spec", "behavior", direction, "selectPolicy"),
                    f'Unsupported value: "{select}": supported values: "Disabled", "Max", "Min"',
                )
            policies = rules.get("policies")
            if isinstance(policies, list) and not policies and select != "Disabled":
                yield err(
                    ("spec", "behavior", direction, "policies"),
                    "Required value: must specify at least one Policy",
                )
            for j, policy in enumerate(as_list(policies)):
                if not isinstance(policy, dict):
                    continue
                ppath = ("spec", "behavior", direction, "policies", j)
                period = policy.get("periodSeconds")
                if isinstance(period, int) and not 0 < period <= 1800:
                    yield err(
                        (*ppath, "periodSeconds"),
                        f"Invalid value: {period}: must be "
                        "greater than zero and less than or equal to 1800",
                    )
                value = policy.get("value")
                if isinstance(value, int) and value <= 0:
                    yield err(
                        (*ppath, "value"), f"Invalid value: {value}: must be greater than zero"
                    )
