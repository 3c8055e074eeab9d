"""Reading an HPA document as the API server would: validation and field-by-field defaults.

`parse_hpa` turns an `autoscaling/v2` (or `/v1`) HorizontalPodAutoscaler into an
`HPASpec`, or raises `HPASpecError` listing every field the API server would
refuse (pkg/apis/autoscaling/validation/validation.go) or the simulator cannot
read. Defaulting follows pkg/apis/autoscaling/v2/defaults.go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

from app.autoscale.hpa.spec import (
    DEFAULT_CPU_UTILIZATION,
    INT32_MAX,
    INT32_MIN,
    MAX_PERIOD_SECONDS,
    MAX_STABILIZATION_WINDOW_SECONDS,
    METRIC_SOURCE_TYPES,
    POLICY_TYPES,
    SELECT_POLICIES,
    TARGET_TYPES,
    Behavior,
    HPASpec,
    HPASpecError,
    MetricSpec,
    MetricTarget,
    ScalingPolicy,
    ScalingRules,
    SpecProblem,
    default_scale_down_rules,
    default_scale_up_rules,
    milli_value,
)
from app.k8s.quantity import QuantityError, parse_quantity


class _Reader:
    """Collects problems while reading typed fields out of plain YAML data."""

    def __init__(self) -> None:
        self.problems: list[SpecProblem] = []

    def fail(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(SpecProblem(path, message))

    def mapping(self, value: object, path: tuple[str | int, ...]) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.fail(path, f"must be a mapping, not {_kind_of(value)}")
            return None
        return value

    def int32(self, value: object, path: tuple[str | int, ...]) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be an integer, not {_kind_of(value)}")
            return None
        if not INT32_MIN <= value <= INT32_MAX:
            self.fail(path, "must fit in a 32-bit integer")
            return None
        return value

    def string(self, value: object, path: tuple[str | int, ...]) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, f"must be a string, not {_kind_of(value)}")
            return None
        return value

    def quantity(self, value: object, path: tuple[str | int, ...]) -> Fraction | None:
        if value is None:
            return None
        try:
            return parse_quantity(value)
        except QuantityError as exc:
            self.fail(path, str(exc))
            return None


def _kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def parse_hpa(doc: Mapping[str, Any]) -> HPASpec:
    """Validate and default one HorizontalPodAutoscaler document.

    Raises `HPASpecError` listing every field the API server would refuse
    (pkg/apis/autoscaling/validation/validation.go) or the simulator cannot read.
    """
    reader = _Reader()
    api_version = doc.get("apiVersion")
    if api_version == "autoscaling/v1":
        spec = _parse_v1(doc, reader)
    elif api_version == "autoscaling/v2":
        spec = _parse_v2(doc, reader)
    else:
        reader.fail(
            ("apiVersion",),
            f"{api_version!r} is not served: HorizontalPodAutoscaler is autoscaling/v2 "
            "(v2beta1 and v2beta2 were removed in 1.25 and 1.26)",
        )
        spec = None
    if reader.problems or spec is None:
        raise HPASpecError(reader.problems)
    return spec


def _name_of(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("name"), str):
        return str(meta["name"])
    return ""


def _parse_target_ref(spec: Mapping[str, Any], reader: _Reader) -> tuple[str, str, str]:
    # pkg/apis/autoscaling/validation/validation.go `ValidateCrossVersionObjectReference`
    path: tuple[str | int, ...] = ("spec", "scaleTargetRef")
    ref = reader.mapping(spec.get("scaleTargetRef"), path)
    if ref is None:
        reader.fail(
            path,
            "Required value: the object the HPA scales, e.g. {apiVersion: apps/v1, "
            "kind: Deployment, name: <the Deployment's name>}",
        )
        return ("", "", "")
    kind = reader.string(ref.get("kind"), (*path, "kind")) or ""
    name = reader.string(ref.get("name"), (*path, "name")) or ""
    api_version = reader.string(ref.get("apiVersion"), (*path, "apiVersion")) or ""
    if not kind:
        reader.fail((*path, "kind"), "Required value")
    if not name:
        reader.fail((*path, "name"), "Required value")
    return (api_version, kind, name)


def _parse_replica_bounds(spec: Mapping[str, Any], reader: _Reader) -> tuple[int, int]:
    # Defaulting: pkg/apis/autoscaling/v2/defaults.go `SetDefaults_HorizontalPodAutoscaler`
    # (and v1/defaults.go): minReplicas nil -> 1.
    min_replicas = reader.int32(spec.get("minReplicas"), ("spec", "minReplicas"))
    if min_replicas is None:
        min_replicas = 1
    max_replicas = reader.int32(spec.get("maxReplicas"), ("spec", "maxReplicas"))
    # Validation: validation.go `validateHorizontalPodAutoscalerSpec`. minReplicas 0 needs the
    # alpha gate HPAScaleToZero (off by default in 1.36), so the lower bound is 1.
    if min_replicas < 1:
        reader.fail(("spec", "minReplicas"), "must be greater than or equal to 1")
    if max_replicas is None:
        if "maxReplicas" not in spec:
            reader.fail(("spec", "maxReplicas"), "must be set and greater than 0")
        return min_replicas, 1
    if max_replicas < 1:
        reader.fail(("spec", "maxReplicas"), "must be greater than or equal to 1")
    elif max_replicas < min_replicas:
        reader.fail(("spec", "maxReplicas"), "must be greater than or equal to `minReplicas`")
    return min_replicas, max_replicas


def _parse_v1(doc: Mapping[str, Any], reader: _Reader) -> HPASpec | None:
    """autoscaling/v1: a CPU percentage only; the controller reads it as v2 with that
    single Resource metric (80% when left out) and no behavior."""
    spec = reader.mapping(doc.get("spec"), ("spec",))
    if spec is None:
        reader.fail(("spec",), "Required value")
        return None
    for field_name in ("metrics", "behavior"):
        if field_name in spec:
            reader.fail(
                ("spec", field_name),
                f'autoscaling/v1 has no field "{field_name}": the API server refuses it under '
                "strict field validation (or drops it with a warning); use autoscaling/v2",
            )
    target_ref = _parse_target_ref(spec, reader)
    min_replicas, max_replicas = _parse_replica_bounds(spec, reader)
    percent = reader.int32(
        spec.get("targetCPUUtilizationPercentage"), ("spec", "targetCPUUtilizationPercentage")
    )
    if percent is None:
        percent = DEFAULT_CPU_UTILIZATION
    elif percent < 1:
        reader.fail(("spec", "targetCPUUtilizationPercentage"), "must be greater than 0")
    metric = MetricSpec("Resource", "cpu", MetricTarget("Utilization", average_utilization=percent))
    return HPASpec(_name_of(doc), *target_ref, min_replicas, max_replicas, (metric,), None)


def _parse_v2(doc: Mapping[str, Any], reader: _Reader) -> HPASpec | None:
    spec = reader.mapping(doc.get("spec"), ("spec",))
    if spec is None:
        reader.fail(("spec",), "Required value")
        return None
    target_ref = _parse_target_ref(spec, reader)
    min_replicas, max_replicas = _parse_replica_bounds(spec, reader)

    raw_metrics = spec.get("metrics")
    metrics: list[MetricSpec] = []
    if raw_metrics is not None and not isinstance(raw_metrics, list):
        reader.fail(("spec", "metrics"), f"must be a list, not {_kind_of(raw_metrics)}")
    elif raw_metrics:
        for index, raw in enumerate(raw_metrics):
            metric = _parse_metric(raw, ("spec", "metrics", index), reader)
            if metric is not None:
                metrics.append(metric)
    else:
        # defaults.go `SetDefaults_HorizontalPodAutoscaler`: no metrics -> CPU at 80%.
        metrics.append(
            MetricSpec(
                "Resource",
                "cpu",
                MetricTarget("Utilization", average_utilization=DEFAULT_CPU_UTILIZATION),
            )
        )

    behavior = _parse_behavior(spec, reader)
    return HPASpec(_name_of(doc), *target_ref, min_replicas, max_replicas, tuple(metrics), behavior)


def _parse_target(
    raw: object, path: tuple[str | int, ...], reader: _Reader
) -> tuple[MetricTarget | None, dict[str, bool]]:
    """validation.go `validateMetricTarget`; returns which of value/averageValue/
    averageUtilization were set, for the per-source checks."""
    target = reader.mapping(raw, path)
    if target is None:
        reader.fail((*path, "type"), "must specify a metric target type")
        return None, {}
    type_ = reader.string(target.get("type"), (*path, "type")) or ""
    if not type_:
        reader.fail((*path, "type"), "must specify a metric target type")
    elif type_ not in TARGET_TYPES:
        reader.fail((*path, "type"), "must be either Utilization, Value, or AverageValue")
    value = reader.quantity(target.get("value"), (*path, "value"))
    average_value = reader.quantity(target.get("averageValue"), (*path, "averageValue"))
    utilization = reader.int32(target.get("averageUtilization"), (*path, "averageUtilization"))
    if value is not None and value <= 0:
        reader.fail((*path, "value"), "must be positive")
    if average_value is not None and average_value <= 0:
        reader.fail((*path, "averageValue"), "must be positive")
    if utilization is not None and utilization < 1:
        reader.fail((*path, "averageUtilization"), "must be greater than 0")
    present = {
        "value": value is not None,
        "averageValue": average_value is not None,
        "averageUtilization": utilization is not None,
    }
    return (
        MetricTarget(
            type_,
            value_milli=milli_value(value) if value is not None else None,
            average_value_milli=milli_value(average_value) if average_value is not None else None,
            average_utilization=utilization,
        ),
        present,
    )


def _parse_identifier(
    raw: object, path: tuple[str | int, ...], reader: _Reader
) -> tuple[str, Mapping[str, Any] | None]:
    metric = reader.mapping(raw, path)
    if metric is None:
        reader.fail((*path, "name"), "must specify a metric name")
        return "", None
    name = reader.string(metric.get("name"), (*path, "name")) or ""
    if not name:
        reader.fail((*path, "name"), "must specify a metric name")
    selector = reader.mapping(metric.get("selector"), (*path, "selector"))
    return name, selector


def _parse_metric(raw: object, path: tuple[str | int, ...], reader: _Reader) -> MetricSpec | None:
    """validation.go `validateMetricSpec` and the per-source validators."""
    entry = reader.mapping(raw, path)
    if entry is None:
        return None
    type_ = reader.string(entry.get("type"), (*path, "type")) or ""
    if not type_:
        reader.fail((*path, "type"), "must specify a metric source type")
        return None
    if type_ not in METRIC_SOURCE_TYPES:
        reader.fail(
            (*path, "type"),
            f'Unsupported value: "{type_}": supported values: "'
            + '", "'.join(METRIC_SOURCE_TYPES)
            + '"',
        )
        return None
    member = {
        "Resource": "resource",
        "ContainerResource": "containerResource",
        "Pods": "pods",
        "Object": "object",
        "External": "external",
    }[type_]
    for other in ("resource", "containerResource", "pods", "object", "external"):
        if other != member and entry.get(other) is not None:
            reader.fail((*path, other), "must populate the given metric source only")
    source = reader.mapping(entry.get(member), (*path, member))
    if source is None:
        reader.fail((*path, member), "must populate information for the given metric source")
        return None
    src_path = (*path, member)
    target, present = _parse_target(source.get("target"), (*src_path, "target"), reader)
    if target is None:
        return None

    if type_ in ("Resource", "ContainerResource"):
        name = reader.string(source.get("name"), (*src_path, "name")) or ""
        if not name:
            reader.fail((*src_path, "name"), "must specify a resource name")
        container = None
        if type_ == "ContainerResource":
            container = reader.string(source.get("container"), (*src_path, "container")) or ""
            if not container:
                reader.fail((*src_path, "container"), "must specify a container")
        if not present["averageUtilization"] and not present["averageValue"]:
            reader.fail(
                (*src_path, "target", "averageUtilization"),
                "must set either a target raw value or a target utilization",
            )
        if present["averageUtilization"] and present["averageValue"]:
            reader.fail(
                (*src_path, "target", "averageValue"),
                "may not set both a target raw value and a target utilization",
            )
        return MetricSpec(type_, name, target, container=container)

    name, selector = _parse_identifier(source.get("metric"), (*src_path, "metric"), reader)
    if type_ == "Pods":
        if not present["averageValue"]:
            reader.fail(
                (*src_path, "target", "averageValue"), "must specify a positive target averageValue"
            )
        return MetricSpec(type_, name, target, selector=selector)
    if type_ == "Object":
        described = reader.mapping(source.get("describedObject"), (*src_path, "describedObject"))
        ref = ("", "", "")
        if described is None:
            reader.fail((*src_path, "describedObject", "kind"), "Required value")
        else:
            ref = (
                reader.string(described.get("apiVersion"), (*src_path, "describedObject")) or "",
                reader.string(described.get("kind"), (*src_path, "describedObject", "kind")) or "",
                reader.string(described.get("name"), (*src_path, "describedObject", "name")) or "",
            )
            if not ref[1]:
                reader.fail((*src_path, "describedObject", "kind"), "Required value")
            if not ref[2]:
                reader.fail((*src_path, "describedObject", "name"), "Required value")
        if not present["value"] and not present["averageValue"]:
            reader.fail(
                (*src_path, "target", "averageValue"),
                "must set either a target value or averageValue",
            )
        return MetricSpec(type_, name, target, described_object=ref, selector=selector)
    # External
    if not present["value"] and not present["averageValue"]:
        reader.fail(
            (*src_path, "target", "averageValue"),
            "must set either a target value for metric or a per-pod target",
        )
    if present["value"] and present["averageValue"]:
        reader.fail(
            (*src_path, "target", "value"),
            "may not set both a target value for metric and a per-pod target",
        )
    return MetricSpec(type_, name, target, selector=selector)


def _parse_behavior(spec: Mapping[str, Any], reader: _Reader) -> Behavior | None:
    """defaults.go `SetDefaults_HorizontalPodAutoscalerBehavior`: only a present
    `behavior` is defaulted; each of scaleUp and scaleDown is then filled field by
    field from the defaults (`GenerateHPAScaleUpRules`, `GenerateHPAScaleDownRules`,
    `copyHPAScalingRules`)."""
    if spec.get("behavior") is None:
        return None
    behavior = reader.mapping(spec.get("behavior"), ("spec", "behavior"))
    if behavior is None:
        return None
    scale_up = _parse_rules(
        behavior.get("scaleUp"), ("spec", "behavior", "scaleUp"), default_scale_up_rules(), reader
    )
    scale_down = _parse_rules(
        behavior.get("scaleDown"),
        ("spec", "behavior", "scaleDown"),
        default_scale_down_rules(),
        reader,
    )
    return Behavior(scale_up, scale_down)


def _parse_rules(
    raw: object, path: tuple[str | int, ...], defaults: ScalingRules, reader: _Reader
) -> ScalingRules:
    rules = reader.mapping(raw, path)
    if rules is None:
        return defaults
    result = defaults
    # `copyHPAScalingRules`: each non-nil field replaces the default.
    select = reader.string(rules.get("selectPolicy"), (*path, "selectPolicy"))
    if select is not None:
        if select not in SELECT_POLICIES:
            reader.fail(
                (*path, "selectPolicy"),
                f'Unsupported value: "{select}": supported values: "Disabled", "Max", "Min"',
            )
        result = replace(result, select_policy=select)
    window = reader.int32(
        rules.get("stabilizationWindowSeconds"), (*path, "stabilizationWindowSeconds")
    )
    if window is not None:
        # validation.go `validateScalingRules`
        if window < 0:
            reader.fail(
                (*path, "stabilizationWindowSeconds"), "must be greater than or equal to zero"
            )
        elif window > MAX_STABILIZATION_WINDOW_SECONDS:
            reader.fail(
                (*path, "stabilizationWindowSeconds"),
                f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}",
            )
        result = replace(result, stabilization_window_seconds=window)
    raw_policies = rules.get("policies")
    if raw_policies is not None:
        # A present but empty list is not nil: it is copied, then refused.
        if not isinstance(raw_policies, list):
            reader.fail((*path, "policies"), f"must be a list, not {_kind_of(raw_policies)}")
        else:
            if not raw_policies:
                reader.fail((*path, "policies"), "must specify at least one Policy")
            policies = []
            for index, raw_policy in enumerate(raw_policies):
                policy = _parse_policy(raw_policy, (*path, "policies", index), reader)
                if policy is not None:
                    policies.append(policy)
            result = replace(result, policies=tuple(policies))
    tolerance = reader.quantity(rules.get("tolerance"), (*path, "tolerance"))
    if tolerance is not None:
        if tolerance < 0:
            reader.fail((*path, "tolerance"), "must be greater than or equal to 0")
        # Quantity.AsApproximateFloat64 in horizontal.go `tolerancesForHpa`.
        result = replace(result, tolerance=float(tolerance))
    return result


def _parse_policy(
    raw: object, path: tuple[str | int, ...], reader: _Reader
) -> ScalingPolicy | None:
    """validation.go `validateScalingPolicy`."""
    policy = reader.mapping(raw, path)
    if policy is None:
        return None
    type_ = reader.string(policy.get("type"), (*path, "type")) or ""
    if type_ not in POLICY_TYPES:
        reader.fail(
            (*path, "type"), f'Unsupported value: "{type_}": supported values: "Percent", "Pods"'
        )
    value = reader.int32(policy.get("value"), (*path, "value")) or 0
    if value <= 0:
        reader.fail((*path, "value"), "must be greater than zero")
    period = reader.int32(policy.get("periodSeconds"), (*path, "periodSeconds")) or 0
    if period <= 0:
        reader.fail((*path, "periodSeconds"), "must be greater than zero")
    elif period > MAX_PERIOD_SECONDS:
        reader.fail((*path, "periodSeconds"), f"must be less than or equal to {MAX_PERIOD_SECONDS}")
    return ScalingPolicy(type_, value, period)
