"""The HorizontalPodAutoscaler v2 algorithm, as kube-controller-manager v1.36 runs it.

This module owns three things, all pure (no cluster, no clock of its own):

1. `parse_hpa`: an `autoscaling/v2` (or `/v1`) HorizontalPodAutoscaler document,
   validated where the API server would refuse it and defaulted field by field
   as the API server's defaulting does, into an `HPASpec`.
2. `HorizontalController`: one HPA's controller state (the recommendation
   history and the scale-up/scale-down event history) and `sync`, one pass of
   the controller's reconcile loop over a `ClusterView` at a given time.
3. Lab time (`lab_seconds`, `lab_hpa_document`, `ControllerConfig.for_lab`):
   how a live run compresses every duration by a factor, so the simulator and
   the live runner compress the same way.

Every rule cites the file and function of Kubernetes v1.36.3 it follows (paths
are relative to the kubernetes repository, `k8s.io/kubernetes@v1.36.3`). The
names below are ours; the arithmetic (integer divisions, float rounding,
comparison order) is the controller's, so results agree to the replica.

Clock ties. The controller compares wall-clock times (`time.Before/After`).
Real syncs come one sync period *plus processing time* apart, so a sample taken
N periods ago is, on the real clock, slightly older than "now - N periods".
The simulator's clock is exact, so wherever a sample falls exactly on a
window's cutoff it is treated as outside the window, as it would be on the
real clock. Where that matters it says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Protocol

from app.k8s.quantity import QuantityError, parse_quantity
from app.yamlmap import format_path

# --- constants, with where they come from ------------------------------------

DEFAULT_CPU_UTILIZATION = 80
"""pkg/apis/autoscaling/annotations.go `DefaultCPUUtilization`: the metric an HPA
gets when `spec.metrics` is empty (pkg/apis/autoscaling/v2/defaults.go
`SetDefaults_HorizontalPodAutoscaler`)."""

MAX_STABILIZATION_WINDOW_SECONDS = 3600
"""pkg/apis/autoscaling/validation/validation.go `MaxStabilizationWindowSeconds`."""
MAX_PERIOD_SECONDS = 1800
"""pkg/apis/autoscaling/validation/validation.go `MaxPeriodSeconds`."""

# pkg/controller/podautoscaler/horizontal.go `scaleUpLimitFactor`, `scaleUpLimitMinimum`:
# the scale-up cap of the path without `behavior` (`calculateScaleUpLimit`).
LEGACY_SCALE_UP_LIMIT_FACTOR = 2.0
LEGACY_SCALE_UP_LIMIT_MINIMUM = 4.0

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
INT64_MAX = 2**63 - 1

SELECT_POLICIES = ("Disabled", "Max", "Min")
POLICY_TYPES = ("Percent", "Pods")
METRIC_SOURCE_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
TARGET_TYPES = ("Utilization", "Value", "AverageValue")


# --- the spec ---------------------------------------------------------------


@dataclass(frozen=True)
class ScalingPolicy:
    """One `behavior.scaleUp/scaleDown.policies[]` entry."""

    type: str
    """`Pods` or `Percent`."""
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """`behavior.scaleUp` or `behavior.scaleDown`, after the API server's defaulting."""

    stabilization_window_seconds: int | None
    """None only for scale-down when the answer left it out: the controller then
    uses its `--horizontal-pod-autoscaler-downscale-stabilization` flag."""
    select_policy: str
    """`Max`, `Min` or `Disabled`."""
    policies: tuple[ScalingPolicy, ...]
    tolerance: float | None = None
    """Per-HPA tolerance (KEP-4951, gate HPAConfigurableTolerance, beta and on by
    default since 1.35); None means the controller's global tolerance."""


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(frozen=True)
class MetricTarget:
    """`target` of a metric, with quantities as the controller reads them (`MilliValue()`)."""

    type: str
    value_milli: int | None = None
    average_value_milli: int | None = None
    average_utilization: int | None = None


@dataclass(frozen=True)
class MetricSpec:
    """One `spec.metrics[]` entry."""

    type: str
    """Resource, ContainerResource, Pods, Object or External."""
    name: str
    """The metric's name, or the resource's name (`cpu`) for Resource metrics."""
    target: MetricTarget
    container: str | None = None
    """ContainerResource only."""
    described_object: tuple[str, str, str] | None = None
    """Object only: (apiVersion, kind, name)."""
    selector: Mapping[str, Any] | None = None
    """The metric's label selector (Pods, Object, External), as written."""

    @property
    def key(self) -> str:
        """The name this metric's value goes under in a timeline."""
        if self.type == "ContainerResource":
            return f"{self.name}/{self.container}"
        return self.name


@dataclass(frozen=True)
class HPASpec:
    """An HPA as the controller sees it: validated and defaulted."""

    name: str
    target_api_version: str
    target_kind: str
    target_name: str
    min_replicas: int
    max_replicas: int
    metrics: tuple[MetricSpec, ...]
    behavior: Behavior | None
    """None when the answer has no `behavior`: the controller then takes its older
    path (per-sync cap of 2x or 4 pods, downscale window from its flag)."""


@dataclass(frozen=True)
class SpecProblem:
    """Something in the HPA the API server would refuse, at a field path."""

    path: tuple[str | int, ...]
    message: str


