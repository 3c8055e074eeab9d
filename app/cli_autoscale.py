"""`kprep autoscale FILE --scenario ID`: watch an answer's HPA scale under a load.

Imported lazily by `app.cli`. Simulated by default (instant, exact to the
controller's algorithm); `--live` runs the real controller on the local cluster
in lab time. Text output is the chart, the summary and the scenario's behaviour
checks; `--format json` is issue 13's JSON contract plus `checks` and `notes`.

Exit status: 0 the run finished and every behaviour check passed; 1 the answer
falls short (YAML or HPA errors, a metric nobody serves, a failed check); 2
usage (unknown scenario, not an autoscaling scenario, bad flags, a bad load
file, an unreadable file); 3 the live cluster is missing or failed; 130 Ctrl-C.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from app.autoscale.load import LoadFileError
from app.autoscale.runs import RunRefused, decode_answer, prepare, simulate_run
from app.cli_common import course_from, fail_usage
from app.course.loader import CourseError
from app.exitcodes import ExitCode
from app.grading.autoscale_checks import AutoscaleGrader

if TYPE_CHECKING:
    from app.autoscale.runs import PreparedRun
    from app.autoscale.timeline import AutoscaleRun
    from app.course.models import Scenario
    from app.grading.report import CheckResult


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"kprep: {message}", err=True)
    sys.exit(code)


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--scenario",
    "-s",
    "scenario_id",
    required=True,
    help="An autoscaling scenario (one with an autoscale block in its scenario.yaml).",
)
@click.option(
    "--load",
    "load",
    metavar="PROFILE",
    help="spike, ramp, diurnal or drop (at the scenario's peak and baseline), or a file "
    "of `t,load` lines. Default: the scenario's.",
)
@click.option("--live", is_flag=True, help="Run the real HPA controller on the local cluster.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--time-scale",
    "time_scale",
    type=click.FloatRange(min=1),
    help="Divide every duration by K (at least 1 s each). Default: 1 simulated "
    "(exact); live, the cluster's factor (its controller-manager's flags are set for it "
    "at `kprep cluster up`).",
)
@click.pass_context
def autoscale(
    ctx: click.Context,
    file: Path,
    scenario_id: str,
    load: str | None,
    live: bool,
    fmt: str,
    time_scale: float | None,
) -> None:
    """Run an answer's HPA against a load and show what it does.

    Exit status: 0 every behaviour check passed, 1 the answer falls short, 2 usage
    error or bad load file, 3 the live cluster is unavailable.
    """
    course = course_from(ctx)
    try:
        scenario = course.scenario(scenario_id)
    except KeyError:
        known = ", ".join(course.scenario_ids()) or "none"
        fail_usage(f"unknown scenario {scenario_id!r} (known: {known})")
    except CourseError as exc:
        fail_usage(f"scenario {scenario_id!r} is invalid: {exc}")
    if scenario.autoscale is None:
        runnable = []
        for other in course.scenario_ids():
            try:
                if course.scenario(other).autoscale is not None:
                    runnable.append(other)
            except CourseError:
                continue
        fail_usage(
            f"scenario {scenario_id!r} has no autoscale block, so there is nothing to run "
            f"(autoscaling scenarios: {', '.join(runnable) or 'none'})"
        )
    try:
        raw = file.read_bytes()
    except OSError as exc:
        fail_usage(f"{file}: cannot read: {exc.strerror or exc}")
    try:
        prepared = prepare(scenario, decode_answer(raw, str(file)), str(file), load)
    except LoadFileError as exc:
        for message in exc.messages:
            click.echo(f"kprep: {message}", err=True)
        sys.exit(ExitCode.USAGE)
    except RunRefused as exc:
        for message in exc.messages:
            click.echo(f"kprep: {message}", err=True)
        sys.exit(ExitCode.USAGE if exc.culprit == "scenario" else ExitCode.FAILED)

    if live:
        run = _live_run(course, scenario, prepared, time_scale)
    else:
        try:
            run = simulate_run(prepared, time_scale=time_scale or 1.0)
        except RunRefused as exc:
            for message in exc.messages:
                click.echo(f"kprep: {message}", err=True)
            sys.exit(ExitCode.FAILED)
    checks = _grade(scenario, prepared, run)
    if fmt == "json":
        data = run.as_json()
        data["checks"] = [c.to_json() for c in checks]
        data["notes"] = [*prepared.notes, *prepared.unserved]
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        _print_text(prepared, run, checks)
    failed = bool(prepared.unserved) or any(c.status in ("fail", "error") for c in checks)
    sys.exit(ExitCode.FAILED if failed else ExitCode.OK)


def _grade(scenario: Scenario, prepared: PreparedRun, run: AutoscaleRun) -> list[CheckResult]:
    """The scenario's behaviour checks for this run's load (others are skipped)."""
    if not scenario.autoscale_checks:
        return []
    return AutoscaleGrader(scenario.autoscale_checks).grade_run(
        run.as_json(),
        scenario.params,
        builtin_load=prepared.builtin_load,
        default_load=prepared.setup.load,
        documents=prepared.documents,
        hpa_index=prepared.hpa_index,
    )


def _print_text(prepared: PreparedRun, run: AutoscaleRun, checks: list[CheckResult]) -> None:
    # deferred: start-up cost, --format json never loads Rich
    from rich.console import Console
    from rich.markup import escape

    from app.autoscale.chart import AutoscaleChart, summary_lines

    console = Console(soft_wrap=True, highlight=False)
    console.print(AutoscaleChart(run))
    for line in summary_lines(run):
        console.print(escape(line))
    for note in prepared.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for message in prepared.unserved:
        console.print(f"[red]error:[/] {escape(message)}")
    style = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}
    for check in checks:
        where = prepared.file + (f":{check.line}" if check.line else "")
        detail = f": {escape(check.message)}" if check.message else ""
        console.print(
            f"[bold]{escape(where)}:[/] [{style[check.status]}]{check.status}[/] "
            f"[bold]{escape(check.id)}[/] {escape(check.title)}{detail}"
        )
    if checks:
        passed = sum(1 for c in checks if c.status == "pass")
        console.print(f"{passed}/{len(checks)} behaviour checks pass ({run.mode})")


def _live_run(
    course: Any, scenario: Scenario, prepared: PreparedRun, factor: float | None
) -> AutoscaleRun:
    """The run on the local cluster, its progress on stderr; exits 1 when the API
    server or kprep's rules refuse the answer, 3 when the cluster cannot run it,
    130 on Ctrl-C (the run's namespace and adapter values are removed first)."""
    # deferred: start-up cost, only --live loads the cluster code
    from app.cluster.errors import ClusterError
    from app.live.autoscale import LiveRunRefused, run_live
    from app.live.autoscale_loop import RunCancelled

    def progress(message: str) -> None:
        click.echo(f"kprep: {message}", err=True)

    try:
        run = run_live(course, scenario, prepared, time_scale=factor, echo=progress)
    except LiveRunRefused as exc:
        for message in exc.messages:
            click.echo(f"kprep: {message}", err=True)
        sys.exit(ExitCode.FAILED)
    except ClusterError as exc:
        _fail(str(exc), ExitCode.CLUSTER)
    except (KeyboardInterrupt, RunCancelled):
        _fail("the live run was cancelled; its namespace was deleted", ExitCode.INTERRUPTED)
    if run.time_scale != prepared.setup.time_scale:
        prepared.notes.append(
            f"the cluster runs the HPA controller in lab time at 1/{run.time_scale:g} (fixed "
            f"when it starts), not the scenario's 1/{prepared.setup.time_scale:g}: the run "
            "takes longer or shorter, and its times are scaled back all the same"
        )
    return run
