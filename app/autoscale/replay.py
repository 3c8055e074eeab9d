"""The differential test's half: the simulator's controller given what the real one was given.

A live run and a simulated one of the same answer drift apart for reasons that
are not the algorithm: the real controller syncs one period *plus* its
processing time after the last (so each policy period and window ends a
fraction of a sync later, and the drift adds up), kwok turns pods Ready one by
one over a fraction of a second where the simulator turns a batch at once, and
the adapter serves a new load or a newly Ready pod up to one tick late. A
legacy scale-down, which takes the highest recommendation of its window, then
passes through different transient counts.

So the algorithm is compared sync by sync, on the same inputs (`replay`): at
each of the real controller's syncs, the simulator's `HorizontalController`,
carrying its own memory, reads the Deployment's count, the pods' states and
the metric values the live run observed at that instant, and decides a count
that must be the real controller's within one replica (`differences`).

The real syncs: every sync that changed the HPA's status was seen; the ones in
between changed nothing and left no trace, so `controller_clock` places them
one period apart after the last one seen, the period measured on syncs seen
back to back.

CPU is not replayed: metrics-server samples every 10 s of wall time (150 s of
answer time at a factor of 15), a lag the live run cannot remove; Resource
metrics fail in the replay, so answers that read them are left out.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from app.autoscale.feed import milli
from app.autoscale.hpa import (
    ClusterView,
    ControllerConfig,
    HorizontalController,
    HPASpec,
    MetricUnavailable,
    PodRequests,
    PodState,
    ResourceSample,
)
from app.autoscale.model import CapacityModel
from app.autoscale.timeline import LiveObservations

DEFAULT_PERIOD = 1.0
"""The lab clock's sync period (`ControllerConfig.for_lab`)."""
T = TypeVar("T")


def sync_period(seen: Sequence[float], nominal: float = DEFAULT_PERIOD) -> float:
    """The real period: the median gap between syncs seen back to back (gaps of
    0.8-1.6 nominal periods); the nominal period when there were none."""
    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    close = [g for g in gaps if 0.8 * nominal <= g <= 1.6 * nominal]
    return statistics.median(close) if close else nominal


def controller_clock(
    seen: Sequence[float], end: float, nominal: float = DEFAULT_PERIOD
) -> list[float]:
    """The real controller's syncs in [0, end] (lab seconds), from those seen.

    Between two seen syncs, the unseen ones are spread evenly (as many as whole
    periods fit), so the estimate cannot drift over a long quiet stretch; before
    the first and after the last, they are one measured period apart."""
    seen = sorted(t for t in seen if 0 <= t <= end)
    if not seen:
        return []
    period = sync_period(seen, nominal)
    clock = []
    t = seen[0] - period
    while t >= 0:
        clock.append(t)
        t -= period
    clock.reverse()
    for current, following in zip(seen, seen[1:], strict=False):
        clock.append(current)
        between = max(0, round((following - current) / period) - 1)
        step = (following - current) / (between + 1)
        clock += [current + step * (i + 1) for i in range(between)]
    clock.append(seen[-1])
    t = seen[-1] + period
    while t <= end:
        clock.append(t)
        t += period
    return clock


def _at(series: Sequence[tuple[Any, ...]], t: float) -> tuple[Any, ...] | None:
    """The latest entry of a (time, ...) series at or before `t`."""
    index = bisect.bisect_right([entry[0] for entry in series], t) - 1
    return series[index] if index >= 0 else None


