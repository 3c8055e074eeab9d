"""The candidate's drafts: one plain YAML file per scenario in a workspace folder.

The default folder is `data_dir()/workspace`; `--workspace DIR` (or
`KPREP_WORKSPACE`) chooses another. A draft starts as the scenario's starter
and is saved atomically (temporary file in the same folder, fsync, `os.replace`),
so another editor, a crash or a kill never sees half a file. Replacing a draft with
the starter first copies it to `.backup/` in the workspace. Headless.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.course.models import Scenario


BACKUPS_KEPT = 20
"""Backups kept per scenario (`kprep reset` and the app's restore-starter make them)."""


class WorkspaceError(Exception):
    """A draft could not be read or written. The message names the file and the reason."""


@dataclass(frozen=True)
class Draft:
    """A draft as loaded."""

    text: str
    path: Path
    from_starter: bool
    """True when no draft file existed (or it was unreadable) and the starter was used."""
    mtime_ns: int | None
    """The file's modification time after loading, None when it could not be written."""
    problem: str | None = None
    """Why the file could not be read or created; the draft then lives in memory only."""
    notice: str | None = None
    """Something the candidate should know that did not stop the draft being saved."""


class Workspace:
    """A folder of drafts, `<scenario-id>.yaml` each."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()

    def path_for(self, scenario_id: str) -> Path:
        return self.root / f"{scenario_id}.yaml"

    def mtime_ns(self, scenario_id: str) -> int | None:
        """The draft file's modification time, or None when it does not exist."""
        try:
            return self.path_for(scenario_id).stat().st_mtime_ns
        except OSError:
            return None

    def read(self, scenario_id: str) -> str:
        path = self.path_for(scenario_id)
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(f"{path} is not UTF-8 text ({exc.reason})") from exc
        except OSError as exc:
            raise WorkspaceError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def load(self, scenario: Scenario) -> Draft:
        """The draft for `scenario`, creating it from the starter when missing."""
        path = self.path_for(scenario.id)
        note = None
        if path.exists():
            try:
                return Draft(self.read(scenario.id), path, False, self.mtime_ns(scenario.id))
            except WorkspaceError as exc:
                # Never overwrite a file we could not read: keep it beside the new draft.
                aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
                try:
                    os.replace(path, aside)
                except OSError:
                    return Draft(
                        scenario.starter_text(),
                        path,
                        True,
                        None,
                        f"{exc}; it is left as it is and kprep will not save over it",
                    )
                note = f"{exc}; it was moved to {aside.name} and the starter was restored"
        starter = scenario.starter_text()
        try:
            mtime = self.save(scenario.id, starter)
        except WorkspaceError as exc:
            return Draft(starter, path, True, None, str(exc))
        return Draft(starter, path, True, mtime, notice=note)

    def save(self, scenario_id: str, text: str) -> int:
        """Write the draft atomically; returns the new mtime (ns). Raises WorkspaceError."""
        path = self.path_for(scenario_id)
        temp_name: str | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(
                prefix=f".{scenario_id}.", suffix=".tmp", dir=self.root
            )
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if path.exists():
                with contextlib.suppress(OSError):
                    os.chmod(temp_name, path.stat().st_mode & 0o777)
            else:
                os.chmod(temp_name, 0o644 & ~_umask())
            os.replace(temp_name, path)
            temp_name = None
            return path.stat().st_mtime_ns
        except OSError as exc:
            raise WorkspaceError(f"cannot save {path}: {exc.strerror or exc}") from exc
        finally:
            if temp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name)

    def backup(self, scenario_id: str, text: str | None = None) -> Path | None:
        """Keep a copy of the draft (or of `text`) in `.backup/`; returns where, None when
        there is nothing to keep. The newest `BACKUPS_KEPT` copies per scenario are kept."""
        if text is None:
            if not self.path_for(scenario_id).exists():
                return None
            text = self.read(scenario_id)
        folder = self.root / ".backup"
        now = time.time_ns()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now / 1e9))
        # The nanoseconds keep two copies made in the same second apart and in order.
        path = folder / f"{scenario_id}.{stamp}-{now % 1_000_000_000:09d}.yaml"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as exc:
            raise WorkspaceError(
                f"cannot back up the draft in {folder}: {exc.strerror or exc}"
            ) from exc
        # Names sort by time (the stamp), so the oldest copies come first.
        copies = sorted(folder.glob(f"{scenario_id}.[0-9]*.yaml"))
        for old in copies[:-BACKUPS_KEPT]:
            with contextlib.suppress(OSError):
                old.unlink()
        return path

    def reset(self, scenario: Scenario) -> Path | None:
        """Overwrite the draft with the starter, keeping a backup of the replaced draft;
        returns the backup's path (None when there was no draft or it was the starter)."""
        starter = scenario.starter_text()
        backup = None
        if self.path_for(scenario.id).exists() and self.read(scenario.id) != starter:
            backup = self.backup(scenario.id)
        self.save(scenario.id, starter)
        return backup


def rescue(scenario_id: str, text: str) -> Path | None:
    """Last resort when the workspace cannot be written: a copy in the temp folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        fd, name = tempfile.mkstemp(prefix=f"kprep-{scenario_id}-{stamp}-", suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return Path(name)
    except OSError:
        return None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