class HPASpecError(ValueError):
    """The HPA document cannot be simulated; `problems` says where and why."""

    def __init__(self, problems: Sequence[SpecProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{format_path(p.path)}: {p.message}" for p in self.problems))


# --- defaults: pkg/apis/autoscaling/v2/defaults.go ----------------------------


def default_scale_up_rules() -> ScalingRules:
    """`defaultHPAScaleUpRules`: no window; Max of 4 pods or 100% per 15 s."""
    return ScalingRules(
        stabilization_window_seconds=0,
        select_policy="Max",
        policies=(ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)),
    )


def default_scale_down_rules() -> ScalingRules:
    """`defaultHPAScaleDownRules`: window left nil (the controller's flag, 300 s by
    default), Max of 100% per 15 s."""
    return ScalingRules(
        stabilization_window_seconds=None,
        select_policy="Max",
        policies=(ScalingPolicy("Percent", 100, 15),),
    )


# --- parsing and validation ---------------------------------------------------


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


def milli_value(amount: Fraction) -> int:
    """`resource.Quantity.MilliValue()`: ceil(q * 1000) (apimachinery `ScaledValue`)."""
    return math.ceil(amount * 1000)


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
        reader.fail(path, "Required value")
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


# --- the controller's configuration ---------------------------------------------


@dataclass(frozen=True)
class ControllerConfig:
    """kube-controller-manager's HPA settings. Defaults: pkg/controller/podautoscaler/
    config/v1alpha1/defaults.go `RecommendedDefaultHPAControllerConfiguration`."""

    sync_period: float = 15.0
    """--horizontal-pod-autoscaler-sync-period."""
    downscale_stabilization: float = 300.0
    """--horizontal-pod-autoscaler-downscale-stabilization: the scale-down window
    when `behavior` or its `scaleDown.stabilizationWindowSeconds` is left out."""
    tolerance: float = 0.1
    """--horizontal-pod-autoscaler-tolerance."""
    cpu_initialization_period: float = 300.0
    """--horizontal-pod-autoscaler-cpu-initialization-period."""
    initial_readiness_delay: float = 30.0
    """--horizontal-pod-autoscaler-initial-readiness-delay."""
    configurable_tolerance: bool = True
    """Feature gate HPAConfigurableTolerance (beta, on by default since 1.35:
    pkg/features/kube_features.go)."""

    @classmethod
    def for_lab(cls, time_scale: float) -> ControllerConfig:
        """The settings a live run uses when it compresses time by `time_scale`.

        Issue 13: a 1 s sync period, and the stabilization, CPU-initialization and
        readiness delays divided like every other duration (at least 1 s each).
        At `time_scale` 1 these are the defaults.
        """
        if time_scale == 1:
            return cls()
        base = cls()
        return cls(
            sync_period=1.0,
            downscale_stabilization=float(lab_seconds(base.downscale_stabilization, time_scale)),
            tolerance=base.tolerance,
            cpu_initialization_period=float(
                lab_seconds(base.cpu_initialization_period, time_scale)
            ),
            initial_readiness_delay=float(lab_seconds(base.initial_readiness_delay, time_scale)),
        )

    def flags(self) -> list[str]:
        """kube-controller-manager flags that realise this configuration."""

        def dur(seconds: float) -> str:
            return f"{seconds:g}s"

        flags = [
            f"--horizontal-pod-autoscaler-sync-period={dur(self.sync_period)}",
            f"--horizontal-pod-autoscaler-downscale-stabilization={dur(self.downscale_stabilization)}",
            f"--horizontal-pod-autoscaler-tolerance={self.tolerance:g}",
            f"--horizontal-pod-autoscaler-cpu-initialization-period={dur(self.cpu_initialization_period)}",
            f"--horizontal-pod-autoscaler-initial-readiness-delay={dur(self.initial_readiness_delay)}",
        ]
        if not self.configurable_tolerance:
            flags.append("--feature-gates=HPAConfigurableTolerance=false")
        return flags


# --- lab time ---------------------------------------------------------------------


def lab_seconds(seconds: float, time_scale: float) -> int:
    """One duration in lab time: divided by `time_scale`, rounded half up, at least
    1 s. Zero stays zero (a window of 0 means "no window", not "1 s")."""
    if time_scale < 1:
        raise ValueError("timeScale must be at least 1")
    if seconds <= 0:
        return 0
    return max(1, math.floor(seconds / time_scale + 0.5))


def lab_hpa_document(doc: Mapping[str, Any], time_scale: float) -> dict[str, Any]:
    """The HPA a live run applies: the answer with every `behavior` duration in lab time.

    A present `behavior` is written out fully defaulted first (as the API server
    would store it), so the defaulted 15 s periods shrink too; a scale-down window
    left out stays left out, because the controller then uses its flag, which
    `ControllerConfig.for_lab` shrinks. Raises `HPASpecError` like `parse_hpa`.
    """
    spec = parse_hpa(doc)
    out: dict[str, Any] = _deep_copy(doc)
    if time_scale == 1 or spec.behavior is None:
        return out
    lab = lab_spec(spec, time_scale).behavior
    assert lab is not None

    def rules_doc(rules: ScalingRules, up: bool) -> dict[str, Any]:
        written: dict[str, Any] = {
            "selectPolicy": rules.select_policy,
            "policies": [
                {"type": p.type, "value": p.value, "periodSeconds": p.period_seconds}
                for p in rules.policies
            ],
        }
        if rules.stabilization_window_seconds is not None:
            written["stabilizationWindowSeconds"] = rules.stabilization_window_seconds
        raw_rules = _raw_rules(doc, up)
        if isinstance(raw_rules, Mapping) and raw_rules.get("tolerance") is not None:
            written["tolerance"] = raw_rules["tolerance"]  # as written: not a duration
        return written

    out["spec"]["behavior"] = {
        "scaleUp": rules_doc(lab.scale_up, True),
        "scaleDown": rules_doc(lab.scale_down, False),
    }
    return out


def _raw_rules(doc: Mapping[str, Any], up: bool) -> object:
    behavior = doc.get("spec", {}).get("behavior") or {}
    return behavior.get("scaleUp" if up else "scaleDown")


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value


def lab_spec(spec: HPASpec, time_scale: float) -> HPASpec:
    """`spec` with its behavior durations in lab time (what `lab_hpa_document` applies)."""
    if time_scale == 1 or spec.behavior is None:
        return spec

    def shrink(rules: ScalingRules) -> ScalingRules:
        window = rules.stabilization_window_seconds
        return replace(
            rules,
            stabilization_window_seconds=None
            if window is None
            else lab_seconds(window, time_scale),
            policies=tuple(
                replace(p, period_seconds=lab_seconds(p.period_seconds, time_scale))
                for p in rules.policies
            ),
        )

    return replace(
        spec, behavior=Behavior(shrink(spec.behavior.scale_up), shrink(spec.behavior.scale_down))
    )


# --- what the controller reads from the cluster ----------------------------------


@dataclass(frozen=True)
class PodState:
    """One pod of the target, as the controller's pod lister sees it."""

    name: str
    phase: str
    """Pending, Running, Succeeded or Failed."""
    start_time: float | None
    """status.startTime (seconds on the run's clock); None before the kubelet starts it."""
    ready: bool | None
    """The Ready condition's status; None when the pod has no Ready condition yet."""
    ready_transition_time: float | None
    """The Ready condition's lastTransitionTime."""
    deleting: bool = False
    """metadata.deletionTimestamp is set."""


@dataclass(frozen=True)
class ContainerRequests:
    name: str
    requests: Mapping[str, int]
    """resource name -> request in milli-units (`MilliValue()`), after the API
    server's defaulting (requests default to limits)."""
    restartable_init: bool = False
    """A sidecar (init container with restartPolicy Always): counted like a container."""


@dataclass(frozen=True)
class PodRequests:
    """The requests every pod of the target has (they share one template)."""

    containers: tuple[ContainerRequests, ...]
    pod_level: Mapping[str, int] | None = None
    """spec.resources.requests (PodLevelResources, beta and on by default since 1.34)."""


@dataclass(frozen=True)
class ResourceSample:
    """One pod's entry from the resource metrics API (metrics.k8s.io)."""

    milli: int
    """Usage in milli-units, summed over the pod's containers (or the one asked for)."""
    timestamp: float
    window: float


class MetricUnavailable(Exception):
    """The metrics API could not answer (not served, no data)."""


class MetricsSource(Protocol):
    """The three metrics APIs, as the controller's metrics client returns them."""

    def resource(self, resource: str, container: str | None) -> dict[str, ResourceSample]: ...

    def pods(self, metric: str, selector: Mapping[str, Any] | None) -> dict[str, int]:
        """Per-pod values in milli-units."""
        ...

    def object(
        self,
        metric: str,
        described: tuple[str, str, str],
        selector: Mapping[str, Any] | None,
    ) -> int:
        """The object's value in milli-units."""
        ...

    def external(self, metric: str, selector: Mapping[str, Any] | None) -> list[int]:
        """Every matching series, in milli-units."""
        ...


@dataclass(frozen=True)
class ClusterView:
    """Everything one sync reads: the target's scale subresource, its pods, the metrics."""

    spec_replicas: int
    """scale.spec.replicas: the controller's `currentReplicas`."""
    status_replicas: int
    """scale.status.replicas: pods that exist (ready or not)."""
    pods: Sequence[PodState]
    requests: PodRequests
    metrics: MetricsSource


# --- results ----------------------------------------------------------------------


@dataclass(frozen=True)
class ControllerEvent:
    type: str
    """Normal or Warning."""
    reason: str
    message: str


@dataclass(frozen=True)
class MetricReading:
    """One metric in one sync: what `status.currentMetrics` shows, and its proposal."""

    key: str
    value: float | None
    """The current value as the status reports it: a percentage for Utilization
    targets, else the (average) value in the metric's unit."""
    proposal: int | None
    """The replica count this metric asked for; None when it could not be computed."""
    error: str | None = None


@dataclass(frozen=True)
class SyncResult:
    """One pass of the reconcile loop."""

    time: float
    current_replicas: int
    desired_replicas: int
    """status.desiredReplicas after the sync (= current when nothing changed)."""
    rescale: bool
    metrics: tuple[MetricReading, ...]
    conditions: Mapping[str, str]
    """condition type -> reason, as the status would show them."""
    events: tuple[ControllerEvent, ...]


# --- replica_calculator.go --------------------------------------------------------


@dataclass(frozen=True)
class Tolerances:
    """replica_calculator.go `Tolerances`."""

    scale_down: float
    scale_up: float

    def is_within(self, usage_ratio: float) -> bool:
        """`Tolerances.isWithin`: no change while the ratio is inside [1-down, 1+up]."""
        return (1.0 - self.scale_down) <= usage_ratio <= (1.0 + self.scale_up)


class _CalcError(Exception):
    """A metric failed; the message is the controller's error text."""


@dataclass
class _Groups:
    ready_count: int
    unready: set[str]
    missing: set[str]
    ignored: set[str]


def group_pods(
    pods: Sequence[PodState],
    metrics: Mapping[str, Any],
    resource: str,
    now: float,
    cpu_initialization_period: float,
    initial_readiness_delay: float,
) -> _Groups:
    """replica_calculator.go `groupPods`: which pods count, which are unready,
    which have no metric, which are ignored (deleting or failed)."""
    groups = _Groups(0, set(), set(), set())
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            groups.ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            groups.unready.add(pod.name)
            continue
        metric = metrics.get(pod.name)
        if metric is None:
            groups.missing.add(pod.name)
            continue
        if resource == "cpu":
            if pod.ready is None or pod.start_time is None or pod.ready_transition_time is None:
                unready = True
            elif pod.start_time + cpu_initialization_period > now:
                # Within the CPU-initialization period: ignore the sample if the pod is
                # unready, or if one metric window has not passed since it turned ready.
                unready = (not pod.ready) or (
                    metric.timestamp < pod.ready_transition_time + metric.window
                )
            else:
                # Afterwards: ignore it only if it is unready and has never been ready
                # (its last transition came within the initial-readiness delay).
                unready = (not pod.ready) and (
                    pod.start_time + initial_readiness_delay > pod.ready_transition_time
                )
            if unready:
                groups.unready.add(pod.name)
                continue
        groups.ready_count += 1
    return groups


def _pod_request(requests: PodRequests, pod_name: str, resource: str, container: str | None) -> int:
    """replica_calculator.go `calculateRequests` for one pod."""
    if requests.pod_level is not None and not container:
        # `calculatePodLevelRequests` (PodLevelResources is on by default in 1.36).
        if resource not in requests.pod_level:
            raise _CalcError(f"missing pod-level request for {resource} in Pod {pod_name}")
        return requests.pod_level[resource]
    total = 0
    for c in requests.containers:
        if not container or container == c.name:
            if resource not in c.requests:
                raise _CalcError(
                    f"missing request for {resource} in container {c.name} of Pod {pod_name}"
                )
            total += c.requests[resource]
        if container == c.name:
            return total
    if container:
        raise _CalcError(f"container {container} not found in Pod {pod_name}")
    return total


def _utilization_ratio(
    metrics: Mapping[str, int], requests: Mapping[str, int], target: int
) -> tuple[float, int, int]:
    """metrics/utilization.go `GetResourceUtilizationRatio` (integer percentage, then ratio)."""
    metrics_total = 0
    requests_total = 0
    entries = 0
    for pod_name, value in metrics.items():
        if pod_name not in requests:
            continue
        metrics_total += value
        requests_total += requests[pod_name]
        entries += 1
    if requests_total == 0:
        raise _CalcError("no metrics returned matched known pods")
    utilization = _go_div(metrics_total * 100, requests_total)
    return utilization / target, utilization, _go_div(metrics_total, entries)


def _usage_ratio(metrics: Mapping[str, int], target: int) -> tuple[float, int]:
    """metrics/utilization.go `GetMetricUsageRatio`."""
    total = sum(metrics.values())
    usage = _go_div(total, len(metrics))
    return usage / target, usage


def _go_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _ceil_int32(value: float) -> int:
    """int32(math.Ceil(x)) for the values the controller produces."""
    return min(INT32_MAX, math.ceil(value))


def _replicas_with_unready_and_missing(
    usage_ratio: float,
    metrics: dict[str, int],
    groups: _Groups,
    current_replicas: int,
    tolerances: Tolerances,
    missing_value_on_scale_down: Mapping[str, int],
    recompute: Any,
) -> int:
    """The shared second half of `GetResourceReplicas` and `calcPlainMetricReplicas`."""
    scale_up_with_unready = bool(groups.unready) and usage_ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if tolerances.is_within(usage_ratio):
            return current_replicas
        return _ceil_int32(usage_ratio * groups.ready_count)
    if groups.missing:
        if usage_ratio < 1.0:
            # Scale-down: missing pods count as at the target (100% of the request for
            # utilization, or the target itself when it is above 100%).
            for name in groups.missing:
                metrics[name] = missing_value_on_scale_down[name]
        elif usage_ratio > 1.0:
            # Scale-up: missing pods count as using nothing.
            for name in groups.missing:
                metrics[name] = 0
    if scale_up_with_unready:
        for name in groups.unready:
            metrics[name] = 0
    new_ratio = recompute(metrics)
    if (
        tolerances.is_within(new_ratio)
        or (usage_ratio < 1.0 and new_ratio > 1.0)
        or (usage_ratio > 1.0 and new_ratio < 1.0)
    ):
        # Too small a change, or the assumptions flipped the direction: hold.
        return current_replicas
    new_replicas = _ceil_int32(new_ratio * len(metrics))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (
        new_ratio > 1.0 and new_replicas < current_replicas
    ):
        return current_replicas
    return new_replicas


# --- horizontal.go ----------------------------------------------------------------


@dataclass
class _Recommendation:
    recommendation: int
    timestamp: float


@dataclass
class _ScaleEvent:
    replica_change: int
    timestamp: float
    outdated: bool = False


def _format_selector(selector: Mapping[str, Any] | None) -> str:
    """`%+v` of a *metav1.LabelSelector (its generated String()), as the controller
    prints it into External metric names."""
    if selector is None:
        return "nil"
    labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    label_text = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    expr_text = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(str(v) for v in e.get('values') or [])}],}},"
        for e in expressions
        if isinstance(e, Mapping)
    )
    return (
        f"&LabelSelector{{MatchLabels:map[string]string{{{label_text}}},"
        f"MatchExpressions:[]LabelSelectorRequirement{{{expr_text}}},}}"
    )


