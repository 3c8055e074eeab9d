"""Reading what the real HPA controller reported into the run's contract.

This module owns the translation from the API objects a live run reads (the
HorizontalPodAutoscaler's `status`, its Events) to the simulator's vocabulary
(`TimelinePoint` metrics keyed like `MetricReading.key`, conditions as type ->
reason, `RunEvent`), so the two modes fill the same JSON with the same meaning.
Pure: plain mappings in, dataclasses out; times are converted by the caller's
clock (seconds since the run started, on the lab clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.autoscale.timeline import RunEvent
from app.k8s.quantity import QuantityError, parse_quantity

_SOURCE_MEMBER = {
    "Resource": "resource",
    "ContainerResource": "containerResource",
    "Pods": "pods",
    "Object": "object",
    "External": "external",
}


def _number(raw: object) -> float | None:
    if raw is None:
        return None
    try:
        return float(parse_quantity(raw))
    except QuantityError:
        return None


def metrics_from_status(status: Mapping[str, Any]) -> dict[str, float]:
    """`status.currentMetrics` as metric key -> current value: a percentage for a
    Utilization target (`averageUtilization`), else the (average) value, as the
    simulator's `MetricReading.value`."""
    values: dict[str, float] = {}
    for entry in status.get("currentMetrics") or []:
        if not isinstance(entry, Mapping):
            continue
        member = _SOURCE_MEMBER.get(str(entry.get("type")))
        source = entry.get(member) if member else None
        if not isinstance(source, Mapping):
            continue
        current = source.get("current") or {}
        if entry["type"] in ("Resource", "ContainerResource"):
            key = str(source.get("name", ""))
            if entry["type"] == "ContainerResource":
                key = f"{key}/{source.get('container', '')}"
            value = current.get("averageUtilization")
            number = float(value) if isinstance(value, int | float) else None
            if number is None:
                number = _number(current.get("averageValue"))
        else:
            key = str((source.get("metric") or {}).get("name", ""))
            number = _number(current.get("averageValue"))
            if number is None:
                number = _number(current.get("value"))
        if key and number is not None:
            values[key] = number
    return values


def conditions_from_status(status: Mapping[str, Any]) -> dict[str, str]:
    """`status.conditions` as condition type -> reason (AbleToScale, ScalingActive,
    ScalingLimited), as the simulator reports them."""
    return {
        str(c["type"]): str(c.get("reason", ""))
        for c in status.get("conditions") or []
        if isinstance(c, Mapping) and c.get("type")
    }


def parse_time(raw: object) -> float | None:
    """An RFC 3339 timestamp (`2026-05-01T10:00:00Z`, microseconds allowed) as POSIX seconds."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def event_times(event: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """When a core/v1 Event first and last happened (POSIX seconds): `eventTime` or
    `firstTimestamp`, and `lastTimestamp` (events.k8s.io series) or the first."""
    first = parse_time(event.get("eventTime")) or parse_time(event.get("firstTimestamp"))
    series = event.get("series") if isinstance(event.get("series"), Mapping) else None
    last = parse_time(event.get("lastTimestamp"))
    if series is not None:
        last = parse_time(series.get("lastObservedTime")) or last
    return first, last or first


def run_event(event: Mapping[str, Any], t: float, last_t: float | None) -> RunEvent:
    """A core/v1 Event of the HPA as a `RunEvent` at answer time `t` (repeats counted)."""
    count = event.get("count")
    if isinstance(event.get("series"), Mapping):
        count = event["series"].get("count", count)
    repeats = int(count) if isinstance(count, int) and count > 0 else 1
    return RunEvent(
        t,
        str(event.get("type", "")),
        str(event.get("reason", "")),
        str(event.get("message", "")),
        repeats,
        last_t if repeats > 1 else None,
    )


__all__ = [
    "conditions_from_status",
    "event_times",
    "metrics_from_status",
    "parse_time",
    "run_event",
]
