"""What an autoscaling run recorded, and the summary every run is judged by.

This module owns the JSON contract of `kprep autoscale` (issue 13, item 2), shared
by the simulator and the live runner so both report the same fields with the same
meaning: `AutoscaleRun` (timeline at the controller's sync times, events, summary)
and `summarize`, which computes the summary from a run's samples.

All times are in the answer's own seconds: a live or simulated run in compressed
lab time multiplies its clock by `timeScale` before it builds these objects.

Summary definitions (each from `samples`, a series taken at a fixed interval;
each sample stands for the interval up to the next one):

- `peakReplicas`: the largest replica count (the Deployment's spec.replicas).
- `secondsToScaleUp`: from the load's first rise (the first sample whose load is
  above the first sample's) to the first sample at which the *ready* replicas
  carry the profile's peak load (ready x per-replica capacity >= peak). None when
  the load never rises or the peak is never carried.
- `secondsToScaleDown`: from the load's drop (the first sample after the peak is
  first reached whose load is below the peak) to the first sample from which the
  replica count stays at its final value, the count the lower load ends up with.
  None when the load never drops or the count does not go down after the drop.
- `timeAtMax`: seconds at maxReplicas.
- `unmetLoadSeconds`: seconds in which the load exceeded ready replicas x
  per-replica capacity. Ready replicas, not spec.replicas: a replica that is
  still loading its model carries nothing.
- `loadRiseAt`, `loadDropAt`: when the load first rose and when it dropped, as
  the two durations above count them (None when it never did), so checks can
  measure from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(frozen=True)
class TimelinePoint:
    """One sync of the HPA controller."""

    t: float
    load: float
    metrics: Mapping[str, float]
    """Metric key -> current value, as the HPA's status.currentMetrics shows it."""
    desired_replicas: int
    """status.desiredReplicas after the sync."""
    replicas: int
    """status.currentReplicas: the Deployment's spec.replicas when the sync read it."""
    ready_replicas: int
    conditions: Mapping[str, str] = field(default_factory=dict)
    """HPA condition type -> reason (AbleToScale, ScalingActive, ScalingLimited)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "t": _number(self.t),
            "load": _number(self.load),
            "metrics": {k: _number(v) for k, v in self.metrics.items()},
            "desiredReplicas": self.desired_replicas,
            "replicas": self.replicas,
            "readyReplicas": self.ready_replicas,
            "conditions": dict(self.conditions),
        }


@dataclass(frozen=True)
class RunEvent:
    """An event the HPA controller recorded; consecutive repeats are folded into one."""

    t: float
    type: str
    reason: str
    message: str
    count: int = 1
    last_t: float | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t": _number(self.t),
            "type": self.type,
            "reason": self.reason,
            "message": self.message,
        }
        if self.count > 1:
            out["count"] = self.count
            out["lastT"] = _number(self.last_t if self.last_t is not None else self.t)
        return out


def fold_event(events: list[RunEvent], new: RunEvent) -> None:
    """Append `new`, or count it on the last event when it repeats it (as the
    API server's event correlator counts repeats)."""
    if events:
        last = events[-1]
        if (last.type, last.reason, last.message) == (new.type, new.reason, new.message):
            events[-1] = RunEvent(
                last.t, last.type, last.reason, last.message, last.count + 1, new.t
            )
            return
    events.append(new)


class Sample(NamedTuple):
    """The state of the run at one instant, for the summary and the chart (a tuple:
    a run makes one per second)."""

    t: float
    load: float
    replicas: int
    ready_replicas: int


@dataclass(frozen=True)
class Summary:
    peak_replicas: int
    seconds_to_scale_up: float | None
    seconds_to_scale_down: float | None
    time_at_max: float
    unmet_load_seconds: float
    load_rise_at: float | None = None
    load_drop_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "peakReplicas": self.peak_replicas,
            "secondsToScaleUp": _number(self.seconds_to_scale_up),
            "secondsToScaleDown": _number(self.seconds_to_scale_down),
            "timeAtMax": _number(self.time_at_max),
            "unmetLoadSeconds": _number(self.unmet_load_seconds),
            "loadRiseAt": _number(self.load_rise_at),
            "loadDropAt": _number(self.load_drop_at),
        }