class HorizontalController:
    """One HPA inside kube-controller-manager: its spec, its memory, its sync.

    The memory is what the real controller keeps per HPA key in
    pkg/controller/podautoscaler/horizontal.go: `recommendations` (unstabilized
    recommendations with timestamps) and `scaleUpEvents` / `scaleDownEvents`.
    """

    def __init__(self, spec: HPASpec, config: ControllerConfig | None = None):
        self.spec = spec
        self.config = config or ControllerConfig()
        self.recommendations: list[_Recommendation] = []
        self.scale_up_events: list[_ScaleEvent] = []
        self.scale_down_events: list[_ScaleEvent] = []
        self._conditions: dict[str, str] = {}
        self._events: list[ControllerEvent] = []
        self.status_desired_replicas = 0
        """status.desiredReplicas: kept as it was when a sync cannot compute metrics."""

    # horizontal.go `tolerancesForHpa`
    def tolerances(self) -> Tolerances:
        tolerance = self.config.tolerance
        result = Tolerances(tolerance, tolerance)
        behavior = self.spec.behavior
        if behavior is None or not self.config.configurable_tolerance:
            return result
        if behavior.scale_down.tolerance is not None:
            result = replace(result, scale_down=behavior.scale_down.tolerance)
        if behavior.scale_up.tolerance is not None:
            result = replace(result, scale_up=behavior.scale_up.tolerance)
        return result

    def _event(self, type_: str, reason: str, message: str) -> None:
        self._events.append(ControllerEvent(type_, reason, message))

    def recommend(self, now: float, view: ClusterView) -> int | None:
        """What the metrics ask for (the maximum over them), before stabilization,
        behavior and bounds, without touching this controller's history. None when
        the controller would not act on them (`computeReplicasForMetrics` fails)."""
        desired, _name, _readings, failed = self._replicas_for_metrics(now, view)
        return None if failed is not None else desired

    # horizontal.go `reconcileAutoscaler`
    def sync(self, now: float, view: ClusterView) -> SyncResult:
        """One reconcile of this HPA at time `now` (seconds on the run's clock)."""
        self._events = []
        spec = self.spec
        self._conditions["AbleToScale"] = "SucceededGetScale"
        current = view.spec_replicas
        # `recordInitialRecommendation`: the first sync seeds the history with the
        # current count, so a fresh HPA does not scale down at once.
        if not self.recommendations:
            self.recommendations.append(_Recommendation(current, now))

        min_replicas = spec.min_replicas
        desired = 0
        rescale_reason = ""
        readings: tuple[MetricReading, ...] = ()
        needs_metrics = True
        rescale = True
        if current == 0:
            # Scale-to-zero (gate HPAScaleToZero) is alpha and off in 1.36: a target
            # scaled to 0 by hand disables the HPA.
            needs_metrics = False
            rescale = False
            self._conditions["ScalingActive"] = "ScalingDisabled"
        elif current > spec.max_replicas:
            rescale_reason = "Current number of replicas above Spec.MaxReplicas"
            desired = spec.max_replicas
            needs_metrics = False
        elif current < min_replicas:
            rescale_reason = "Current number of replicas below Spec.MinReplicas"
            desired = min_replicas
            needs_metrics = False

        if needs_metrics:
            metric_desired, metric_name, readings, failed = self._replicas_for_metrics(now, view)
            if failed is not None:
                # All metrics failed, or some failed and the rest would scale down:
                # no decision this sync.
                self._event("Warning", "FailedComputeMetricsReplicas", failed)
                return self._result(now, current, self.status_desired_replicas, False, readings)
            rescale_metric = ""
            if metric_desired > desired:
                desired = metric_desired
                rescale_metric = metric_name
            if desired > current:
                rescale_reason = f"{rescale_metric} above target"
            if desired < current:
                rescale_reason = "All metrics below target"
            if spec.behavior is None:
                desired = self._normalize(now, current, desired, min_replicas)
            else:
                desired = self._normalize_with_behaviors(now, current, desired, min_replicas)
            rescale = desired != current

        if rescale:
            self._conditions["AbleToScale"] = "SucceededRescale"
            self._event(
                "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {rescale_reason}"
            )
            self._store_scale_event(now, current, desired)
        else:
            desired = current
        return self._result(now, current, desired, rescale, readings)

    def _result(
        self,
        now: float,
        current: int,
        desired: int,
        rescale: bool,
        readings: tuple[MetricReading, ...],
    ) -> SyncResult:
        self.status_desired_replicas = desired
        return SyncResult(
            time=now,
            current_replicas=current,
            desired_replicas=desired,
            rescale=rescale,
            metrics=readings,
            conditions=dict(self._conditions),
            events=tuple(self._events),
        )

    # horizontal.go `computeReplicasForMetrics`
    def _replicas_for_metrics(
        self, now: float, view: ClusterView
    ) -> tuple[int, str, tuple[MetricReading, ...], str | None]:
        replicas = 0
        metric_name = ""
        invalid = 0
        first_error = ""
        first_reason = ""
        readings = []
        for spec in self.spec.metrics:
            try:
                proposal, name, value = self._replicas_for_metric(now, view, spec)
            except _MetricFailure as failure:
                if invalid == 0:
                    first_error = failure.wrapped
                    first_reason = failure.reason
                invalid += 1
                readings.append(MetricReading(spec.key, None, None, failure.wrapped))
                continue
            readings.append(MetricReading(spec.key, value, proposal))
            if replicas == 0 or proposal > replicas:
                replicas = proposal
                metric_name = name
        total = len(self.spec.metrics)
        if invalid >= total or (invalid > 0 and replicas < view.spec_replicas):
            self._conditions["ScalingActive"] = first_reason
            message = (
                f"invalid metrics ({invalid} invalid out of {total}), first error is: {first_error}"
            )
            return -1, "", tuple(readings), message
        self._conditions["ScalingActive"] = "ValidMetricFound"
        return replicas, metric_name, tuple(readings), None

    # horizontal.go `computeReplicasForMetric` and the computeStatusFor* functions.
    def _replicas_for_metric(
        self, now: float, view: ClusterView, spec: MetricSpec
    ) -> tuple[int, str, float]:
        tolerances = self.tolerances()
        target = spec.target
        spec_replicas = view.spec_replicas
        if spec.type == "Object":
            reason = "FailedGetObjectMetric"
            wrap = "failed to get object metric value: {}"
            try:
                described = spec.described_object or ("", "", "")
                if target.type == "Value" and target.value_milli is not None:
                    usage = _object_value(view, spec, described)
                    ratio = usage / target.value_milli
                    proposal = self._usage_ratio_replicas(spec_replicas, ratio, tolerances, view)
                    return proposal, f"{described[1]} metric {spec.name}", usage / 1000
                if target.type == "AverageValue" and target.average_value_milli is not None:
                    usage = _object_value(view, spec, described)
                    proposal, per_pod = _per_pod_replicas(
                        view.status_replicas, usage, target.average_value_milli, tolerances
                    )
                    # (sic) the controller names this "external metric" too.
                    name = f"external metric {spec.name}({_format_selector(spec.selector)})"
                    return proposal, name, per_pod / 1000
                raise _CalcError(
                    "invalid object metric source: neither a value target nor an average "
                    "value target was set"
                )
            except _CalcError as exc:
                raise _MetricFailure(self, reason, str(exc), wrap.format(exc)) from None
        if spec.type == "Pods":
            reason = "FailedGetPodsMetric"
            try:
                try:
                    metrics = view.metrics.pods(spec.name, spec.selector)
                except MetricUnavailable as exc:
                    raise _CalcError(f"unable to get metric {spec.name}: {exc}") from None
                assert target.average_value_milli is not None  # validated by parse_hpa
                proposal, usage = self._plain_metric_replicas(
                    now, view, metrics, target.average_value_milli, "", tolerances
                )
                return proposal, f"pods metric {spec.name}", usage / 1000
            except _CalcError as exc:
                raise _MetricFailure(
                    self, reason, str(exc), f"failed to get pods metric value: {exc}"
                ) from None
        if spec.type in ("Resource", "ContainerResource"):
            reason = (
                "FailedGetResourceMetric"
                if spec.type == "Resource"
                else "FailedGetContainerResourceMetric"
            )
            wrapper = (
                f"failed to get {spec.name} resource metric value: {{}}"
                if spec.type == "Resource"
                else f"failed to get {spec.container} container metric value: {{}}"
            )
            try:
                return self._resource_replicas(now, view, spec, tolerances)
            except _CalcError as exc:
                raise _MetricFailure(self, reason, str(exc), wrapper.format(exc)) from None
        if spec.type == "External":
            reason = "FailedGetExternalMetric"
            try:
                name = f"external metric {spec.name}({_format_selector(spec.selector)})"
                if target.average_value_milli is not None:
                    usage = _external_sum(view, spec, cap=False)
                    proposal, per_pod = _per_pod_replicas(
                        view.status_replicas, usage, target.average_value_milli, tolerances
                    )
                    return proposal, name, per_pod / 1000
                if target.value_milli is not None:
                    usage = _external_sum(view, spec, cap=True)
                    ratio = usage / target.value_milli
                    proposal = self._usage_ratio_replicas(spec_replicas, ratio, tolerances, view)
                    return proposal, name, usage / 1000
                raise _CalcError(
                    "invalid external metric source: neither a value target nor an average "
                    "value target was set"
                )
            except _CalcError as exc:
                raise _MetricFailure(
                    self,
                    reason,
                    str(exc),
                    f"failed to get {spec.name} external metric value: {exc}",
                ) from None
        raise _MetricFailure(
            self,
            "InvalidMetricSourceType",
            f'unknown metric source type "{spec.type}"',
            f'unknown metric source type "{spec.type}"',
        )

    # replica_calculator.go `getUsageRatioReplicaCount` (Object Value, External Value)
    def _usage_ratio_replicas(
        self, current: int, ratio: float, tolerances: Tolerances, view: ClusterView
    ) -> int:
        if current != 0:
            if tolerances.is_within(ratio):
                return current
            # `getReadyPodsCount`: Running and Ready pods of the target.
            if not view.pods:
                raise _CalcError(
                    "unable to calculate ready pods: no pods returned by selector while "
                    "calculating replica count"
                )
            ready = sum(1 for p in view.pods if p.phase == "Running" and p.ready)
            count = ratio * ready
            return INT32_MAX if count > INT32_MAX else math.ceil(count)
        return math.ceil(ratio)

    # replica_calculator.go `calcPlainMetricReplicas` (Pods metrics, raw resource values)
    def _plain_metric_replicas(
        self,
        now: float,
        view: ClusterView,
        samples: Mapping[str, Any],
        target_usage: int,
        resource: str,
        tolerances: Tolerances,
    ) -> tuple[int, int]:
        """`samples` maps pod name to its sample (a `ResourceSample` for resources,
        whose timestamp the CPU readiness rule reads; a milli-value otherwise)."""
        if not view.pods:
            raise _CalcError("no pods returned by selector while calculating replica count")
        groups = group_pods(
            view.pods,
            samples,
            resource,
            now,
            self.config.cpu_initialization_period,
            self.config.initial_readiness_delay,
        )
        metrics = {
            name: sample.milli if isinstance(sample, ResourceSample) else int(sample)
            for name, sample in samples.items()
            if name not in groups.ignored and name not in groups.unready
        }
        if not metrics:
            raise _CalcError("did not receive metrics for targeted pods (pods might be unready)")
        ratio, usage = _usage_ratio(metrics, target_usage)
        proposal = _replicas_with_unready_and_missing(
            ratio,
            metrics,
            groups,
            view.spec_replicas,
            tolerances,
            # Scale-down: a missing pod counts as using exactly the target.
            {name: target_usage for name in groups.missing},
            lambda m: _usage_ratio(m, target_usage)[0],
        )
        return proposal, usage

    # horizontal.go `computeStatusForResourceMetricGeneric`; replica_calculator.go
    # `GetResourceReplicas` and `GetRawResourceReplicas`.
    def _resource_replicas(
        self, now: float, view: ClusterView, spec: MetricSpec, tolerances: Tolerances
    ) -> tuple[int, str, float]:
        resource = spec.name
        target = spec.target

        def fetch() -> dict[str, ResourceSample]:
            try:
                return view.metrics.resource(resource, spec.container)
            except MetricUnavailable as exc:
                raise _CalcError(f"unable to get metrics for resource {resource}: {exc}") from None

        if target.average_value_milli is not None:
            try:
                proposal, usage = self._plain_metric_replicas(
                    now, view, fetch(), target.average_value_milli, resource, tolerances
                )
            except _CalcError as exc:
                raise _CalcError(f"failed to get {resource} usage: {exc}") from None
            return proposal, f"{resource} resource", usage / 1000
        if target.average_utilization is None:
            raise _CalcError(
                "invalid resource metric source: neither an average utilization target nor "
                "an average value (usage) target was set"
            )
        try:
            return self._utilization_replicas(now, view, spec, fetch(), tolerances)
        except _CalcError as exc:
            raise _CalcError(f"failed to get {resource} utilization: {exc}") from None

    def _utilization_replicas(
        self,
        now: float,
        view: ClusterView,
        spec: MetricSpec,
        samples: Mapping[str, ResourceSample],
        tolerances: Tolerances,
    ) -> tuple[int, str, float]:
        resource = spec.name
        target_utilization = spec.target.average_utilization
        assert target_utilization is not None
        if not view.pods:
            raise _CalcError("no pods returned by selector while calculating replica count")
        groups = group_pods(
            view.pods,
            samples,
            resource,
            now,
            self.config.cpu_initialization_period,
            self.config.initial_readiness_delay,
        )
        metrics = {
            name: sample.milli
            for name, sample in samples.items()
            if name not in groups.ignored and name not in groups.unready
        }
        if not metrics:
            raise _CalcError("did not receive metrics for targeted pods (pods might be unready)")
        # Every pod of the target shares one template, so one pod's request is all
        # pods' request; the error names the first pod, as the controller's loop would.
        request = _pod_request(view.requests, view.pods[0].name, resource, spec.container)
        requests = {pod.name: request for pod in view.pods}
        ratio, utilization, _raw = _utilization_ratio(metrics, requests, target_utilization)
        fallback = max(100, target_utilization)
        proposal = _replicas_with_unready_and_missing(
            ratio,
            metrics,
            groups,
            view.spec_replicas,
            tolerances,
            # Scale-down: a missing pod counts as using 100% of its request (or the
            # target, when the target is above 100%).
            {name: _go_div(requests[name] * fallback, 100) for name in groups.missing},
            lambda m: _utilization_ratio(m, requests, target_utilization)[0],
        )
        if spec.type == "ContainerResource":
            name = f"{resource} container resource utilization (percentage of request)"
        else:
            name = f"{resource} resource utilization (percentage of request)"
        return proposal, name, float(utilization)

    # horizontal.go `stabilizeRecommendation` (no behavior)
    def _stabilize(self, now: float, desired: int) -> int:
        maximum = desired
        cutoff = now - self.config.downscale_stabilization
        old_index = None
        for index, rec in enumerate(self.recommendations):
            # `rec.timestamp.Before(cutoff)`; a tie is old (see the module docstring).
            if rec.timestamp <= cutoff:
                old_index = index
            elif rec.recommendation > maximum:
                maximum = rec.recommendation
        self._record(old_index, desired, now)
        return maximum

    def _record(self, old_index: int | None, desired: int, now: float) -> None:
        # The controller reuses one expired slot rather than growing the list.
        if old_index is not None:
            self.recommendations[old_index] = _Recommendation(desired, now)
        else:
            self.recommendations.append(_Recommendation(desired, now))

    # horizontal.go `normalizeDesiredReplicas` (no behavior)
    def _normalize(self, now: float, current: int, desired: int, min_replicas: int) -> int:
        stabilized = self._stabilize(now, desired)
        self._conditions["AbleToScale"] = (
            "ScaleDownStabilized" if stabilized != desired else "ReadyForNewScale"
        )
        result, reason = _convert_with_rules(
            current, stabilized, min_replicas, self.spec.max_replicas
        )
        self._conditions["ScalingLimited"] = reason
        return result

    # horizontal.go `normalizeDesiredReplicasWithBehaviors`
    def _normalize_with_behaviors(
        self, now: float, current: int, desired: int, min_replicas: int
    ) -> int:
        behavior = self.spec.behavior
        assert behavior is not None
        # `maybeInitScaleDownStabilizationWindow`: a scale-down window left out takes
        # the controller's --horizontal-pod-autoscaler-downscale-stabilization.
        down_window = behavior.scale_down.stabilization_window_seconds
        if down_window is None:
            down_window = int(self.config.downscale_stabilization)
        up_window = behavior.scale_up.stabilization_window_seconds or 0
        stabilized, reason = self._stabilize_with_behaviors(
            now, current, desired, up_window, down_window
        )
        self._conditions["AbleToScale"] = reason if stabilized != desired else "ReadyForNewScale"
        result, limit_reason = self._convert_with_behavior_rate(
            now, current, stabilized, min_replicas
        )
        self._conditions["ScalingLimited"] = limit_reason
        return result

    # horizontal.go `stabilizeRecommendationWithBehaviors`
    def _stabilize_with_behaviors(
        self, now: float, current: int, desired: int, up_window: int, down_window: int
    ) -> tuple[int, str]:
        up_cutoff = now - up_window
        down_cutoff = now - down_window
        up_recommendation = desired
        down_recommendation = desired
        old_index = None
        for index, rec in enumerate(self.recommendations):
            # `rec.timestamp.After(cutoff)`: a sample on the cutoff is outside.
            if rec.timestamp > up_cutoff:
                up_recommendation = min(rec.recommendation, up_recommendation)
            if rec.timestamp > down_cutoff:
                down_recommendation = max(rec.recommendation, down_recommendation)
            # `Before(upCutoff) && Before(downCutoff)`; a tie is old (module docstring).
            if rec.timestamp <= up_cutoff and rec.timestamp <= down_cutoff:
                old_index = index
        # Scale-up takes the lowest recommendation of its window, scale-down the
        # highest of its window, and the current count stays if it lies between.
        recommendation = current
        if recommendation < up_recommendation:
            recommendation = up_recommendation
        if recommendation > down_recommendation:
            recommendation = down_recommendation
        self._record(old_index, desired, now)
        reason = "ScaleUpStabilized" if desired >= current else "ScaleDownStabilized"
        return recommendation, reason

    # horizontal.go `convertDesiredReplicasWithBehaviorRate`
    def _convert_with_behavior_rate(
        self, now: float, current: int, desired: int, min_replicas: int
    ) -> tuple[int, str]:
        behavior = self.spec.behavior
        assert behavior is not None
        max_replicas = self.spec.max_replicas
        if desired > current:
            limit = _scale_up_limit(
                now, current, self.scale_up_events, self.scale_down_events, behavior.scale_up
            )
            if limit < current:
                # Not further up until the events of the period expire.
                limit = current
            if max_replicas > limit:
                maximum, reason = limit, "ScaleUpLimit"
            else:
                maximum, reason = max_replicas, "TooManyReplicas"
            if desired > maximum:
                return maximum, reason
        elif desired < current:
            limit = _scale_down_limit(
                now, current, self.scale_up_events, self.scale_down_events, behavior.scale_down
            )
            if limit > current:
                limit = current
            if min_replicas < limit:
                minimum, reason = limit, "ScaleDownLimit"
            else:
                minimum, reason = min_replicas, "TooFewReplicas"
            if desired < minimum:
                return minimum, reason
        return desired, "DesiredWithinRange"

    # horizontal.go `storeScaleEvent`
    def _store_scale_event(self, now: float, previous: int, new: int) -> None:
        behavior = self.spec.behavior
        if behavior is None:
            return  # the path without behavior never reads these
        if new > previous:
            events, rules, change = self.scale_up_events, behavior.scale_up, new - previous
        else:
            events, rules, change = self.scale_down_events, behavior.scale_down, previous - new
        longest = max((p.period_seconds for p in rules.policies), default=0)
        # `markScaleEventsOutdated`: `timestamp.Before(cutoff)`; a tie is old.
        cutoff = now - longest
        old_index = None
        for index, event in enumerate(events):
            if event.timestamp <= cutoff:
                event.outdated = True
            if event.outdated:
                old_index = index
        new_event = _ScaleEvent(change, now)
        if old_index is not None:
            events[old_index] = new_event
        else:
            events.append(new_event)


