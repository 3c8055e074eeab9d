"""Helpers every `kprep` command module shares (the course folder, usage errors).

Kept apart from `app.cli` so the command modules (`cli_app`, `cli_cluster`)
import these without importing the command line itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from app.exitcodes import ExitCode
from app.paths import default_course_dir

if TYPE_CHECKING:
    from app.course.loader import Course


def fail_usage(message: str) -> NoReturn:
    click.echo(f"kprep: {message}", err=True)
    sys.exit(ExitCode.USAGE)


def course_from(ctx: click.Context) -> Course:
    # Deferred for start-up cost: `kprep --help` and `--version` never load the course.
    from app.course.loader import Course

    root = ctx.obj.get("course") if ctx.obj else None
    folder = Path(root) if root else default_course_dir()
    if not (folder / "scenarios").is_dir():
        fail_usage(f"{folder} is not a course folder (it has no scenarios/ folder)")
    return Course(folder)
