"""The load model: how traffic becomes the metrics an HPA reads, and how pods come up.

This module owns `CapacityModel` and a scenario's `autoscale:` block
(`scenario_from_mapping` -> `AutoscaleScenario`). The model, per ready replica
(load is shared evenly by ready pods, since the Service sends nothing to a pod
that is not ready):

- `capacity`: the load one replica carries at its SLO. Its hard limit is
  `capacity x headroom` (1.25 by default), where it saturates.
- With rho = per-pod load / hard limit, the per-pod metrics follow an M/M/1
  queue, scaled so that at `capacity` they equal the scenario's measured values:
  in flight ~ rho/(1-rho) (`inFlightAtCapacity`, 40), waiting ~ rho^2/(1-rho)
  (`queueAtCapacity`, 8), p99 latency ~ 1/(1-rho) (`latencyAtCapacitySeconds`,
  0.1 s). They grow non-linearly near saturation and stop at
  `saturationMultiple` (10) times their at-capacity value: a saturated server's
  queue is bounded by its own limits and timeouts.
- CPU: `cpuUtilizationAtCapacity` (70%) of the request at `capacity`, in
  proportion to the load served (clipped at the hard limit). Memory: a constant
  share of the request. Other resources: not served by metrics-server.
- Object and External metrics of kind `totalLoad` report the whole load (a load
  balancer's request rate).
- A new pod is Pending for `pendingSeconds`, then Running and not ready for
  `readySeconds` (model loading), then Ready. Its custom metrics appear when it
  is ready (the server exports nothing while loading) unless
  `podMetricsBeforeReady`; its resource metrics `resourceMetricsDelaySeconds`
  after it starts (metrics-server's first scrape), with a `metricsWindowSeconds`
  window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.autoscale.hpa import lab_seconds
from app.autoscale.inputs import AutoscaleInputError, InputProblem
from app.autoscale.load import BUILTIN_PROFILES, DEFAULT_DURATION_SECONDS, MAX_DURATION_SECONDS

METRIC_KINDS = (
    "queueDepth",
    "inFlight",
    "latencySeconds",
    "latencyMilliseconds",
    "loadPerPod",
    "totalLoad",
)
"""What a named metric measures in the load model."""

DEFAULT_POD_METRICS: Mapping[str, str] = {
    "inference_queue_depth": "queueDepth",
    "inference_requests_in_flight": "inFlight",
    "inference_latency_p99_seconds": "latencySeconds",
    # custom-metric-units: an adapter that exports the p99 in milliseconds.
    "inference_latency_p99": "latencyMilliseconds",
    "requests_per_second": "loadPerPod",
}
DEFAULT_OBJECT_METRICS: Mapping[str, str] = {
    "requests_per_second": "totalLoad",
    "lb_requests_per_second": "totalLoad",
}
DEFAULT_EXTERNAL_METRICS: Mapping[str, str] = {
    "lb_requests_per_second": "totalLoad",
    "requests_per_second": "totalLoad",
}


@dataclass(frozen=True)
class CapacityModel:
    """How load becomes metrics and how pods come up (see the module docstring)."""

    capacity: float
    """Load one ready replica carries at its SLO, in `unit`."""
    unit: str = "req/s"
    headroom: float = 1.25
    """The replica's hard limit, as a multiple of `capacity`."""
    queue_at_capacity: float = 8.0
    in_flight_at_capacity: float = 40.0
    latency_at_capacity: float = 0.1
    """p99 in seconds at `capacity`."""
    saturation_multiple: float = 10.0
    cpu_utilization_at_capacity: float = 70.0
    """Percent of the CPU request used at `capacity`."""
    memory_utilization: float = 50.0
    """Percent of the memory request, whatever the load."""
    pending_seconds: float = 1.0
    ready_seconds: float = 240.0
    resource_metrics_delay: float = 15.0
    metrics_window: float = 15.0
    pod_metrics_before_ready: bool = False
    pod_metrics: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_POD_METRICS))
    object_metrics: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_OBJECT_METRICS))
    external_metrics: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_EXTERNAL_METRICS)
    )

    # -- the per-pod curves ------------------------------------------------------

    def pod_value(self, kind: str, per_pod_load: float) -> float:
        """A per-pod metric of `kind` for a ready pod serving `per_pod_load`."""
        if kind == "loadPerPod":
            return per_pod_load
        limit = self.capacity * self.headroom
        rho = per_pod_load / limit
        rho_c = 1 / self.headroom
        saturated = rho >= 1
        if kind == "inFlight":
            at_capacity = self.in_flight_at_capacity
            value = math.inf if saturated else at_capacity * _in_flight(rho) / _in_flight(rho_c)
        elif kind == "queueDepth":
            at_capacity = self.queue_at_capacity
            value = math.inf if saturated else at_capacity * _waiting(rho) / _waiting(rho_c)
        elif kind in ("latencySeconds", "latencyMilliseconds"):
            at_capacity = self.latency_at_capacity
            value = math.inf if saturated else at_capacity * (1 - rho_c) / (1 - rho)
            if kind == "latencyMilliseconds":
                at_capacity *= 1000
                value *= 1000
        else:
            raise ValueError(f"not a per-pod metric kind: {kind}")
        return min(value, at_capacity * self.saturation_multiple)

    def cpu_utilization(self, per_pod_load: float) -> float:
        """Percent of the CPU request a ready pod uses at `per_pod_load`."""
        served = min(per_pod_load, self.capacity * self.headroom)
        return self.cpu_utilization_at_capacity * served / self.capacity

    def lab(self, time_scale: float) -> CapacityModel:
        """The pod timings in lab time (what a live run configures)."""
        if time_scale == 1:
            return self
        return replace(
            self,
            pending_seconds=float(lab_seconds(self.pending_seconds, time_scale)),
            ready_seconds=float(lab_seconds(self.ready_seconds, time_scale)),
            resource_metrics_delay=float(lab_seconds(self.resource_metrics_delay, time_scale)),
            metrics_window=float(lab_seconds(self.metrics_window, time_scale)),
        )