class _MetricFailure(Exception):
    """A metric could not be computed: the event has been recorded, `wrapped` is the
    error `computeReplicasForMetric` returns."""

    def __init__(self, controller: HorizontalController, reason: str, message: str, wrapped: str):
        controller._event("Warning", reason, message)
        self.reason = reason
        self.wrapped = wrapped
        super().__init__(wrapped)


def _object_value(view: ClusterView, spec: MetricSpec, described: tuple[str, str, str]) -> int:
    try:
        return view.metrics.object(spec.name, described, spec.selector)
    except MetricUnavailable as exc:
        raise _CalcError(
            f"unable to get metric {spec.name}: {described[1]} on {described[2]} {exc}"
        ) from None


def _external_sum(view: ClusterView, spec: MetricSpec, cap: bool) -> int:
    try:
        values = view.metrics.external(spec.name, spec.selector)
    except MetricUnavailable as exc:
        raise _CalcError(f"unable to get external metric {spec.name}: {exc}") from None
    usage = 0
    for value in values:
        # GetExternalMetricReplicas caps at MaxInt64; the per-pod variant detects the
        # overflow after the fact. The same result for any realistic value.
        usage = min(INT64_MAX, usage + value) if cap else usage + value
    return min(usage, INT64_MAX)


def _per_pod_replicas(
    status_replicas: int, usage: int, target_per_pod: int, tolerances: Tolerances
) -> tuple[int, int]:
    """replica_calculator.go `GetObjectPerPodMetricReplicas` and
    `GetExternalPerPodMetricReplicas`: AverageValue targets divide the total by the
    pods that exist (status.replicas), not by the ready ones."""
    replicas = status_replicas
    if status_replicas == 0:
        return math.ceil(usage / target_per_pod), usage
    ratio = usage / (target_per_pod * replicas)
    if not tolerances.is_within(ratio):
        result = math.ceil(usage / target_per_pod)
        replicas = INT32_MAX if result > INT32_MAX else result
    per_pod = INT64_MAX if usage >= INT64_MAX else math.ceil(usage / status_replicas)
    return replicas, per_pod


