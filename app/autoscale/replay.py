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
each of the real controller's syncs, the simulator's `HorizontalController`
reads the Deployment's count, the pods' states and the metric values the live
run observed at that instant, and decides a count that must be the real
controller's within one replica (`differences`). Its scale events are the real
controller's, read from the Deployment's count (the controller is its only
writer), so one decision a boundary apart does not shift every policy period
after it (seen on the seed's HPA: scale-down by 2 pods per 4 lab seconds, one
unseen sync estimated 30 ms late, then every later step one sync early), and a
scale whose status the watch never saw (overwritten by the next sync on a busy
machine) still counts against the policies.

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
from app.autoscale.hpa.behavior import store_scale_event
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
    """The count the real controller decided at this sync (status.desiredReplicas;
    at an unseen sync, the count it kept)."""
    simulated: int
    """The count the simulator's controller decided at this sync, from the real
    controller's memory (its scale events up to the previous sync)."""
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
    for t in controller_clock(seen_times, end, config.sync_period):
        seen = _at(observations.syncs, t + 1e-9)
        exact = seen is not None and abs(seen[0] - t) < 1e-9
        if exact and seen is not None:
            current = seen[1]  # what this sync read: the scale's spec.replicas
            real = seen[2] or seen[1]
        else:
            spec_entry = _at(observations.spec, t)
            current = spec_entry[1] if spec_entry else 0
            real = current  # a sync that scaled would have changed the status
        # The real controller's scale events so far, from the Deployment's count
        # (it is the only writer): every one, even a scale whose status was
        # overwritten before the watch saw it. A seen sync that scaled wrote its
        # own event after it read: that one is not in its memory yet.
        before = t if not (exact and real != current) else t - config.sync_period / 2
        _remember(controller, spec, observations.spec, before)
        result = controller.sync(t, _view(t, current, model, observations))
        controller.status_desired_replicas = real
        out.append(ReplayedSync(t, real, result.desired_replicas, exact))
    return out


def _remember(
    controller: HorizontalController,
    spec: HPASpec,
    counts: Sequence[tuple[float, int]],
    before: float,
) -> None:
    """Set the controller's scale events to the real ones: the Deployment's count
    changes before `before` (horizontal.go `storeScaleEvent`, in order)."""
    controller.scale_up_events, controller.scale_down_events = [], []
    previous = None
    for when, replicas in counts:
        if when >= before:
            break
        if previous is not None and when >= 0 and replicas != previous:
            store_scale_event(
                spec.behavior,
                controller.scale_up_events,
                controller.scale_down_events,
                when,
                previous,
                replicas,
            )
        previous = replicas


def _view(
    t: float, current: int, model: CapacityModel, observations: LiveObservations
) -> ClusterView:
    """The cluster as the live run saw it at `t`: the target's pods and what the
    adapter served."""
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
    return ClusterView(
        spec_replicas=current,
        status_replicas=total,
        pods=states,
        requests=PodRequests(()),
        metrics=_ReplayMetrics(model, load, names[: min(served_ready, ready)]),
    )


def _shifted(syncs: Sequence[ReplayedSync], index: int, tolerance: int) -> bool:
    """The simulator's decision at `index` is the real controller's at one of the
    two syncs before or after: the same decision a sync or two apart."""
    sync = syncs[index]
    return any(
        0 <= other < len(syncs) and abs(syncs[other].real - sync.simulated) <= tolerance
        for other in (index - 2, index - 1, index + 1, index + 2)
    )


def compare(syncs: Sequence[ReplayedSync], *, tolerance: int = 1) -> tuple[list[str], list[str]]:
    """(differences, shifts): the syncs seen in the live status where the two
    controllers decided counts more than `tolerance` apart.

    A shift is a disagreement where the simulator decided what the real
    controller decided one or two syncs earlier or later. The replay's clock is
    the controller's give or take the time from its read to its status reaching
    the watch (tens of milliseconds on a quiet machine; seen 1.2 s at a load
    average of 15), so a stabilization window or a policy period that ends
    within that error moves a decision to a neighbouring sync: seen on the
    seed's HPA, whose 40 lab-second scale-down window ended 10 ms from a sync.
    Every other disagreement is a difference.

    Unseen syncs are not compared here: their times are estimates, and on a busy
    machine the controller syncs late (a sync takes longer than the period, and
    the controller's five workers share every HPA); `lags` measures that.
    """
    found: list[str] = []
    shifts: list[str] = []
    for index, sync in enumerate(syncs):
        if not sync.seen or abs(sync.real - sync.simulated) <= tolerance:
            continue
        line = (
            f"lab t={sync.t:.2f}s: the controller decided {sync.real} replicas, "
            f"the simulator {sync.simulated}"
        )
        (shifts if _shifted(syncs, index, tolerance) else found).append(line)
    return found, shifts


def lags(syncs: Sequence[ReplayedSync], *, tolerance: int = 1) -> list[tuple[float, float]]:
    """(from, to) lab seconds of each stretch of unseen syncs over which the
    simulator decided a count the real controller reached only later (or never):
    how far behind the real controller ran, or how far off the simulator was."""
    stretches: list[tuple[float, float]] = []
    start: float | None = None
    for sync in syncs:
        if not sync.seen and abs(sync.real - sync.simulated) > tolerance:
            start = sync.t if start is None else start
            continue
        if start is not None:
            stretches.append((start, sync.t))
            start = None
    if start is not None:
        stretches.append((start, syncs[-1].t))
    return stretches


def differences(syncs: Sequence[ReplayedSync], *, tolerance: int = 1) -> list[str]:
    """The disagreements at seen syncs that are not one-sync shifts (`compare`)."""
    return compare(syncs, tolerance=tolerance)[0]


__all__ = [
    "ReplayedSync",
    "compare",
    "controller_clock",
    "differences",
    "lags",
    "replay",
    "sync_period",
]
