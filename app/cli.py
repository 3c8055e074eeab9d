"""The `kprep` command line.

stdout carries results (reports, tables, JSON); stderr carries diagnostics.
Exit codes are `app.exitcodes.ExitCode`. Subcommand groups live in their own
modules and are imported only when invoked, so `kprep check` never loads
Textual (a test asserts it) or the Kubernetes client.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from app import __version__
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
    "placement": "app.cli_placement:placement",
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
    "placement": "Where the workers landed: job -> Jobs -> pods, nodes, GPUs, rendezvous.",
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
@click.version_option(version=__version__, prog_name="kprep")
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
        from app.cli_app import open_home  # deferred: start-up cost, like _LAZY

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
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Worker processes grading several files (default: one per core).",
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
    jobs: int | None,
) -> None:
    """Grade answer FILES against a scenario (`-` reads standard input).

    Every file gets a report, in the order given. Exit status: 2 if any file
    could not be read (not a regular file, missing, usage_problems), else 3 if the
    live cluster was unavailable, else 1 if any answer falls short (a failure
    inside the grader counts), else 0.
    """
    # deferred: start-up cost, the grader (CEL, YAML) loads only for `kprep check`
    from app.course.loader import CourseError
    from app.grading.engine import Grader
    from app.grading.render import write_report_files

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
    usage_problems: list[str] = []
    graded = _grade_files(grader, files, jobs, usage_problems)
    exit_code = ExitCode.OK
    passed = True
    if live or fmt == "junit" or json_file or junit_file:
        reports = list(graded)
        if live:
            # deferred: start-up cost, only --live loads the Kubernetes client
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
        passed = all(r.passed for r in reports)
        for problem in write_report_files(reports, json_path=json_file, junit_path=junit_file):
            usage_problems.append(problem)
            click.echo(f"kprep: {problem}", err=True)
    else:
        # Streamed: a class's first reports appear while the rest are graded.
        for report in graded:
            _print_reports([report], fmt)
            passed = passed and report.passed
    if usage_problems:
        sys.exit(ExitCode.USAGE)
    if exit_code == ExitCode.CLUSTER:
        sys.exit(exit_code)
    sys.exit(ExitCode.OK if passed else ExitCode.FAILED)


def display_name(path: Path) -> str:
    """The path as given, printable whatever bytes its name holds."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _grade_files(
    grader: Any, files: Sequence[Path], jobs: int | None, unreadable: list[str]
) -> Iterator[Any]:
    """Reports for `files`, in order; a file that cannot be read gets a report saying so
    (and its name goes into `unreadable`)."""
    # deferred: start-up cost, only `kprep check` reads answers
    from app.grading.report import Diagnostic, Report
    from app.yamlmap import MAX_BYTES, UnreadableFile, read_regular_file

    scenario = grader.scenario

    def answers() -> Iterator[tuple[bytes | Report, str]]:
        for path in files:
            name = display_name(path)
            if str(path) == "-":  # standard input, read as far as the limit
                yield sys.stdin.buffer.read(MAX_BYTES + 1), "<stdin>"
                continue
            try:
                yield read_regular_file(path), name
            except UnreadableFile as exc:
                unreadable.append(name)
                click.echo(f"kprep: {name}: {exc}", err=True)
                report = Report(scenario=scenario.id, file=name, max_score=scenario.max_score)
                report.errors.append(Diagnostic(str(exc), "yaml"))
                yield report, name

    if len(files) == 1:
        content, name = next(answers())
        yield content if isinstance(content, Report) else grader.grade_bytes(content, name)
        return
    from app.grading.sandbox import default_jobs  # deferred: start-up cost (worker pool)

    yield from grader.grade_many(answers(), min(jobs or default_jobs(), len(files)))


