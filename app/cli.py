"""The `kprep` command line.

stdout carries results (reports, tables, JSON); stderr carries diagnostics.
Exit codes are `app.exitcodes.ExitCode`. Subcommand groups live in their own
modules and are imported only when invoked, so `kprep check` never loads
Textual (a test asserts it) or the Kubernetes client.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from app.cli_common import course_from, fail_usage
from app.exitcodes import ExitCode

_LAZY: dict[str, str] = {
    "autoscale": "app.cli_autoscale:autoscale",
    "cluster": "app.cli_cluster:cluster",
    "practice": "app.cli_app:practice",
    "lesson": "app.cli_app:lesson",
    "progress": "app.cli_app:progress",
    "reset": "app.cli_app:reset",
    "interview": "app.cli_app:interview",
    "review": "app.cli_app:review",
}
_LAZY_HELP: dict[str, str] = {
    "autoscale": "Watch an answer's HPA scale under a load (simulated, or --live).",
    "cluster": "Start, stop and inspect the local cluster with fake GPU nodes.",
    "practice": "Open a scenario in the terminal app.",
    "lesson": "Open a track's lesson in the terminal app.",
    "progress": "Print your progress.",
    "reset": "Restore a scenario's starter in your workspace.",
    "interview": "A timed mock interview with a scorecard.",
    "review": "Review the concepts due today.",
}


class LazyGroup(click.Group):
    """A group whose heavier subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY:
            module_name, attr = _LAZY[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in _LAZY:
                rows.append((name, _LAZY_HELP[name]))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(60)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--course",
    "course",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="KPREP_COURSE",
    help="Course folder (default: the bundled course). Env: KPREP_COURSE.",
)
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="KPREP_WORKSPACE",
    help="Folder for your drafts (default: under the user data folder). Env: KPREP_WORKSPACE.",
)
@click.version_option(package_name="kprep", prog_name="kprep")
@click.pass_context
def main_group(ctx: click.Context, course: Path | None, workspace: Path | None) -> None:
    """kprep: practise Kubernetes-for-ML interview questions.

    Run without a command to open the terminal app.
    """
    ctx.ensure_object(dict)
    ctx.obj["course"] = course
    ctx.obj["workspace"] = workspace
    if course is not None:
        os.environ["KPREP_COURSE"] = str(course)
    if ctx.invoked_subcommand is None:
        from app.cli_app import open_home

        ctx.invoke(open_home)


@main_group.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--scenario",
    "-s",
    "scenario_id",
    required=True,
    help="Scenario id to grade against (see `kprep scenarios list`).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="json prints one report per line.",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the JSON-lines report to FILE.",
)
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the JUnit XML report to FILE (CI gets both in one run).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Also run the answer on the local cluster (`kprep cluster up` first).",
)
@click.option("--keep", is_flag=True, help="With --live: keep the namespace for inspection.")
@click.option(
    "--context",
    "kube_context",
    help="With --live and --allow-foreign-cluster: a "
    "kubeconfig context to use instead of kprep's own cluster.",
)
@click.option(
    "--allow-foreign-cluster",
    is_flag=True,
    help="Allow --context to point at a cluster kprep did not create.",
)
@click.pass_context
def check(
    ctx: click.Context,
    files: tuple[Path, ...],
    scenario_id: str,
    fmt: str,
    json_file: Path | None,
    junit_file: Path | None,
    live: bool,
    keep: bool,
    kube_context: str | None,
    allow_foreign_cluster: bool,
) -> None:
    """Grade answer FILES against a scenario.

    Exit status: 0 every check passes, 1 the answer falls short, 2 usage error,
    3 the live cluster is unavailable (the offline verdict is still printed).
    """
    from app.course.loader import CourseError
    from app.grading.engine import Grader
    from app.grading.render import write_report_files
    from app.grading.report import Diagnostic, Report

    if kube_context and not allow_foreign_cluster:
        fail_usage(
            "--context needs --allow-foreign-cluster: kprep only uses its own cluster "
            "unless you say otherwise"
        )
    if (keep or kube_context) and not live:
        fail_usage("--keep and --context only make sense with --live")
    course = course_from(ctx)
    try:
        scenario = course.scenario(scenario_id)
    except KeyError:
        known = ", ".join(course.scenario_ids()) or "none"
        fail_usage(f"unknown scenario {scenario_id!r} (known: {known})")
    except CourseError as exc:
        fail_usage(f"scenario {scenario_id!r} is invalid: {exc}")
    grader = Grader(scenario, crd_dir=course.crd_dir)
    reports: list[Report] = []
    usage_problem = False
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            usage_problem = True
            click.echo(f"kprep: {path}: cannot read: {exc.strerror or exc}", err=True)
            report = Report(scenario=scenario.id, file=str(path), max_score=scenario.max_score)
            report.errors.append(Diagnostic(f"cannot read file: {exc.strerror or exc}", "yaml"))
            reports.append(report)
            continue
        reports.append(grader.grade_bytes(raw, str(path)))
    exit_code = ExitCode.OK
    if live:
        from app.live.attempt import run_live_checks

        reports, cluster_failed = run_live_checks(
            course,
            scenario,
            grader,
            reports,
            files,
            keep=keep,
            context=kube_context,
            echo=lambda message: click.echo(message, err=True),
        )
        if cluster_failed:
            exit_code = ExitCode.CLUSTER
    _print_reports(reports, fmt)
    for problem in write_report_files(reports, json_path=json_file, junit_path=junit_file):
        usage_problem = True
        click.echo(f"kprep: {problem}", err=True)
    if usage_problem:
        sys.exit(ExitCode.USAGE)
    if exit_code == ExitCode.CLUSTER:
        sys.exit(exit_code)
    sys.exit(ExitCode.OK if all(r.passed for r in reports) else ExitCode.FAILED)


