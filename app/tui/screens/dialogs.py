"""Small modal dialogs that return through `dismiss()`: confirm, go to line."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from app.tui import keys


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True only when confirmed."""

    BINDINGS: ClassVar[list[BindingType]] = keys.CONFIRM_BINDINGS

    def __init__(self, title: str, body: str, confirm: str = "Yes") -> None:
        super().__init__()
        self._question = title
        self._body = body
        self._confirm = confirm

    @classmethod
    def restore_starter(cls, draft: str) -> ConfirmScreen:
        """Before the draft `draft` (a path) is replaced by the scenario's starter."""
        return cls(
            "Restore the starter?",
            f"Your draft {draft} is replaced by the scenario's starter; a copy is kept in the "
            "workspace's .backup folder. Progress is kept, and ctrl+z in the editor brings "
            "your draft back.",
            confirm="Restore starter",
        )

    @classmethod
    def reveal_before_pass(cls) -> ConfirmScreen:
        """Before the reference answer is shown to a candidate who has not passed."""
        return cls(
            "Show the reference answer?",
            "You have not passed this scenario yet. Seeing the answer now is recorded in your "
            "progress; a hint (ctrl+g) may be enough.",
            confirm="Show answer",
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Static(self._question, classes="dialog-title")
            yield Static(self._body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._confirm} (y)", id="yes", variant="warning")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class GotoLineScreen(ModalScreen[int | None]):
    """Ask for a line number; dismisses with it (clamped to the file), None on escape."""

    BINDINGS: ClassVar[list[BindingType]] = keys.GOTO_BINDINGS

    def __init__(self, line_count: int) -> None:
        super().__init__()
        self.line_count = line_count

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-dialog", classes="dialog"):
            yield Static(f"Go to line (1–{self.line_count})", classes="dialog-title")
            yield Input(placeholder="line number, then enter", type="integer", id="goto-line")

    def on_mount(self) -> None:
        self.query_one("#goto-line", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            line = int(event.value)
        except ValueError:
            self.notify("Type a line number.", severity="warning")
            return
        self.dismiss(max(1, min(line, self.line_count)))

    def action_cancel(self) -> None:
        self.dismiss(None)
