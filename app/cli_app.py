"""The commands around the terminal app: `kprep` (home), `kprep practice ID`,
`kprep lesson TRACK`, `kprep progress`, `kprep reset ID`.

Textual is imported only inside the commands that open the app, so
`kprep progress` and `kprep reset` stay light.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from app.cli_common import course_from, fail_usage
from app.exitcodes import ExitCode
from app.paths import data_dir, default_course_dir

EXIT_AFTER_MOUNT_ENV = "KPREP_EXIT_AFTER_MOUNT"
"""The start-up benchmark: `1` exits once the first screen is painted, `ready` once it
shows its content (the home screen's course loaded)."""


def _workspace_dir(ctx: click.Context) -> Path:
    chosen = ctx.obj.get("workspace") if ctx.obj else None
    return Path(chosen).expanduser() if chosen else data_dir() / "workspace"


def _course_dir(ctx: click.Context) -> Path:
    """The course folder, checked without importing the loader (it is not needed to paint
    the home screen; the app loads the course in a worker)."""
    chosen = ctx.obj.get("course") if ctx.obj else None
    folder = Path(chosen) if chosen else default_course_dir()
    if not (folder / "scenarios").is_dir():
        fail_usage(f"{folder} is not a course folder (it has no scenarios/ folder)")
    return folder


def _run_app(ctx: click.Context, kind: str, target: str | None = None, course: Any = None) -> None:
    # Textual, Rich and our modules live as long as the process: import them with the
    # collector off, then freeze them out of its reach. Otherwise the full collections
    # during start-up walk every module object, a quarter of the time to the first screen.
    # Garbage made from here on is collected as usual.
    gc.disable()
    try:
        from app.tui.app import KprepApp, Start  # deferred: start-up cost (Textual)
    finally:
        gc.freeze()
        gc.enable()

    app = KprepApp(
        course_dir=course.root if course is not None else _course_dir(ctx),
        course=course,
        workspace_dir=_workspace_dir(ctx),
        start=Start(kind, target),  # type: ignore[arg-type]
        exit_after=_exit_after(),
    )
    code = app.run()
    try:
        if app.exit_summary:
            click.echo(app.exit_summary)
        for path in app.rescued:
            click.echo(
                f"kprep: the workspace could not be written; your draft was saved to {path}",
                err=True,
            )
    except OSError:
        pass  # the terminal is gone (SIGHUP): the drafts were saved before the app exited
    if app.return_code:
        sys.exit(app.return_code)
    sys.exit(code or ExitCode.OK)


def _exit_after() -> Any:
    value = os.environ.get(EXIT_AFTER_MOUNT_ENV, "")
    return {"1": "mount", "mount": "mount", "ready": "ready"}.get(value)


@click.command()
@click.pass_context
def open_home(ctx: click.Context) -> None:
    """Open the terminal app on the home screen."""
    _run_app(ctx, "home")


@click.command()
@click.argument("scenario_id")
@click.pass_context
def practice(ctx: click.Context, scenario_id: str) -> None:
    """Open scenario SCENARIO_ID in the terminal app."""
    course, _scenario = _check_scenario(ctx, scenario_id)
    _run_app(ctx, "scenario", scenario_id, course=course)


@click.command()
@click.argument("track")
@click.pass_context
def lesson(ctx: click.Context, track: str) -> None:
    """Open TRACK's lesson (optionally TRACK#section) in the terminal app."""
    course = course_from(ctx)
    name = track.partition("#")[0]
    if not (course.root / "lessons" / f"{name}.md").is_file():
        known = ", ".join(lesson.track for lesson in course.lessons()) or "none"
        fail_usage(f"no lesson for track {name!r} (known: {known})")
    _run_app(ctx, "lesson", track)


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="html writes a one-page report (with charts) to FILE.",
)
@click.argument("output", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def progress(ctx: click.Context, fmt: str, output: Path | None) -> None:
    """Print your progress: tracks, scenarios, scores, hints, time, interviews, reviews.

    With --format html, write a self-contained page to OUTPUT.
    """
    # deferred: start-up cost, `kprep` (home) imports this module before its first screen
    from app.course.catalog import catalog_or_none
    from app.progress.course_index import load_index
    from app.progress.records import ProgressError
    from app.progress.store import ProgressStore
    from app.progress.summary import summarize

    if fmt == "html" and output is None:
        fail_usage("--format html needs a FILE to write, e.g. kprep progress --format html me.html")
    if fmt != "html" and output is not None:
        fail_usage("FILE is only for --format html")
    scenarios, errors = load_index(_course_dir(ctx))
    store = ProgressStore.open(data_dir() / "progress.db")
    try:
        if store.opened.problem:
            click.echo(f"kprep: {store.opened.problem}", err=True)
        summary = summarize(
            scenarios,
            store,
            [f"scenario not loaded: {e}" for e in errors],
            catalog_or_none(_course_dir(ctx)),
        )
        concepts = store.concept_results()
        try:
            if fmt == "text":
                due = _due_items(ctx, store)
                interviews = store.interviews()
            else:
                from app.progress.export import progress_report  # deferred: start-up cost

                data = progress_report(summary, store, _follow_ups(ctx))
        except ProgressError as exc:
            click.echo(f"kprep: {exc}", err=True)
            sys.exit(ExitCode.FAILED)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    elif fmt == "html":
        from app.progress.export import render_html  # deferred: start-up cost

        assert output is not None
        try:
            output.write_text(render_html(data), encoding="utf-8")
        except OSError as exc:
            click.echo(f"kprep: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(ExitCode.FAILED)
        click.echo(f"wrote {output}")
    else:
        _print_progress(summary, concepts)
        _print_reviews(due, interviews)
    for note in summary.notes:
        click.echo(f"kprep: {note}", err=True)


def _follow_ups(ctx: click.Context) -> dict[str, tuple[str, ...]]:
    """Each scenario's follow-up questions (loads the course: only for reviews and exports)."""
    from app.course.loader import Course  # deferred: start-up cost (YAML, schemas)

    found, _errors = Course(_course_dir(ctx)).load_all()
    return {s.id: tuple(f.question for f in s.follow_ups) for s in found}


def _due_items(ctx: click.Context, store: Any, until: float | None = None) -> list[Any]:
    from app.progress.queue import review_queue  # deferred: start-up cost

    due = store.due_reviews(until)
    if not due:
        return []
    questions = _follow_ups(ctx)
    return review_queue(
        due, datetime.now(UTC), set(questions), store.concept_scenarios(), questions
    )


def _print_reviews(due: list[Any], interviews: list[dict[str, Any]]) -> None:
    # deferred: start-up cost, Rich loads only to print tables
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if interviews:
        table = Table("started", "track", "questions", "score", "", title="mock interviews")
        for item in interviews[-10:]:
            table.add_row(
                _when(item["started"]),
                item["track"] or "all",
                str(len(item["questions"])),
                f"{item['score']}/{item['max_score']}",
                "" if item["finished"] is not None else "not finished",
            )
        console.print(table)
    if due:
        table = Table("concept", "recall", "drill", title="due today (kprep review)")
        for entry in due:
            table.add_row(entry.concept, f"{round(100 * entry.recall)}%", entry.describe())
        console.print(table)
    else:
        console.print("Nothing due for review today.", style="dim")


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _print_progress(summary: Any, concepts: dict[str, tuple[int, int]]) -> None:
    # deferred: start-up cost, Rich loads only to print tables
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from app.progress.summary import format_seconds

    console = Console()
    tracks = Table("track", "solved", "tried", "points", title="kprep progress")
    for track in summary.tracks:
        tracks.add_row(
            track.title,
            f"{track.solved}/{track.total}",
            str(track.attempted),
            f"{track.best_points}/{track.max_points}",
        )
    console.print(tracks)
    rows = Table(title="by scenario", box=box.SIMPLE_HEAD)
    rows.add_column("", width=1)
    rows.add_column(
        "scenario",
        no_wrap=True,
        min_width=max((len(r.scenario.id) for r in summary.rows), default=8),
    )
    for name in ("tries", "best", "hints", "ref", "f-ups", "time"):
        rows.add_column(name, no_wrap=True, min_width=len(name))
    for track in summary.tracks:
        for row in track.scenarios:
            p = row.progress
            mark = {"solved": "[green]✓[/]", "attempted": "[yellow]◐[/]", "started": "·"}.get(
                row.status, ""
            )
            rows.add_row(
                mark,
                row.scenario.id,
                str(p.attempts or ""),
                f"{p.best_score}/{row.scenario.max_score}" if p.best_score is not None else "",
                f"{p.hints_used}/{len(row.scenario.hints)}" if p.hints_used else "",
                "seen" if p.revealed else "",
                str(p.self_grades or ""),
                format_seconds(p.seconds) if p.seconds else "",
            )
        if track.scenarios:
            rows.add_section()
    console.print(rows)
    console.print("ref: reference answer seen; f-ups: follow-up questions self-graded", style="dim")
    if concepts:
        table = Table("concept", "checks passed (latest attempts)", title="by concept")
        for name, (passed, graded) in concepts.items():
            table.add_row(name, f"{passed}/{graded}")
        console.print(table)
    if summary.continue_with is not None:
        console.print(
            f"Continue: [bold]{summary.continue_with.scenario.id}[/]  "
            f"(kprep practice {summary.continue_with.scenario.id})"
        )
    if summary.recommended is not None:
        console.print(
            f"Next:     [bold]{summary.recommended.scenario.id}[/]  "
            f"(kprep practice {summary.recommended.scenario.id})"
        )


@click.command()
@click.option("--track", help="Ask only this track's scenarios (a track id from course.yaml).")
@click.option(
    "--minutes",
    type=click.IntRange(1, 600),
    default=45,
    show_default=True,
    help="The whole interview; each question gets an equal share.",
)
@click.option(
    "--scenarios",
    "count",
    type=click.IntRange(1, 20),
    default=3,
    show_default=True,
    help="How many questions.",
)
@click.option("--seed", type=int, hidden=True, help="Repeat a draw (tests, demos).")
@click.option("--dry-run", is_flag=True, help="Print the questions as JSON instead of starting.")
@click.pass_context
def interview(
    ctx: click.Context,
    track: str | None,
    minutes: int,
    count: int,
    seed: int | None,
    dry_run: bool,
) -> None:
    """A timed mock interview: K scenarios of mixed difficulty, weighted toward your weak
    concepts, no hints or references, then follow-ups and a scorecard."""
    plan = _plan_interview(ctx, track, minutes, count, seed)
    if dry_run:
        click.echo(
            json.dumps(
                {
                    "scenarios": list(plan.scenarios),
                    "minutes": plan.minutes,
                    "seconds_per_question": plan.seconds_per_question,
                    "track": plan.track,
                    "seed": plan.seed,
                }
            )
        )
        return
    _run_app(ctx, "interview", json.dumps({"scenarios": list(plan.scenarios),
             "minutes": plan.minutes, "track": plan.track, "seed": plan.seed}))  # fmt: skip


def _plan_interview(
    ctx: click.Context, track: str | None, minutes: int, count: int, seed: int | None
) -> Any:
    # deferred: start-up cost, `kprep` (home) imports this module before its first screen
    from app.course.loader import Course
    from app.interview.plan import PlanError, plan_interview, weakness_from
    from app.progress.records import ProgressError
    from app.progress.store import ProgressStore

    found, errors = Course(_course_dir(ctx)).load_all()
    for error in errors:
        click.echo(f"kprep: skipped: {error}", err=True)
    with ProgressStore.open(data_dir() / "progress.db") as store:
        try:
            weakness = weakness_from(store.schedule(), datetime.now(UTC))
        except ProgressError as exc:
            click.echo(f"kprep: {exc}; picking without your history", err=True)
            weakness = {}
    try:
        return plan_interview(
            found, count=count, minutes=minutes, weakness=weakness, track=track, seed=seed
        )
    except PlanError as exc:
        fail_usage(str(exc))


@click.command()
@click.option("--list", "list_only", is_flag=True, help="Print the queue instead of opening it.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--days",
    type=click.IntRange(0, 365),
    default=0,
    show_default=True,
    help="Also what falls due in the next N days.",
)
@click.pass_context
def review(ctx: click.Context, list_only: bool, fmt: str, days: int) -> None:
    """Review the concepts due today (spaced repetition over what you practised).

    Opens the queue in the terminal app; prints it with --list or when stdout is not a
    terminal."""
    # deferred: start-up cost, `kprep` (home) imports this module before its first screen
    from app.progress.records import ProgressError
    from app.progress.review import end_of_day
    from app.progress.store import ProgressStore

    until = end_of_day(datetime.now(UTC)).timestamp() + days * 86400
    with ProgressStore.open(data_dir() / "progress.db") as store:
        if store.opened.problem:
            click.echo(f"kprep: {store.opened.problem}", err=True)
        try:
            items = _due_items(ctx, store, until)
        except ProgressError as exc:
            click.echo(f"kprep: {exc}", err=True)
            sys.exit(ExitCode.FAILED)
    if fmt == "json":
        click.echo(json.dumps([item.to_json() for item in items], indent=2))
        return
    if list_only or not items or not sys.stdout.isatty():
        if not items:
            click.echo(
                "Nothing due for review" + (f" in the next {days} days." if days else " today.")
            )
            return
        for item in items:
            when = time.strftime("%Y-%m-%d", time.localtime(item.due.timestamp()))
            click.echo(f"{when}  {item.concept:<28} {item.describe()}")
        return
    _run_app(ctx, "review")


@click.command()
@click.argument("scenario_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def reset(ctx: click.Context, scenario_id: str, yes: bool) -> None:
    """Restore SCENARIO_ID's starter in your workspace (your progress is kept; the replaced
    draft is kept in the workspace's .backup folder)."""
    from app.progress.workspace import Workspace, WorkspaceError  # deferred: start-up cost

    _course, scenario = _check_scenario(ctx, scenario_id)
    workspace = Workspace(_workspace_dir(ctx))
    path = workspace.path_for(scenario_id)
    if path.exists() and not yes:
        if not sys.stdin.isatty():
            fail_usage(f"{path} exists; pass --yes to replace it with the starter")
        click.confirm(f"Replace {path} with the starter?", abort=True, err=True)
    try:
        backup = workspace.reset(scenario)
    except WorkspaceError as exc:
        click.echo(f"kprep: {exc}", err=True)
        sys.exit(ExitCode.FAILED)
    except OSError as exc:
        click.echo(f"kprep: cannot read the starter: {exc}", err=True)
        sys.exit(ExitCode.FAILED)
    click.echo(f"restored the starter in {path}")
    if backup is not None:
        click.echo(f"your previous draft is kept in {backup}")


def _check_scenario(ctx: click.Context, scenario_id: str) -> tuple[Any, Any]:
    """(course, scenario), or exit with a usage error naming the known scenarios."""
    from app.course.loader import CourseError  # deferred: start-up cost (YAML, schemas)

    course = course_from(ctx)
    try:
        return course, course.scenario(scenario_id)
    except KeyError:
        known = ", ".join(course.scenario_ids()) or "none"
        fail_usage(f"unknown scenario {scenario_id!r} (known: {known})")
    except CourseError as exc:
        fail_usage(f"scenario {scenario_id!r} is invalid: {exc}")
    raise AssertionError("fail_usage exits")
