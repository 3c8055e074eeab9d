"""The scenario's one-line title bar and status line: each renders its reactive state,
so the screen sets values and never builds text."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

SaveState = Literal["saved", "unsaved", "failed"]


class ScenarioTitle(Widget):
    """`title  id · track · difficulty  score n/m  ✓ passed`."""

    DEFAULT_CSS = "ScenarioTitle { height: 1; }"

    score: reactive[tuple[int, int] | None] = reactive(None)
    """(score, max) of the last recorded attempt on this visit."""
    passed: reactive[bool] = reactive(False)
    """The last recorded attempt passed."""
    passed_before: reactive[bool] = reactive(False)
    """Some attempt ever passed."""
    mode: reactive[str] = reactive("")
    """Shown after the scenario's facts when not plain practice (e.g. "interview")."""

    def __init__(self, title: str, facts: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title_text = title
        self.facts = facts
        """`id · track · difficulty`."""

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.title_text}", style="bold")
        text.append(f"  {self.facts}", style="dim")
        if self.mode:
            text.append(f"  [{self.mode}]", style="bold")
        if self.score is not None:
            text.append(f"  score {self.score[0]}/{self.score[1]}", style="bold")
            if self.passed:
                text.append("  ✓ passed", style="bold green")
        elif self.passed_before:
            text.append("  ✓ passed before", style="green")
        return text


class StatusLine(Widget):
    """Where the cursor is and what is there, then the draft's state and the counts:
    `Ln 12, Col 5 · saved · 3 checks fail (ctrl+n) · hints 1/3 · ~/…/id.yaml`."""

    DEFAULT_CSS = "StatusLine { height: 1; }"

    cursor: reactive[tuple[int, int]] = reactive((1, 1))
    """1-based (line, column)."""
    here: reactive[str] = reactive("")
    """What a problem or failing check on the cursor's line says (short form)."""
    here_severity: reactive[str] = reactive("")
    """error, warning or check: the mark of `here`."""
    save_state: reactive[SaveState] = reactive("saved")
    failing: reactive[int | None] = reactive(None)
    """How many checks fail (None: not known, or hidden in this mode)."""
    hints: reactive[tuple[int, int] | None] = reactive(None)
    """(shown, total); None hides the count (a mode without hints)."""
    live: reactive[str] = reactive("")
    """A live run's progress line; while set it takes the whole line."""
    path: reactive[Path | None] = reactive(None)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.live:
            text.append("cluster: ", style="bold")
            text.append(self.live)
            return text
        line, column = self.cursor
        text.append(f"Ln {line}, Col {column}", style="bold")
        if self.here:
            mark = {"error": "●", "warning": "▲", "check": "✗"}.get(self.here_severity, "")
            style = "yellow" if self.here_severity == "warning" else "red"
            text.append(f"  {mark} ", style=style)
            text.append(self.here)
            return text
        if self.save_state == "failed":
            text.append("  not saved (workspace not writable)", style="bold red")
        elif self.save_state == "unsaved":
            text.append("  ● unsaved", style="yellow")
        else:
            text.append("  saved", style="dim")
        if self.failing:
            text.append(f"  {self.failing} check(s) fail (ctrl+n)", style="dim")
        elif self.failing == 0:
            text.append("  all checks pass (ctrl+r records it)", style="green")
        if self.hints is not None:
            text.append(f"  hints {self.hints[0]}/{self.hints[1]}", style="dim")
        if self.path is not None:
            text.append(f"  {short_path(self.path)}", style="dim")
        return text


def short_path(path: Path | None) -> str:
    """`~/…` for paths under the home folder."""
    if path is None:
        return ""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
