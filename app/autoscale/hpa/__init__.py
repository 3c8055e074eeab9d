"""The HorizontalPodAutoscaler v2 algorithm, as kube-controller-manager v1.36 runs it.

This package owns three things, all pure (no cluster, no clock of its own):

1. `parse_hpa` (`parse`, over the dataclasses of `spec`): an `autoscaling/v2`
   (or `/v1`) HorizontalPodAutoscaler document, validated where the API server
   would refuse it and defaulted field by field as the API server's defaulting
   does, into an `HPASpec`.
2. `HorizontalController` (`controller`): one HPA's controller state (the
   recommendation history and the scale-up/scale-down event history) and
   `sync`, one pass of the controller's reconcile loop over a `ClusterView`
   (`view`) at a given time. Its parts: `metrics` (the proposal per metric and
   the maximum over them), `calculator` (replica_calculator.go), `behavior`
   (stabilization windows, policies, selectPolicy, the path without behavior).
3. Lab time (`labtime`: `lab_seconds`, `lab_hpa_document`,
   `ControllerConfig.for_lab`): how a live run compresses every duration by a
   factor, so the simulator and the live runner compress the same way.

Every rule cites the file and function of Kubernetes v1.36.3 it follows (paths
are relative to the kubernetes repository, `k8s.io/kubernetes@v1.36.3`). The
names are ours; the arithmetic (integer divisions, float rounding, comparison
order) is the controller's, so results agree to the replica.

Clock ties. The controller compares wall-clock times (`time.Before/After`).
Real syncs come one sync period *plus processing time* apart, so a sample taken
N periods ago is, on the real clock, slightly older than "now - N periods".
The simulator's clock is exact, so wherever a sample falls exactly on a
window's cutoff it is treated as outside the window, as it would be on the
real clock. Where that matters it says so.
"""

from app.autoscale.hpa.calculator import Tolerances, group_pods
from app.autoscale.hpa.controller import HorizontalController
from app.autoscale.hpa.labtime import ControllerConfig, lab_hpa_document, lab_seconds, lab_spec
from app.autoscale.hpa.parse import parse_hpa
from app.autoscale.hpa.spec import (
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
from app.autoscale.hpa.view import (
    ClusterView,
    ContainerRequests,
    ControllerEvent,
    MetricReading,
    MetricsSource,
    MetricUnavailable,
    PodRequests,
    PodState,
    ResourceSample,
    SyncResult,
)

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