def _print_reports(reports: list[Any], fmt: str) -> None:
    from app.grading import render

    if fmt == "json":
        render.render_json(reports, sys.stdout)
    elif fmt == "junit":
        render.render_junit(reports, sys.stdout)
    else:
        from rich.console import Console

        render.render_text(reports, Console(soft_wrap=True))


@main_group.group()
def scenarios() -> None:
    """List, lint and scaffold scenarios."""


@scenarios.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def scenarios_list(ctx: click.Context, fmt: str) -> None:
    """List the course's scenarios by track."""
    import json

    course = course_from(ctx)
    found, errors = course.load_all()
    if fmt == "json":
        for s in found:
            click.echo(
                json.dumps(
                    {
                        "id": s.id,
                        "title": s.title,
                        "track": s.track,
                        "difficulty": s.difficulty,
                        "checks": len(s.checks),
                        "live_checks": len(s.live_checks),
                        "max_score": s.max_score,
                    }
                )
            )
    else:
        from rich import box
        from rich.console import Console
        from rich.table import Table

        table = Table(title="kprep scenarios", box=box.SIMPLE_HEAD)
        # Ids are what `kprep practice` takes: never cut; the title wraps instead.
        table.add_column("id", no_wrap=True, min_width=max((len(s.id) for s in found), default=2))
        table.add_column("level", no_wrap=True)
        table.add_column("checks", no_wrap=True)
        table.add_column("title", ratio=1)
        for track in dict.fromkeys(s.track for s in found):
            if table.row_count:
                table.add_section()
            table.add_row(f"[bold]{track}[/]", "", "", "")
            for s in (s for s in found if s.track == track):
                live = f" +{len(s.live_checks)} live" if s.live_checks else ""
                table.add_row(s.id, s.difficulty, f"{len(s.checks)}{live}", s.title)
        Console().print(table)
    for error in errors:
        click.echo(f"kprep: {error}", err=True)
    if errors:
        sys.exit(ExitCode.FAILED)


@scenarios.command("lint")
@click.option(
    "--course",
    "lint_course_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Course folder to lint (default: the global --course or the bundled one).",
)
@click.pass_context
def scenarios_lint(ctx: click.Context, lint_course_dir: Path | None) -> None:
    """Check every scenario: schema, CEL, lesson links, reference answers, wrong answers."""
    from app.authoring.lint import lint_course

    if lint_course_dir is not None:
        ctx.obj["course"] = lint_course_dir
    course = course_from(ctx)
    result = lint_course(course)
    for problem in result.problems:
        click.echo(str(problem))
    count = len(result.scenarios)
    if result.ok:
        click.echo(f"lint: {count} scenario(s) OK in {course.root}")
        return
    click.echo(f"lint: {len(result.problems)} problem(s) in {count} scenario(s)", err=True)
    sys.exit(ExitCode.FAILED)


@scenarios.command("new")
@click.argument("scenario_id")
@click.option("--track", required=True, help="A track id from the course's course.yaml.")
@click.pass_context
def scenarios_new(ctx: click.Context, scenario_id: str, track: str) -> None:
    """Scaffold scenarios/ID and answers/ID; lint flags them until they are filled in."""
    import re

    from app.authoring.scaffold import scaffold
    from app.course.loader import CourseError

    if not re.match(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$", scenario_id):
        fail_usage(f"{scenario_id!r}: ids are lowercase letters, digits and '-', 3-64 chars")
    course = course_from(ctx)
    try:
        tracks = course.catalog.track_ids
    except CourseError as exc:
        fail_usage(str(exc))
    if track not in tracks:
        fail_usage(f"unknown track {track!r} (course.yaml lists: {', '.join(tracks)})")
    if (course.scenarios_dir / scenario_id).exists():
        fail_usage(f"scenario {scenario_id!r} already exists")
    for path in scaffold(course.root, scenario_id, track):
        click.echo(f"created {path}")
    click.echo("next: fill in the TODOs, then run `kprep scenarios lint`")


def main() -> None:
    """Console-script entry point."""
    try:
        main_group(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("kprep: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    main()
