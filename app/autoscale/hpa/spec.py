"""The HPA spec as the controller sees it: constants, dataclasses, API-server defaults.

Defaults follow pkg/apis/autoscaling/v2/defaults.go and the limits
pkg/apis/autoscaling/validation/validation.go (Kubernetes v1.36.3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

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


def milli_value(amount: Fraction) -> int:
    """`resource.Quantity.MilliValue()`: ceil(q * 1000) (apimachinery `ScaledValue`)."""
    return math.ceil(amount * 1000)
