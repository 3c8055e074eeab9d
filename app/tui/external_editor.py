"""Handing the terminal to the candidate's own editor (ctrl+e) and taking it back.

The editor is found before the app lets go of the terminal: a missing `$EDITOR`
must not leave a blank screen behind, only a message saying what to set.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from textual.app import App, SuspendNotSupported


@dataclass(frozen=True)
class EditorOutcome:
    """What happened, for a notification; `ran` says whether the file may have changed."""

    ran: bool
    message: str = ""
    severity: Literal["information", "warning", "error"] = "information"


def run_external_editor(app: App[Any], command: list[str], path: Path) -> EditorOutcome:
    """Run `command path` with the terminal suspended; never raises."""
    if not command or shutil.which(command[0]) is None:
        name = command[0] if command else ""
        return EditorOutcome(
            False,
            f"cannot run {name!r}: not found or not executable. Set $VISUAL or $EDITOR, or "
            "[ui] editor in config.toml.",
            "error",
        )
    try:
        with app.suspend():
            done = subprocess.run([*command, str(path)], check=False)
    except SuspendNotSupported:
        return EditorOutcome(
            False,
            f"This terminal cannot hand over to another editor; edit {path} in another "
            "window: kprep picks the change up.",
            "warning",
        )
    except OSError as exc:
        return EditorOutcome(False, f"cannot run {command[0]!r}: {exc.strerror or exc}", "error")
    if done.returncode != 0:
        return EditorOutcome(
            True,
            f"{command[0]} exited with status {done.returncode}; kprep keeps what the file "
            "holds now.",
            "warning",
        )
    return EditorOutcome(True)
