"""Checks over an autoscaling run: CEL over what the HPA did, second by second.

A scenario's `autoscaleChecks` judge a run of `kprep autoscale`, simulated
(offline, instant) or live (the real controller on the local cluster). The run
arrives as its JSON contract (`AutoscaleRun.as_json()`), a plain mapping, so
both modes are graded by the same code and this module needs nothing from
`app.autoscale` or the cluster.

Variables a check sees (times in the answer's own seconds; times, loads and
metric values are doubles, replica counts ints, absent values null):

- `timeline`: one entry per controller sync: `{t, load, metrics: {name: value},
  desiredReplicas, replicas, readyReplicas, conditions: {type: reason}}`;
- `summary`: `{peakReplicas, secondsToScaleUp, secondsToScaleDown, timeAtMax,
  unmetLoadSeconds, loadRiseAt, loadDropAt}`;
- `rescales`: every sync that changed the count: `{t, from, to}`, oldest first;
- `events`: the controller's events `{t, type, reason, message, count}`;
- `run`: `{mode, loadProfile, timeScale, capacityPerReplica, minReplicas,
  maxReplicas}`;
- `objects`: the answer's documents, as written (a PodDisruptionBudget, say);
- `params`: the scenario's params.

A check judges runs of one built-in load (its `load`, else the scenario's
`autoscale.load`); under another load, or a load file, it is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.course.models import Check
from app.grading.celenv import CelCompileError, CelRuntimeError, Program, Scope, humanize
from app.grading.checks import field_line
from app.grading.report import CheckResult
from app.yamlmap import Document

LineOf = Callable[[str | None], int | None]
"""The answer's line for a check's `field` (in the HPA), or None."""


def _double(value: Any) -> float | None:
    return None if value is None else float(value)


def autoscale_variables(
    run: Mapping[str, Any],
    params: Mapping[str, Any],
    objects: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The CEL variables for one run (see the module docstring)."""
    timeline = [
        {
            "t": float(point["t"]),
            "load": float(point["load"]),
            "metrics": {k: float(v) for k, v in (point.get("metrics") or {}).items()},
            "desiredReplicas": int(point["desiredReplicas"]),
            "replicas": int(point["replicas"]),
            "readyReplicas": int(point.get("readyReplicas", point["replicas"])),
            "conditions": dict(point.get("conditions") or {}),
        }
        for point in run.get("timeline") or []
    ]
    # A rescale is read off the counts the syncs saw, not off desiredReplicas: when
    # metrics fail, status.desiredReplicas keeps its old value (0 on a new HPA)
    # while nothing is scaled.
    rescales = [
        {"t": before["t"], "from": before["replicas"], "to": after["replicas"]}
        for before, after in zip(timeline, timeline[1:], strict=False)
        if after["replicas"] != before["replicas"]
    ]
    summary = dict(run.get("summary") or {})
    for key in (
        "secondsToScaleUp",
        "secondsToScaleDown",
        "timeAtMax",
        "unmetLoadSeconds",
        "loadRiseAt",
        "loadDropAt",
    ):
        summary[key] = _double(summary.get(key))
    events = [
        {
            "t": float(e["t"]),
            "type": e.get("type", ""),
            "reason": e.get("reason", ""),
            "message": e.get("message", ""),
            "count": int(e.get("count", 1)),
        }
        for e in run.get("events") or []
    ]
    return {
        "timeline": timeline,
        "summary": summary,
        "rescales": rescales,
        "events": events,
        "run": {
            "mode": run.get("mode", ""),
            "loadProfile": run.get("loadProfile", ""),
            "timeScale": float(run.get("timeScale", 1)),
            "capacityPerReplica": float(run.get("capacityPerReplica", 0)),
            "minReplicas": int(run.get("minReplicas", 0)),
            "maxReplicas": int(run.get("maxReplicas", 0)),
        },
        "objects": [dict(o) for o in objects],
        "params": dict(params),
    }


class AutoscaleGrader:
    """Compiles a scenario's autoscale checks once; grades runs against them."""

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = list(checks)
        self.programs: dict[str, Program | None] = {}
        self.compile_errors: dict[str, str] = {}
        for check in self.checks:
            try:
                self.programs[check.id] = Program(check.expression)
            except CelCompileError as exc:
                self.programs[check.id] = None
                self.compile_errors[check.id] = str(exc)

    def for_load(self, load: str, default_load: str) -> list[Check]:
        """The checks that judge a run of the built-in profile `load`."""
        return [c for c in self.checks if (c.load or default_load) == load]

    def grade_run(
        self,
        run: Mapping[str, Any],
        params: Mapping[str, Any],
        *,
        builtin_load: str | None,
        default_load: str,
        documents: Sequence[Document] = (),
        hpa_index: int | None = None,
    ) -> list[CheckResult]:
        """Every check for one run: those of its load graded, the others skipped.

        `builtin_load` is the run's built-in profile (None for a load file);
        `documents` are the answer's, `hpa_index` the HPA's among them (for lines).
        """
        if builtin_load is None:
            return self.skipped(
                self.checks, "behaviour checks judge the scenario's built-in loads, not a file"
            )
        judged = self.for_load(builtin_load, default_load)
        hpa = documents[hpa_index] if hpa_index is not None else None
        results = self.grade(
            run,
            params,
            judged,
            (lambda path: field_line(hpa, path) if path else None) if hpa is not None else None,
            [d.data for d in documents if isinstance(d.data, Mapping)],
        )
        for check in self.checks:
            if check not in judged:
                results += self.skipped(
                    [check], f"judged under --load {check.load or default_load}"
                )
        return results

    def grade(
        self,
        run: Mapping[str, Any],
        params: Mapping[str, Any],
        checks: Sequence[Check],
        line_of: LineOf | None = None,
        objects: Sequence[Mapping[str, Any]] = (),
    ) -> list[CheckResult]:
        """Each of `checks` (compiled here) against one run's JSON."""
        scope = Scope(autoscale_variables(run, params, objects))
        results = []
        for check in checks:
            line = line_of(check.field) if line_of else None
            program = self.programs.get(check.id)
            if program is None:
                reason = self.compile_errors.get(check.id, "not one of this grader's checks")
                results.append(_result(check, "error", f"CEL does not compile: {reason}", line))
                continue
            try:
                value = program.evaluate_in(scope)
            except CelRuntimeError as exc:
                results.append(
                    _result(check, "error", f"{exc} (in `{check.expression.strip()}`)", line)
                )
                continue
            if value is True:
                results.append(_result(check, "pass", "", line))
            elif value is False:
                results.append(_result(check, "fail", check.message, line))
            else:
                results.append(
                    _result(
                        check,
                        "error",
                        f"the expression gave {humanize(value)}, not true or false",
                        line,
                    )
                )
        return results

    def skipped(self, checks: Sequence[Check], reason: str) -> list[CheckResult]:
        return [_result(check, "skip", reason, None) for check in checks]


def _result(check: Check, status: Any, message: str, line: int | None) -> CheckResult:
    return CheckResult(
        check.id,
        check.title,
        status,
        check.points if status == "pass" else 0,
        check.points,
        check.concept,
        message,
        line,
    )
