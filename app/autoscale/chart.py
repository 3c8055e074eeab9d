"""The autoscaling chart: replicas and load over time, as one rich renderable.

This module owns how a run looks in a terminal, for the CLI's text output and
(wrapped in a widget) the terminal app. Load is drawn in replica units (load ÷
per-replica capacity) so the area and the lines share one axis: wherever the
load area rises above the *ready* line, load went unmet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text

from app.autoscale.timeline import AutoscaleRun, Sample

_EIGHTHS = " ▁▂▃▄▅▆▇█"
REPLICAS_STYLE = Style(color="magenta", bold=True)
READY_STYLE = Style(color="green")
LOAD_COLOR = "yellow"
MAX_STYLE = Style(color="red", dim=True)
AXIS_STYLE = Style(dim=True)


@dataclass(frozen=True)
class _Column:
    load_level: float
    replicas_level: float
    ready_level: float


class AutoscaleChart:
    """Replicas (spec), ready replicas and load against time for one run."""

    def __init__(self, run: AutoscaleRun, *, height: int = 12, title: str | None = None):
        self.run = run
        self.height = max(4, height)
        self.title = title

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(40, options.max_width)

    def _series(self) -> Sequence[Sample]:
        if self.run.samples:
            return self.run.samples
        return [
            Sample(p.t, p.load, p.desired_replicas, p.ready_replicas) for p in self.run.timeline
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        run = self.run
        series = self._series()
        title = self.title or (
            f"{run.load_profile} · {run.mode}"
            + (f" · timeScale {run.time_scale:g}" if run.time_scale != 1 else "")
        )
        yield Text(title, style="bold")
        if not series:
            yield Text("(no samples)", style=AXIS_STYLE)
            return
        capacity = run.capacity if run.capacity > 0 else 1.0
        peak_load_replicas = max(s.load for s in series) / capacity
        top = max(
            run.max_replicas, max(s.replicas for s in series), math.ceil(peak_load_replicas), 1
        )
        top_label = str(top)
        load_top = _short(top * capacity)
        left = len(top_label) + 1
        right = len(load_top) + 1
        width = max(10, options.max_width - left - right - 1)
        unit = top / self.height
        columns = _bucket(series, width, capacity, unit)
        max_row = _row_of(run.max_replicas / unit, self.height)

        for row in range(self.height - 1, -1, -1):
            line = Text()
            label = top_label if row == self.height - 1 else ("0" if row == 0 else "")
            line.append(
                label.rjust(left - 1) + "┤" if label else " " * (left - 1) + "│", AXIS_STYLE
            )
            for column in columns:
                line.append(*_cell(column, row, max_row, self.height))
            right_label = load_top if row == self.height - 1 else ("0" if row == 0 else "")
            line.append(" " + right_label, AXIS_STYLE)
            yield line

        axis = Text(" " * (left - 1) + "└" + "─" * len(columns), AXIS_STYLE)
        yield axis
        start, end = series[0].t, series[-1].t
        labels = Text(" " * left, AXIS_STYLE)
        first, middle, last = _clock(start), _clock((start + end) / 2), _clock(end)
        gap = len(columns) - len(first) - len(middle) - len(last)
        labels.append(
            first + " " * (gap // 2) + middle + " " * (gap - gap // 2) + last
            if gap >= 2
            else first.ljust(len(columns) - len(last)) + last,
            AXIS_STYLE,
        )
        yield labels
        items = [
            ("━ replicas", REPLICAS_STYLE),
            ("─ ready", READY_STYLE),
            (f"█ load ÷ {_short(capacity)} {run.unit} per replica", Style(color=LOAD_COLOR)),
            (f"┄ maxReplicas {run.max_replicas}", MAX_STYLE),
        ]
        legend = Text(" " * left)
        for text, style in items:
            if legend.cell_len > left and legend.cell_len + 2 + len(text) > options.max_width:
                yield legend
                legend = Text(" " * left)
            if legend.cell_len > left:
                legend.append("  ")
            legend.append(text, style)
        yield legend


def _bucket(series: Sequence[Sample], width: int, capacity: float, unit: float) -> list[_Column]:
    """Fold the samples into at most `width` columns: the highest load of each (so a
    short spike stays visible), and the replica counts at the column's end."""
    start, span = series[0].t, series[-1].t - series[0].t
    count = max(1, min(width, len(series)))
    peaks: list[float | None] = [None] * count
    lasts: list[Sample | None] = [None] * count
    for sample in series:
        index = count - 1 if span <= 0 else min(count - 1, int((sample.t - start) / span * count))
        peak = peaks[index]
        peaks[index] = sample.load if peak is None else max(peak, sample.load)
        lasts[index] = sample
    columns = []
    previous = series[0]
    for peak, last in zip(peaks, lasts, strict=True):
        last = last or previous  # a column no sample fell in continues the previous one
        load = peak if peak is not None else last.load
        columns.append(
            _Column(load / capacity / unit, last.replicas / unit, last.ready_replicas / unit)
        )
        previous = last
    return columns


def _row_of(level: float, height: int) -> int:
    """The row a line at `level` (in rows) is drawn in: the row whose top it reaches."""
    return min(height - 1, max(0, math.ceil(level - 1e-9) - 1))


def _cell(column: _Column, row: int, max_row: int, height: int) -> tuple[str, Style]:
    fill = column.load_level - row
    area_full = fill >= 1
    area_char = "█" if area_full else _EIGHTHS[max(0, min(8, round(fill * 8)))]
    under_area = Style(bgcolor=LOAD_COLOR) if area_full else Style()
    if _row_of(column.replicas_level, height) == row and column.replicas_level > 0:
        return "━", REPLICAS_STYLE + under_area
    if _row_of(column.ready_level, height) == row and column.ready_level > 0:
        return "─", READY_STYLE + under_area
    if area_char != " ":
        return area_char, Style(color=LOAD_COLOR)
    if row == max_row:
        return "┄", MAX_STYLE
    return " ", Style()


def _short(value: float) -> str:
    """1250 -> 1.25k, 10000 -> 10k, 800 -> 800."""
    if value >= 1000:
        return f"{value / 1000:.3g}k"
    return f"{value:.3g}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def summary_lines(run: AutoscaleRun) -> Iterable[str]:
    """The summary in words, for the CLI's text output under the chart."""
    summary = run.summary
    yield f"peak replicas      {summary.peak_replicas} (maxReplicas {run.max_replicas})"
    series = run.samples or run.timeline
    rose = any(point.load > series[0].load for point in series) if series else False
    if summary.seconds_to_scale_up is not None:
        up = (
            f"{summary.seconds_to_scale_up:g} s from the load's rise until ready replicas "
            "carry its peak"
        )
    elif rose:
        up = "ready replicas never carried the peak load"
    else:
        up = "the load never rose"
    yield f"scale-up           {up}"
    yield "scale-down         " + (
        f"{summary.seconds_to_scale_down:g} s from the load's drop until the count settled"
        if summary.seconds_to_scale_down is not None
        else "no scale-down after the load dropped"
    )
    yield f"time at max        {summary.time_at_max:g} s"
    yield f"load unmet         {summary.unmet_load_seconds:g} s (load above ready x capacity)"


__all__ = ["AutoscaleChart", "summary_lines"]
