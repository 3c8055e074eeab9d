"""Load profiles: how much traffic arrives, second by second, during an autoscaling run.

This module owns the profile shape (`LoadProfile`: points joined by straight
lines), the built-in profiles (`spike`, `ramp`, `diurnal`, `drop`, sized by the
scenario's peak and baseline), reading a `t,load` file with every bad row
reported as `file:line: reason`, and compressing a profile into lab time.

A profile starts at t = 0 and lasts until its last point. Between two points the
load changes linearly; two points at the same t make a step (the second value
holds from that instant). After the last point the load stays at its last value.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.autoscale.hpa import lab_seconds

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_POINTS = 100_000
MAX_DURATION_SECONDS = 24 * 3600
"""A day: the longest profile the simulator and the live runner accept."""
MAX_REPORTED_ERRORS = 20
DEFAULT_DURATION_SECONDS = 1800


class LoadFileError(ValueError):
    """A profile cannot be used. `messages` are `file:line: reason` lines."""

    def __init__(self, messages: Iterable[str]):
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


@dataclass(frozen=True)
class LoadProfile:
    """Load over time, as straight segments between points."""

    name: str
    """A built-in's name or the file it came from."""
    points: tuple[tuple[float, float], ...]
    """(t seconds, load), t starting at 0 and never decreasing."""
    unit: str = "req/s"

    def __post_init__(self) -> None:
        if not self.points or self.points[0][0] != 0:
            raise ValueError("a load profile starts with a point at t = 0")
        times = [t for t, _ in self.points]
        if any(b < a for a, b in zip(times, times[1:], strict=False)):
            raise ValueError("load profile times must not decrease")
        object.__setattr__(self, "_times", times)

    @property
    def duration(self) -> float:
        return self.points[-1][0]

    @property
    def peak(self) -> float:
        return max(load for _, load in self.points)

    def at(self, t: float) -> float:
        """The load at time t (the later point of a step, at the step's instant)."""
        times: list[float] = self._times  # type: ignore[attr-defined]
        index = bisect.bisect_right(times, t)
        if index == 0:
            return self.points[0][1]
        if index >= len(self.points):
            return self.points[-1][1]
        t0, load0 = self.points[index - 1]
        t1, load1 = self.points[index]
        if t1 == t0:
            return load1
        return load0 + (load1 - load0) * (t - t0) / (t1 - t0)

    def every_second(self, seconds: int) -> list[float]:
        """`at(0)`, `at(1)`, ... `at(seconds)` in one walk over the points."""
        values = []
        index = 0
        points = self.points
        last = len(points) - 1
        for second in range(seconds + 1):
            while index < last and points[index + 1][0] <= second:
                index += 1
            if index == last:
                values.append(points[last][1])
                continue
            (t0, load0), (t1, load1) = points[index], points[index + 1]
            values.append(load0 + (load1 - load0) * (second - t0) / (t1 - t0))
        return values

    def scaled(self, time_scale: float) -> LoadProfile:
        """The profile in lab time: each segment's duration divided by `time_scale`,
        rounded half up, at least 1 s (a step stays a step). `time_scale` 1 is the
        profile itself."""
        if time_scale == 1:
            return self
        points = [self.points[0]]
        lab_t = 0
        for (t0, _), (t1, load1) in zip(self.points, self.points[1:], strict=False):
            lab_t += lab_seconds(t1 - t0, time_scale)
            points.append((float(lab_t), load1))
        return LoadProfile(f"{self.name} (1/{time_scale:g} time)", tuple(points), self.unit)


# --- built-ins ---------------------------------------------------------------------

BUILTIN_PROFILES = ("spike", "ramp", "diurnal", "drop")