class _ReplayMetrics:
    """The adapter as the live run set it: the model's values at the served load,
    given to the first `served` Ready pods."""

    def __init__(self, model: CapacityModel, load: float, names: Sequence[str]):
        self.model = model
        self.load = load
        self.names = names
        self.per_pod_load = load / len(names) if names else 0.0

    def resource(self, resource: str, container: str | None) -> dict[str, ResourceSample]:
        raise MetricUnavailable("the replay does not model metrics-server")

    def pods(self, metric: str, selector: Mapping[str, Any] | None) -> dict[str, int]:
        kind = self.model.pod_metrics.get(metric)
        if kind is None or kind == "totalLoad" or not self.names:
            raise MetricUnavailable(f"no metrics returned for {metric}")
        value = milli(self.model.pod_value(kind, self.per_pod_load))
        return dict.fromkeys(self.names, value)

    def object(
        self, metric: str, described: tuple[str, str, str], selector: Mapping[str, Any] | None
    ) -> int:
        if self.model.object_metrics.get(metric) != "totalLoad":
            raise MetricUnavailable(f"the server could not find the metric {metric}")
        return milli(self.load)

    def external(self, metric: str, selector: Mapping[str, Any] | None) -> list[int]:
        if self.model.external_metrics.get(metric) != "totalLoad":
            raise MetricUnavailable(f"the server could not find the metric {metric}")
        return [milli(self.load)]


@dataclass(frozen=True)
class ReplayedSync:
    t: float
    """Lab seconds."""
    real: int
    """The count the real controller had decided by then (status.desiredReplicas)."""
    simulated: int
    """The count the simulator's controller decided at this sync."""
    seen: bool
    """Whether this sync changed the live status (else its time is estimated)."""


def replay(
    spec: HPASpec,
    config: ControllerConfig,
    model: CapacityModel,
    observations: LiveObservations,
    end: float,
) -> list[ReplayedSync]:
    """Each real sync, replayed (see the module docstring). `spec`, `config` and
    `model` are in lab time, as the live run applied them."""
    seen_times = [t for t, _current, _desired in observations.syncs]
    controller = HorizontalController(spec, config)
    out = []
    last_decision = None
    for t in controller_clock(seen_times, end, config.sync_period):
        seen = _at(observations.syncs, t + 1e-9)
        exact = seen is not None and abs(seen[0] - t) < 1e-9
        if exact and seen is not None:
            current = seen[1]  # what this sync read: the scale's spec.replicas
        else:
            spec_entry = _at(observations.spec, t)
            current = spec_entry[1] if spec_entry else 0
        pods_entry = _at(observations.pods, t) or (t, current, current, current)
        served = _at(observations.served, t) or (t, 0.0, 0)
        _, total, running, ready = pods_entry
        _, load, served_ready = served
        names = [f"pod-{i}" for i in range(total)]
        states = [
            PodState(
                name,
                "Running" if i < running else "Pending",
                0.0 if i < running else None,
                i < ready if i < running else None,
                0.0 if i < running else None,
            )
            for i, name in enumerate(names)
        ]
        view = ClusterView(
            spec_replicas=current,
            status_replicas=total,
            pods=states,
            requests=PodRequests(()),
            metrics=_ReplayMetrics(model, load, names[: min(served_ready, ready)]),
        )
        result = controller.sync(t, view)
        if seen is not None:
            last_decision = seen[2] or seen[1]
        real = last_decision if last_decision is not None else current
        out.append(ReplayedSync(t, real, result.desired_replicas, exact))
    return out


def differences(syncs: Sequence[ReplayedSync], *, tolerance: int = 1) -> list[str]:
    """Where the two controllers decided counts more than `tolerance` apart: at any
    seen sync, and at unseen ones when the next sync disagrees too (an unseen
    sync's time is an estimate, and a window or period that ends within that
    error can flip one decision, never two in a row)."""
    found = []
    for index, sync in enumerate(syncs):
        if abs(sync.real - sync.simulated) <= tolerance:
            continue
        following = syncs[index + 1] if index + 1 < len(syncs) else None
        if not sync.seen and (
            following is None or abs(following.real - following.simulated) <= tolerance
        ):
            continue
        found.append(
            f"lab t={sync.t:.2f}s{'' if sync.seen else ' (estimated)'}: the controller decided "
            f"{sync.real} replicas, the simulator {sync.simulated}"
        )
    return found


__all__ = ["ReplayedSync", "controller_clock", "differences", "replay", "sync_period"]