def _print_reports(reports: list[Any], fmt: str) -> None:
    from app.grading import render  # deferred: start-up cost, only `kprep check` prints reports

    if fmt == "json":
        render.render_json(reports, sys.stdout)
    elif fmt == "junit":
        render.render_junit(reports, sys.stdout)
    else:
        from rich.console import Console  # deferred: start-up cost, Rich only for text

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
        # deferred: start-up cost, Rich loads only for a table
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
    from app.authoring.lint import lint_course  # deferred: start-up cost, lint loads the grader

    if lint_course_dir is not None:
        ctx.obj["course"] = lint_course_dir
    course = course_from(ctx)
    result = lint_course(course)
    for problem in result.problems:
        click.echo(str(problem))
    count = len(result.scenarios)
    if result.slowest:
        slowest = ", ".join(
            f"{scenario}/{check} {seconds * 1000:.0f} ms"
            for seconds, scenario, check in result.slowest
        )
        click.echo(f"lint: slowest checks on the reference answers: {slowest}")
    if result.ok:
        click.echo(f"lint: {count} scenario(s) OK in {course.root}")
        return
    click.echo(f"lint: {len(result.problems)} problem(s) in {count} scenario(s)", err=True)
    sys.exit(ExitCode.FAILED)


@scenarios.command("show-wrong")
@click.argument("scenario_id")
@click.argument("check_id")
@click.argument("number", type=click.IntRange(min=1), required=False)
@click.pass_context
def scenarios_show_wrong(
    ctx: click.Context, scenario_id: str, check_id: str, number: int | None
) -> None:
    """Print wrong answer NUMBER (default 1) of CHECK: the reference answer patched.

    What lint grades to prove the check can fail; grade it with `kprep check` to see why
    a check does not fail on it.
    """
    # deferred: start-up cost, the loader (YAML, schemas) loads only for the command using it
    from app.authoring.patch import PatchError, apply_patch
    from app.course.loader import CourseError

    course = course_from(ctx)
    try:
        scenario = course.scenario(scenario_id)
    except KeyError:
        fail_usage(f"unknown scenario {scenario_id!r}")
    except CourseError as exc:
        fail_usage(f"scenario {scenario_id!r} is invalid: {exc}")
    checks = {c.id: c for c in (*scenario.checks, *scenario.live_checks)}
    check = checks.get(check_id)
    if check is None:
        fail_usage(
            f"scenario {scenario_id} has no check {check_id!r} (checks: {', '.join(checks)})"
        )
    wrongs = check.wrong_answers
    if not wrongs:
        fail_usage(f"check {check_id!r} lists no wrong answers")
    chosen = number or 1
    if chosen > len(wrongs):
        fail_usage(f"check {check_id!r} has {len(wrongs)} wrong answer(s)")
    for index, wrong in enumerate(wrongs, 1):
        marker = "->" if index == chosen else "  "
        click.echo(f"{marker} {index}. {wrong.name}", err=True)
    try:
        answer = scenario.answer_text()
    except OSError as exc:
        fail_usage(f"cannot read the reference answer: {exc}")
    try:
        patched = apply_patch(answer, wrongs[chosen - 1].patch)
    except PatchError as exc:
        click.echo(f"kprep: the patch of wrong answer {chosen} does not apply: {exc}", err=True)
        sys.exit(ExitCode.FAILED)
    click.echo(f"# {scenario_id} / {check_id} / wrong answer {chosen}: {wrongs[chosen - 1].name}")
    click.echo(patched, nl=False)


@scenarios.command("new")
@click.argument("scenario_id")
@click.option("--track", required=True, help="A track id from the course's course.yaml.")
@click.pass_context
def scenarios_new(ctx: click.Context, scenario_id: str, track: str) -> None:
    """Scaffold scenarios/ID and answers/ID; lint flags them until they are filled in."""
    # deferred: start-up cost, the loader (YAML, schemas) loads only for the command using it
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
    # Names and values from the candidate's files can hold lone surrogates (a YAML
    # "\ud800" escape, a file name that is not UTF-8): print them escaped, never crash.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        # Not click's standalone mode: it turns Ctrl-C into "Aborted!" and exit 1.
        code = main_group.main(standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("kprep: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


if __name__ == "__main__":
    main()