def builtin_profile(
    name: str,
    *,
    peak: float,
    baseline: float,
    duration: float = DEFAULT_DURATION_SECONDS,
    unit: str = "req/s",
) -> LoadProfile:
    """A built-in profile between `baseline` and `peak`, lasting `duration` seconds.

    - `spike`: baseline, an instant jump to the peak at 1/30 of the run (60 s of
      30 min), the peak held for 1/6 (5 min), an instant fall back to baseline.
    - `ramp`: baseline, a straight climb to the peak over 1/3 of the run (10 min),
      held for 1/6, a straight descent over 1/6, then baseline.
    - `diurnal`: a day's shape compressed into the run: a cosine from the trough
      (baseline) at the start to the peak halfway and back.
    - `drop`: the peak, an instant fall to baseline at 1/6 of the run (5 min).
    """
    if name not in BUILTIN_PROFILES:
        raise LoadFileError(
            [f"{name}: not a built-in load profile (built-ins: {', '.join(BUILTIN_PROFILES)})"]
        )
    problems = []
    if not (math.isfinite(peak) and math.isfinite(baseline)) or baseline < 0:
        problems.append(f"{name}: baseline must be a finite number >= 0")
    elif peak <= baseline:
        problems.append(f"{name}: peak ({peak:g}) must be above baseline ({baseline:g})")
    if not math.isfinite(duration) or not 60 <= duration <= MAX_DURATION_SECONDS:
        problems.append(f"{name}: duration must be between 60 and {MAX_DURATION_SECONDS} s")
    if problems:
        raise LoadFileError(problems)

    def at(fraction: float) -> float:
        return round(duration * fraction)

    points: list[tuple[float, float]]
    if name == "spike":
        rise, fall = at(1 / 30), at(1 / 30 + 1 / 6)
        points = [(0, baseline), (rise, baseline), (rise, peak), (fall, peak), (fall, baseline)]
    elif name == "ramp":
        start, top, hold_end, bottom = at(1 / 30), at(1 / 30 + 1 / 3), at(0.5 + 1 / 30), at(0.7)
        points = [(0, baseline), (start, baseline), (top, peak), (hold_end, peak)]
        points.append((bottom, baseline))
    elif name == "diurnal":
        steps = max(2, int(duration // 30))
        points = [
            (
                round(duration * i / steps, 3),
                baseline + (peak - baseline) * (1 - math.cos(2 * math.pi * i / steps)) / 2,
            )
            for i in range(steps + 1)
        ]
    else:  # drop
        fall = at(1 / 6)
        points = [(0, peak), (fall, peak), (fall, baseline)]
    if points[-1][0] < duration:
        points.append((duration, points[-1][1]))
    return LoadProfile(name, tuple((float(t), float(v)) for t, v in points), unit)


# --- files -------------------------------------------------------------------------


def read_profile_file(path: Path | str, *, unit: str = "req/s") -> LoadProfile:
    """Read a `t,load` CSV: one point per line, t in seconds from the start of the
    run, load in the scenario's unit. An optional header line (`t,load`), blank
    lines and `#` comments are allowed. Raises `LoadFileError` naming every bad
    row as `file:line: reason` (up to 20)."""
    path = Path(path)
    label = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise LoadFileError([f"{label}: no such file"]) from None
    except OSError as exc:
        raise LoadFileError([f"{label}: cannot read: {exc.strerror or exc}"]) from None
    if not path.is_file():
        raise LoadFileError([f"{label}: not a file"])
    if size > MAX_FILE_BYTES:
        raise LoadFileError([f"{label}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"])
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadFileError([f"{label}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise LoadFileError([f"{label}: cannot read: {exc.strerror or exc}"]) from None
    return parse_profile_text(text, label, unit=unit)


def parse_profile_text(text: str, label: str, *, unit: str = "req/s") -> LoadProfile:
    """`read_profile_file` on text already read; `label` names it in messages."""
    errors: list[str] = []
    points: list[tuple[float, float]] = []
    point_lines: list[int] = []
    seen_data = False
    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if not seen_data and _is_header(fields):
            seen_data = True
            continue
        seen_data = True
        where = f"{label}:{line_number}"
        if len(fields) != 2:
            errors.append(f"{where}: expected 2 fields `t,load`, found {len(fields)}")
            continue
        t = _number(fields[0])
        load = _number(fields[1])
        if t is None:
            errors.append(f"{where}: t {fields[0]!r} is not a number of seconds")
            continue
        if load is None:
            errors.append(f"{where}: load {fields[1]!r} is not a number")
            continue
        if t < 0:
            errors.append(f"{where}: t {fields[0]} is negative")
            continue
        if load < 0:
            errors.append(f"{where}: load {fields[1]} is negative")
            continue
        if not points and t != 0:
            errors.append(
                f"{where}: the first point must be at t = 0 "
                "(times are seconds from the start of the run)"
            )
        if points and t < points[-1][0]:
            errors.append(
                f"{where}: t {fields[0]} comes before the previous point's "
                f"{points[-1][0]:g} (times must not decrease)"
            )
            continue
        if len(points) >= 2 and t == points[-1][0] == points[-2][0]:
            errors.append(f"{where}: a third point at t {fields[0]} (a step has two)")
            continue
        if t > MAX_DURATION_SECONDS:
            errors.append(f"{where}: t {fields[0]} is beyond 24 h ({MAX_DURATION_SECONDS} s)")
            continue
        points.append((t, load))
        point_lines.append(line_number)
        if len(points) > MAX_POINTS:
            errors.append(f"{where}: more than {MAX_POINTS} points")
            break
    if not errors:
        if not points:
            errors.append(f"{label}: no points (expected lines of `t,load`)")
        elif points[-1][0] <= 0:
            errors.append(f"{label}:{point_lines[-1]}: the profile lasts 0 s (add a later point)")
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > MAX_REPORTED_ERRORS:
            shown.append(f"{label}: ... and {len(errors) - MAX_REPORTED_ERRORS} more bad rows")
        raise LoadFileError(shown)
    return LoadProfile(label, tuple(points), unit)


def _is_header(fields: list[str]) -> bool:
    return len(fields) == 2 and all(_number(f) is None for f in fields)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def resolve_profile(
    spec: str,
    *,
    peak: float,
    baseline: float,
    duration: float = DEFAULT_DURATION_SECONDS,
    unit: str = "req/s",
) -> LoadProfile:
    """`--load PROFILE`: a built-in's name, else a `t,load` file."""
    if spec in BUILTIN_PROFILES:
        return builtin_profile(spec, peak=peak, baseline=baseline, duration=duration, unit=unit)
    path = Path(spec)
    if not path.exists():
        raise LoadFileError(
            [
                f"{spec}: not a built-in load profile ({', '.join(BUILTIN_PROFILES)}) "
                "and no such file"
            ]
        )
    return read_profile_file(path, unit=unit)


__all__ = [
    "BUILTIN_PROFILES",
    "LoadFileError",
    "LoadProfile",
    "builtin_profile",
    "parse_profile_text",
    "read_profile_file",
    "resolve_profile",
]