def _in_flight(rho: float) -> float:
    return rho / (1 - rho)


def _waiting(rho: float) -> float:
    return rho * rho / (1 - rho)


DEFAULT_LIVE_TIME_SCALE = 10.0
"""Issue 13: a live run divides every duration by 10 unless told otherwise."""


@dataclass(frozen=True)
class AutoscaleScenario:
    """A scenario's `autoscale` block: the model, the traffic's bounds, and how a
    run of it goes (load, length, lab time, the Deployment to scale)."""

    model: CapacityModel
    peak: float
    baseline: float
    load: str = "spike"
    """The built-in profile a run uses unless told otherwise, and its checks' default."""
    duration: float = DEFAULT_DURATION_SECONDS
    """How long a built-in profile lasts, in the answer's seconds."""
    time_scale: float = DEFAULT_LIVE_TIME_SCALE
    """The lab-time factor of a live run (a simulated run is exact unless told)."""
    deployment: Mapping[str, Any] | None = None
    """The Deployment the HPA scales, for answers that hold only the HPA."""


_RUN_KEYS = frozenset(
    ("capacityPerReplica", "peak", "baseline", "load", "durationSeconds", "timeScale", "deployment")
)
"""Keys of the block that describe the run rather than the model."""
_MODEL_KEYS: Mapping[str, tuple[str, str]] = {
    # YAML key -> (CapacityModel field, type)
    "unit": ("unit", "str"),
    "headroom": ("headroom", "number"),
    "queueAtCapacity": ("queue_at_capacity", "number"),
    "inFlightAtCapacity": ("in_flight_at_capacity", "number"),
    "latencyAtCapacitySeconds": ("latency_at_capacity", "number"),
    "saturationMultiple": ("saturation_multiple", "number"),
    "cpuUtilizationAtCapacity": ("cpu_utilization_at_capacity", "number"),
    "memoryUtilization": ("memory_utilization", "number"),
    "pendingSeconds": ("pending_seconds", "seconds"),
    "readySeconds": ("ready_seconds", "seconds"),
    "resourceMetricsDelaySeconds": ("resource_metrics_delay", "seconds"),
    "metricsWindowSeconds": ("metrics_window", "seconds"),
    "podMetricsBeforeReady": ("pod_metrics_before_ready", "bool"),
    "podMetrics": ("pod_metrics", "kinds"),
    "objectMetrics": ("object_metrics", "kinds"),
    "externalMetrics": ("external_metrics", "kinds"),
}


