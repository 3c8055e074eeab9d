"""What one sync of the HPA controller reads from the cluster, and what it reports.

`ClusterView` is the target's scale subresource, its pods (`PodState`), their
requests and the three metrics APIs (`MetricsSource`); `SyncResult` is one pass of
the reconcile loop, with its metric readings, conditions and events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


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