def _convert_with_rules(current: int, desired: int, minimum: int, maximum: int) -> tuple[int, str]:
    """horizontal.go `convertDesiredReplicasWithRules` (no behavior): min/max, and at
    most max(2 x current, 4) per sync (`calculateScaleUpLimit`)."""
    scale_up_limit = int(max(LEGACY_SCALE_UP_LIMIT_FACTOR * current, LEGACY_SCALE_UP_LIMIT_MINIMUM))
    if maximum > scale_up_limit:
        allowed_max, reason = scale_up_limit, "ScaleUpLimit"
    else:
        allowed_max, reason = maximum, "TooManyReplicas"
    if desired < minimum:
        return minimum, "TooFewReplicas"
    if desired > allowed_max:
        return allowed_max, reason
    return desired, "DesiredWithinRange"


def _changes_in_period(now: float, period_seconds: int, events: Sequence[_ScaleEvent]) -> int:
    """horizontal.go `getReplicasChangePerPeriod`: `timestamp.After(now - period)`."""
    cutoff = now - period_seconds
    return sum(e.replica_change for e in events if e.timestamp > cutoff)


def _scale_up_limit(
    now: float,
    current: int,
    up_events: Sequence[_ScaleEvent],
    down_events: Sequence[_ScaleEvent],
    rules: ScalingRules,
) -> int:
    """horizontal.go `calculateScaleUpLimitWithScalingRules`: each policy allows a
    count relative to the replicas at the start of its period; Max picks the most
    permissive, Min the least, Disabled forbids scaling up."""
    if rules.select_policy == "Disabled":
        return current
    if rules.select_policy == "Min":
        result, pick = INT32_MAX, min
    else:
        result, pick = INT32_MIN, max
    for policy in rules.policies:
        added = _changes_in_period(now, policy.period_seconds, up_events)
        deleted = _changes_in_period(now, policy.period_seconds, down_events)
        period_start = current - added + deleted
        if policy.type == "Pods":
            proposed = period_start + policy.value
        else:
            # Rounded up, so a Percent policy can always add at least one pod.
            proposed = math.ceil(period_start * (1 + policy.value / 100))
        result = pick(result, proposed)
    return result


