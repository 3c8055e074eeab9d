"""One open draft kept in step with its file: saving, noticing edits made by another
editor, conflicts, and the last-resort rescue. Headless.

The front end owns the timers (save after a pause in typing, poll the file every
second) and calls in with the editor's text; `DraftSync` decides what happens to
the file and returns what the candidate should be told, so every rule here is
unit-tested without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.progress.workspace import Draft, Workspace, WorkspaceError, rescue

if TYPE_CHECKING:
    from app.course.models import Scenario


Severity = Literal["information", "warning", "error"]
"""How a message to the candidate is shown (Textual's notification severities)."""


@dataclass(frozen=True)
class SaveOutcome:
    """What a save did, and what (if anything) to tell the candidate about it."""

    saved: bool
    """The file holds the text now (also True when there was nothing to write)."""
    problem: str | None = None
    """Why the save failed; set only on the first failure in a row (tell once)."""
    recovered: bool = False
    """This save worked after failed ones: say the draft is on disk again."""
    message: str = ""
    """What to tell the candidate (empty: nothing)."""

    @property
    def severity(self) -> Severity:
        return "error" if self.problem else "information"


@dataclass(frozen=True)
class DiskChange:
    """The draft file changed outside kprep, and what to do about it."""

    kind: Literal["reload", "conflict", "error"]
    """reload: take `text` (the buffer had no unsaved edits); conflict: the buffer has
    unsaved edits and wins (warn once per change); error: the file could not be read."""
    text: str = ""
    message: str = ""

    @property
    def severity(self) -> Severity:
        if self.kind == "reload":
            return "information"
        return "warning" if self.kind == "conflict" else "error"


class DraftSync:
    """The draft of one scenario: its file, what was last written or read, save failures."""

    def __init__(self, workspace: Workspace, scenario_id: str) -> None:
        self.workspace = workspace
        self.scenario_id = scenario_id
        self.path: Path = workspace.path_for(scenario_id)
        self.saved_text: str | None = None
        """The text last written to (or read from) the file; None before `open`."""
        self.save_failed = False
        """The last save failed: the draft lives only in memory until a save works."""
        self._disk_mtime: int | None = None
        self._conflict_warned_mtime: int | None = None

    def open(self, scenario: Scenario) -> Draft:
        """Load the draft (the starter when there is none); `open_messages` says what to
        tell the candidate about it."""
        draft = self.workspace.load(scenario)
        self.path = draft.path
        if draft.problem is None:
            self.saved_text = draft.text
            self._disk_mtime = draft.mtime_ns
        else:
            self.save_failed = True
        return draft

    @staticmethod
    def open_messages(draft: Draft) -> list[tuple[str, Literal["warning", "error"]]]:
        """(message, severity) about a draft just opened: moved aside, or not writable."""
        messages: list[tuple[str, Literal["warning", "error"]]] = []
        if draft.notice:
            messages.append((draft.notice, "warning"))
        if draft.problem is not None:
            messages.append(
                (
                    f"{draft.problem}. Your draft is kept in memory; nothing is lost while "
                    "kprep runs.",
                    "error",
                )
            )
        return messages

    def unsaved(self, text: str) -> bool:
        """`text` differs from the file (or the file cannot be written)."""
        return self.save_failed or text != self.saved_text

    def save(self, text: str) -> SaveOutcome:
        """Write `text` if it differs from the file."""
        if not self.unsaved(text):
            return SaveOutcome(saved=True)
        try:
            mtime = self.workspace.save(self.scenario_id, text)
        except WorkspaceError as exc:
            if self.save_failed:
                return SaveOutcome(saved=False)
            self.save_failed = True
            return SaveOutcome(
                saved=False,
                problem=str(exc),
                message=f"{exc}. Your draft is kept in memory; nothing is lost while kprep runs, "
                "and on exit it is copied to the temp folder.",
            )
        recovered = self.save_failed
        self.save_failed = False
        self.saved_text = text
        self._disk_mtime = mtime
        message = f"Draft saved to {self.path}." if recovered else ""
        return SaveOutcome(saved=True, recovered=recovered, message=message)

    def poll(self, buffer_text: str) -> DiskChange | None:
        """Check the file's modification time; when another editor changed it, decide."""
        mtime = self.workspace.mtime_ns(self.scenario_id)
        if mtime is None or mtime == self._disk_mtime:
            return None
        return self.reload(buffer_text, mtime)

    def reload(self, buffer_text: str, mtime: int | None = None) -> DiskChange | None:
        """Read the file (after another editor ran): take it when the buffer has no unsaved
        edits, keep the buffer and warn once per change when it has."""
        try:
            text = self.workspace.read(self.scenario_id)
        except WorkspaceError as exc:
            self._disk_mtime = mtime
            return DiskChange("error", message=str(exc))
        if mtime is None:
            mtime = self.workspace.mtime_ns(self.scenario_id)
        unsaved_edits = buffer_text != self.saved_text
        self._disk_mtime = mtime
        if text == buffer_text:
            self.saved_text = text
            return None
        if not unsaved_edits:
            self.saved_text = text
            return DiskChange(
                "reload", text=text, message=f"Reloaded {self.path} (changed outside kprep)."
            )
        if self._conflict_warned_mtime == mtime:
            return None
        self._conflict_warned_mtime = mtime
        return DiskChange(
            "conflict",
            message=(
                f"{self.path} changed outside kprep, and you have unsaved edits here; kprep "
                "keeps yours and will overwrite the file when it saves."
            ),
        )

    def backup(self, text: str) -> Path | None:
        """Keep a copy of `text` beside the workspace (before it is replaced); None if the
        copy could not be written."""
        try:
            return self.workspace.backup(self.scenario_id, text)
        except WorkspaceError:
            return None

    def flush(self, text: str) -> Path | None:
        """Save on the way out; when the workspace cannot be written, copy the text to the
        temp folder and return that copy's path (None when the draft is safe on disk)."""
        if self.save(text).saved:
            return None
        return rescue(self.scenario_id, text)
