"""The results panel: problems and check results, both updated as you type.

A failing check shows its title and line; its teaching text (which may say more than
the hints have yet) opens with space (or F2 from the editor). Choosing an entry that
has a line posts `ResultsPanel.Jump`; the screen moves the editor's cursor there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from app.tui import keys

if TYPE_CHECKING:
    from app.grading.report import CheckResult, Diagnostic

_STATUS_MARK = {
    "pass": ("✓", "results--pass"),
    "fail": ("✗", "results--fail"),
    "error": ("!", "results--error"),
    "skip": ("–", "results--skip"),
}


class ResultsPanel(OptionList):
    """Problems first, then checks; each entry shows its line when it has one."""

    BINDINGS: ClassVar[list[BindingType]] = keys.RESULTS_BINDINGS

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
        self._diagnostics: list[Diagnostic] = []
        self._checks: list[CheckResult] = []
        self._checks_note = ""
        self._targets: dict[str, tuple[int, int | None]] = {}
        self.expanded: set[str] = set()
        """Ids of the checks whose full teaching text is shown."""

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return list(self._diagnostics)

    @property
    def checks(self) -> list[CheckResult]:
        return list(self._checks)

    def show_diagnostics(self, diagnostics: Sequence[Diagnostic]) -> None:
        """Replace the problems section."""
        if list(diagnostics) == self._diagnostics:
            return
        self._diagnostics = list(diagnostics)
        self._rebuild()

    def show_checks(self, checks: Sequence[CheckResult], note: str = "") -> None:
        """Replace the checks section; `note` heads it ("as you type", "recorded")."""
        if list(checks) == self._checks and note == self._checks_note:
            return
        self._checks = list(checks)
        self._checks_note = note
        self._rebuild()

    def mark_checks_stale(self, note: str) -> None:
        if self._checks and note != self._checks_note:
            self._checks_note = note
            self._rebuild()

    def toggle_details(self, check_id: str | None = None) -> str | None:
        """Show or hide the teaching text of `check_id` (default: the highlighted check);
        returns the check's id, None when there is no such failing check."""
        if check_id is None:
            option = self.highlighted_option
            if option is None or not (option.id or "").startswith("c:"):
                return None
            check_id = (option.id or "")[2:]
        if not any(c.id == check_id and c.status != "pass" for c in self._checks):
            return None
        self.expanded ^= {check_id}
        self._rebuild()
        return check_id

    def action_toggle_details(self) -> None:
        self.toggle_details()

    def note_at_line(self, line: int) -> tuple[str, str]:
        """(what, severity) to say about `line` (1-based): its first problem, else its
        failing check in short; ("", "") when nothing is wrong there."""
        problem = next((d for d in self._diagnostics if d.line == line), None)
        if problem is not None:
            return problem.message, problem.severity
        check = self.check_at_line(line)
        if check is not None:
            return f"{check.title} (F2: why)", "check"
        return "", ""

    def highlight_next_target(self) -> tuple[int, int | None] | None:
        """Highlight the entry after the highlighted one that points at a line (wrapping
        round); returns that (line, column), None when no entry has a line."""
        targets = self.target_ids()
        if not targets:
            return None
        current = self.highlighted_option.id if self.highlighted_option else None
        index = (targets.index(current) + 1) % len(targets) if current in targets else 0
        self.highlighted = self.get_option_index(targets[index])
        return self._targets[targets[index]]

    def check_at_line(self, line: int) -> CheckResult | None:
        """The first failing check that points at `line` (1-based)."""
        return next((c for c in self._checks if c.status != "pass" and c.line == line), None)

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
            if passed < len(self._checks):
                title += " · F2/space: why"
            options.append(
                Option(Text(title, self._style("results--heading")), id="h:checks", disabled=True)
            )
            for check in self._checks:
                options.append(self._check_option(check))
        if not options:
            options.append(
                Option(
                    Text(
                        "No problems found. ctrl+r grades and records the attempt.",
                        self._style("results--muted"),
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

    def _check_option(self, check: CheckResult) -> Option:
        mark, style = _STATUS_MARK.get(check.status, ("?", "results--skip"))
        prompt = Text.assemble((f"{mark} ", self._style(style)), check.title)
        failing = check.status != "pass"
        if check.line and failing:
            prompt.append(f"  L{check.line}", self._style("results--muted"))
        if check.status == "fail" and check.message:
            if check.id in self.expanded:
                prompt.append("\n  ")
                prompt.append(check.message, self._style("results--muted"))
        elif failing and check.message:
            # An error or skip says why the check could not run: short, and no giveaway.
            prompt.append("\n  ")
            prompt.append(check.message, self._style("results--muted"))
        if check.advice:
            prompt.append("\n  ")
            prompt.append(check.advice, self._style("results--muted"))
        option_id = f"c:{check.id}"
        if check.line:
            self._targets[option_id] = (check.line, None)
        return Option(prompt, id=option_id)

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