def _scale_down_limit(
    now: float,
    current: int,
    up_events: Sequence[_ScaleEvent],
    down_events: Sequence[_ScaleEvent],
    rules: ScalingRules,
) -> int:
    """horizontal.go `calculateScaleDownLimitWithBehaviors`: the lowest count each
    policy allows; Max picks the lowest (biggest change), Min the highest."""
    if rules.select_policy == "Disabled":
        return current
    if rules.select_policy == "Min":
        result, pick = INT32_MIN, max
    else:
        result, pick = INT32_MAX, min
    for policy in rules.policies:
        added = _changes_in_period(now, policy.period_seconds, up_events)
        deleted = _changes_in_period(now, policy.period_seconds, down_events)
        period_start = current - added + deleted
        if policy.type == "Pods":
            proposed = period_start - policy.value
        else:
            # int32(float) truncates toward zero.
            proposed = int(period_start * (1 - policy.value / 100))
        result = pick(result, proposed)
    return result


__all__ = [
    "Behavior",
    "ClusterView",
    "ContainerRequests",
    "ControllerConfig",
    "ControllerEvent",
    "HPASpec",
    "HPASpecError",
    "HorizontalController",
    "MetricReading",
    "MetricSpec",
    "MetricTarget",
    "MetricUnavailable",
    "MetricsSource",
    "PodRequests",
    "PodState",
    "ResourceSample",
    "ScalingPolicy",
    "ScalingRules",
    "SpecProblem",
    "SyncResult",
    "Tolerances",
    "default_scale_down_rules",
    "default_scale_up_rules",
    "group_pods",
    "lab_hpa_document",
    "lab_seconds",
    "lab_spec",
    "milli_value",
    "parse_hpa",
]
