"""The results panel: diagnostics (updated as you type) and check results (on ctrl+r).

Choosing an entry that has a line posts `ResultsPanel.Jump`; the screen moves
the editor's cursor there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

_STATUS_MARK = {
    "pass": ("✓", "results--pass"),
    "fail": ("✗", "results--fail"),
    "error": ("!", "results--error"),
    "skip": ("–", "results--skip"),
}


class ResultsPanel(OptionList):
    """Problems first, then checks; each entry shows its line when it has one."""

    COMPONENT_CLASSES = {
        "results--pass",
        "results--fail",
        "results--error",
        "results--skip",
        "results--heading",
        "results--muted",
    }

    @dataclass
    class Jump(Message):
        """The candidate chose an entry that points at a line of the answer."""

        line: int
        """1-based line."""
        column: int | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._diagnostics: list[Any] = []
        self._checks: list[Any] = []
        self._checks_note = ""
        self._targets: dict[str, tuple[int, int | None]] = {}

    @property
    def diagnostics(self) -> list[Any]:
        return list(self._diagnostics)

    @property
    def checks(self) -> list[Any]:
        return list(self._checks)

    def show_diagnostics(self, diagnostics: list[Any]) -> None:
        """Replace the problems section (Diagnostic objects)."""
        if [d.__dict__ for d in diagnostics] == [d.__dict__ for d in self._diagnostics]:
            return
        self._diagnostics = list(diagnostics)
        self._rebuild()

    def show_checks(self, checks: list[Any], note: str = "") -> None:
        """Replace the checks section (CheckResult objects); `note` heads it."""
        self._checks = list(checks)
        self._checks_note = note
        self._rebuild()

    def mark_checks_stale(self, note: str) -> None:
        if self._checks and note != self._checks_note:
            self._checks_note = note
            self._rebuild()

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(name, partial=True)

    def _rebuild(self) -> None:
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        options: list[Option | None] = []
        self._targets = {}
        if self._diagnostics:
            heading = Text(f"Problems ({len(self._diagnostics)})", self._style("results--heading"))
            options.append(Option(heading, id="h:problems", disabled=True))
            for index, diagnostic in enumerate(self._diagnostics):
                where = f"L{diagnostic.line} " if diagnostic.line else ""
                mark = "▲" if diagnostic.severity == "warning" else "●"
                style = "results--skip" if diagnostic.severity == "warning" else "results--fail"
                prompt = Text.assemble(
                    (f"{mark} ", self._style(style)), (where, self._style("results--muted"))
                )
                prompt.append_text(self._message(diagnostic.message))
                option_id = f"d:{index}"
                if diagnostic.line:
                    self._targets[option_id] = (diagnostic.line, diagnostic.column)
                options.append(Option(prompt, id=option_id))
        if self._checks:
            passed = sum(1 for c in self._checks if c.status == "pass")
            score = sum(c.points for c in self._checks)
            total = sum(c.max_points for c in self._checks)
            title = f"Checks {passed}/{len(self._checks)} · score {score}/{total}"
            if self._checks_note:
                title += f" · {self._checks_note}"
            options.append(
                Option(Text(title, self._style("results--heading")), id="h:checks", disabled=True)
            )
            for check in self._checks:
                mark, style = _STATUS_MARK.get(check.status, ("?", "results--skip"))
                prompt = Text.assemble((f"{mark} ", self._style(style)), check.title)
                if check.line and check.status != "pass":
                    prompt.append(f"  L{check.line}", self._style("results--muted"))
                if check.status != "pass" and check.message:
                    prompt.append("\n  ")
                    prompt.append(check.message, self._style("results--muted"))
                if getattr(check, "advice", ""):
                    prompt.append("\n  ")
                    prompt.append(check.advice, self._style("results--muted"))
                option_id = f"c:{check.id}"
                if check.line:
                    self._targets[option_id] = (check.line, None)
                options.append(Option(prompt, id=option_id))
        if not options:
            options.append(
                Option(
                    Text(
                        "No problems found. Press ctrl+r to grade.", self._style("results--muted")
                    ),
                    id="h:empty",
                    disabled=True,
                )
            )
        self.clear_options()
        self.add_options(options)
        if highlighted is not None:
            try:
                self.highlighted = self.get_option_index(highlighted)
            except OptionDoesNotExist:
                self.highlighted = None

    def _message(self, message: str) -> Text:
        """`Kind/name: field.path: what`, shortened: the line number already says where, so
        the object is dropped and only the last field of the path is kept (dimmed)."""
        parts = message.split(": ", 2)
        if len(parts) == 3 and "/" in parts[0] and " " not in parts[0] and " " not in parts[1]:
            field = _last_field(parts[1])
            return Text.assemble((f"{field}: ", self._style("results--muted")), parts[2])
        if len(parts) >= 2 and "/" in parts[0] and " " not in parts[0]:
            return Text(message.split(": ", 1)[1])
        return Text(message)

    def first_failure_index(self) -> int | None:
        """Index of the first failed check, else the first problem with a line."""
        for index in range(self.option_count):
            option_id = self.get_option_at_index(index).id or ""
            if option_id.startswith("c:") and option_id in self._targets:
                return index
        for index in range(self.option_count):
            if (self.get_option_at_index(index).id or "") in self._targets:
                return index
        return None

    def target_ids(self) -> list[str]:
        """Option ids that point at a line, in display order."""
        return [
            self.get_option_at_index(i).id or ""
            for i in range(self.option_count)
            if (self.get_option_at_index(i).id or "") in self._targets
        ]

    def target(self, option_id: str) -> tuple[int, int | None] | None:
        return self._targets.get(option_id)

    def on_mount(self) -> None:
        self._rebuild()

    @on(OptionList.OptionSelected)
    def _jump(self, event: OptionList.OptionSelected) -> None:
        target = self._targets.get(event.option.id or "")
        if target is not None:
            event.stop()
            self.post_message(self.Jump(*target))


def _last_field(path: str) -> str:
    """`spec.containers[0].resources.requests[nvidia.com/gpu]` -> `requests[nvidia.com/gpu]`."""
    depth = 0
    for index in range(len(path) - 1, -1, -1):
        char = path[index]
        if char == "]":
            depth += 1
        elif char == "[":
            depth -= 1
        elif char == "." and depth == 0:
            return path[index + 1 :]
    return path