def summarize(samples: Sequence[Sample], capacity: float, max_replicas: int) -> Summary:
    """The summary of a run (definitions in the module docstring)."""
    if not samples:
        return Summary(0, None, None, 0.0, 0.0)
    durations = [b.t - a.t for a, b in zip(samples, samples[1:], strict=False)] + [0.0]
    peak_replicas = max(s.replicas for s in samples)
    time_at_max = sum(
        d for s, d in zip(samples, durations, strict=True) if s.replicas == max_replicas
    )
    unmet = sum(
        d for s, d in zip(samples, durations, strict=True) if s.load > s.ready_replicas * capacity
    )
    peak_load = max(s.load for s in samples)

    to_scale_up = None
    rise = next((s for s in samples if s.load > samples[0].load), None)
    if rise is not None:
        carried = next(
            (s for s in samples if s.t >= rise.t and s.ready_replicas * capacity >= peak_load),
            None,
        )
        if carried is not None:
            to_scale_up = carried.t - rise.t

    to_scale_down = None
    peak_index = next(i for i, s in enumerate(samples) if s.load == peak_load)
    drop = next((s for s in samples[peak_index:] if s.load < peak_load), None)
    if drop is not None:
        final = samples[-1].replicas
        settle = len(samples) - 1
        while settle > 0 and samples[settle - 1].replicas == final:
            settle -= 1
        if final < drop.replicas and samples[settle].t >= drop.t:
            to_scale_down = samples[settle].t - drop.t
    return Summary(
        peak_replicas,
        to_scale_up,
        to_scale_down,
        time_at_max,
        unmet,
        rise.t if rise is not None else None,
        drop.t if drop is not None else None,
    )


@dataclass(frozen=True)
class LiveObservations:
    """What a live run saw, on its lab clock (seconds since the load began), each
    series as (time, values...) entries written whenever the values changed."""

    syncs: tuple[tuple[float, int, int], ...]
    """(t, status.currentReplicas, status.desiredReplicas) at each status change:
    a sync of the real controller that changed something."""
    served: tuple[tuple[float, float, int], ...]
    """(t, load, ready pods given values) each time the adapter's values were written."""
    pods: tuple[tuple[float, int, int, int], ...]
    """(t, pods, running, ready) of the target's pods (deleting ones left out)."""
    spec: tuple[tuple[float, int], ...]
    """(t, the Deployment's spec.replicas)."""


@dataclass(frozen=True)
class AutoscaleRun:
    """One run of an answer's HPA against a load profile, simulated or live."""

    scenario: str
    file: str
    mode: str
    """`simulated` or `live`."""
    load_profile: str
    time_scale: float
    timeline: tuple[TimelinePoint, ...]
    events: tuple[RunEvent, ...]
    summary: Summary
    capacity: float
    """Load one ready replica carries (the scenario's per-replica capacity)."""
    unit: str
    min_replicas: int
    max_replicas: int
    samples: tuple[Sample, ...] = ()
    """The dense series the summary and the chart come from (not in the JSON)."""
    observations: LiveObservations | None = None
    """Live runs: what the controller was given and what it decided, for the
    differential test's replay (not in the JSON)."""

    def as_json(self) -> dict[str, Any]:
        """The JSON contract of issue 13 item 2 (plus `readyReplicas` and `conditions`
        per timeline entry, and the run's capacity and replica bounds)."""
        return {
            "scenario": self.scenario,
            "file": self.file,
            "mode": self.mode,
            "loadProfile": self.load_profile,
            "timeScale": _number(self.time_scale),
            "capacityPerReplica": _number(self.capacity),
            "unit": self.unit,
            "minReplicas": self.min_replicas,
            "maxReplicas": self.max_replicas,
            "timeline": [point.as_json() for point in self.timeline],
            "events": [event.as_json() for event in self.events],
            "summary": self.summary.as_json(),
        }


def _number(value: float | None) -> float | int | None:
    """Whole numbers as ints, others rounded to milli-units (what the metrics APIs carry)."""
    if value is None:
        return None
    if float(value).is_integer():
        return int(value)
    return round(float(value), 3)


__all__ = [
    "AutoscaleRun",
    "LiveObservations",
    "RunEvent",
    "Sample",
    "Summary",
    "TimelinePoint",
    "fold_event",
    "summarize",
]