def scenario_from_mapping(data: object, where: str = "autoscale") -> AutoscaleScenario:
    """Read a scenario's `autoscale:` block:

        autoscale:
          capacityPerReplica: 1250   # required
          peak: 10000                # required
          baseline: 1500             # required
          readySeconds: 240          # and any other CapacityModel field, camelCase
          load: spike                # a run's default built-in profile (default spike)
          durationSeconds: 1200      # a built-in profile's length (default 1800)
          timeScale: 15              # a live run's lab-time factor (default 10)
          deployment: {...}          # the Deployment, when answers hold only the HPA

    Raises `AutoscaleInputError` naming `where.key` for each bad entry.
    """
    problems: list[InputProblem] = []

    def bad(key: str, message: str) -> None:
        problems.append(InputProblem(f"{where}.{key}: {message}"))

    if not isinstance(data, Mapping):
        raise AutoscaleInputError([InputProblem(f"{where}: must be a mapping")])

    def number(key: str, *, required: bool, positive: bool = False) -> float | None:
        value = data.get(key)
        if value is None:
            if required:
                bad(key, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            bad(key, f"must be a number, not {value!r}")
            return None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            bad(key, "must be a finite number " + ("> 0" if positive else ">= 0"))
            return None
        return float(value)

    capacity = number("capacityPerReplica", required=True, positive=True)
    peak = number("peak", required=True, positive=True)
    baseline = number("baseline", required=True)
    if peak is not None and baseline is not None and peak <= baseline:
        bad("peak", f"must be above baseline ({baseline:g})")
    load = data.get("load", "spike")
    if load not in BUILTIN_PROFILES:
        bad("load", f"must be a built-in profile ({', '.join(BUILTIN_PROFILES)}), not {load!r}")
    duration = number("durationSeconds", required=False, positive=True)
    if duration is not None and not 60 <= duration <= MAX_DURATION_SECONDS:
        bad("durationSeconds", f"must be between 60 and {MAX_DURATION_SECONDS}")
    time_scale = number("timeScale", required=False, positive=True)
    if time_scale is not None and time_scale < 1:
        bad("timeScale", "must be at least 1 (1 runs in real time)")
    deployment = data.get("deployment")
    if deployment is not None and (
        not isinstance(deployment, Mapping) or deployment.get("kind") != "Deployment"
    ):
        bad("deployment", "must be a Deployment object (apiVersion apps/v1, kind Deployment)")
        deployment = None
    overrides: dict[str, Any] = {}
    for key, value in data.items():
        if key in _RUN_KEYS:
            continue
        if key not in _MODEL_KEYS:
            known = ", ".join(sorted({*_MODEL_KEYS, *_RUN_KEYS}))
            bad(str(key), f"unknown field (known: {known})")
            continue
        attribute, kind = _MODEL_KEYS[key]
        if kind == "str":
            if not isinstance(value, str) or not value:
                bad(key, "must be a non-empty string")
                continue
            overrides[attribute] = value
        elif kind == "bool":
            if not isinstance(value, bool):
                bad(key, "must be true or false")
                continue
            overrides[attribute] = value
        elif kind == "kinds":
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and v in METRIC_KINDS for k, v in value.items()
            ):
                bad(key, "must map metric names to one of: " + ", ".join(METRIC_KINDS))
                continue
            overrides[attribute] = dict(value)
        else:
            parsed = number(key, required=False, positive=(key == "headroom"))
            if parsed is not None:
                overrides[attribute] = parsed
    if "headroom" in overrides and overrides["headroom"] <= 1:
        bad("headroom", "must be above 1 (the hard limit is above the SLO capacity)")
    if problems or capacity is None or peak is None or baseline is None:
        raise AutoscaleInputError(problems)
    return AutoscaleScenario(
        CapacityModel(capacity=capacity, **overrides),
        peak,
        baseline,
        load=str(load),
        duration=duration if duration is not None else DEFAULT_DURATION_SECONDS,
        time_scale=time_scale if time_scale is not None else DEFAULT_LIVE_TIME_SCALE,
        deployment=deployment,
    )
