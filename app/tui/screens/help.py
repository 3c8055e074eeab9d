"""The help screen: every binding with its keys (after the candidate's keymap),
its description and its id for config.toml."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from app.tui import keys
from app.tui.keys import EDITOR_KEYS, binding_sections
from app.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from app.tui.app import KprepApp

_CONTEXT = {
    "HomeScreen": "Home",
    "LessonScreen": "Lesson",
    "ScenarioScreen": "Scenario",
    "FollowUpScreen": "Follow-up questions",
    "ReferenceScreen": "Reference answer",
    "PlacementScreen": "Cluster placement",
}


class HelpScreen(ModalScreen[None]):
    """Key bindings, the current screen's first."""

    BINDINGS: ClassVar[list[BindingType]] = keys.HELP_BINDINGS

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(
                Text.assemble(
                    ("Key bindings", "bold"), ("  remap any id in config.toml [keymap]", "dim")
                ),
                id="help-title",
            )
            with VerticalScroll(id="help-scroll"):
                for title, table in self._tables():
                    yield Static(Text(title, style="bold"), classes="help-section")
                    yield Static(table, classes="help-table")
            yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def _keys(self, binding: Binding) -> str:
        configured = self.kapp.settings.keymap.get(binding.id or "", binding.key)
        shown = []
        for key in configured.split(","):
            key = key.strip()
            try:
                shown.append(self.app.get_key_display(Binding(key, "")))
            except Exception:  # noqa: BLE001 - an odd key name from config: show it raw
                shown.append(key)
        return " ".join(dict.fromkeys(shown))

    def _tables(self) -> list[tuple[str, Table]]:
        sections = binding_sections()
        below = self.kapp.screen_stack[-2] if len(self.kapp.screen_stack) >= 2 else None
        current = _CONTEXT.get(type(below).__name__ if below is not None else "", "")
        sections.sort(key=lambda s: (s[0] != "Everywhere", s[0] != current))
        tables = []
        id_width = max((len(b.id or "") for _, bs in sections for b in bs), default=10)
        for title, bindings in sections:
            table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
            table.add_column("keys", style="bold", no_wrap=True, min_width=14)
            table.add_column("action", ratio=1)
            table.add_column("id", style="dim", no_wrap=True, min_width=id_width)
            for binding in bindings:
                table.add_row(
                    self._keys(binding), binding.tooltip or binding.description, binding.id or ""
                )
            tables.append((title + ("  (this screen)" if title == current else ""), table))
        editor = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        editor.add_column("keys", style="bold", no_wrap=True, min_width=14)
        editor.add_column("action", ratio=1)
        for editor_keys, what in EDITOR_KEYS:
            editor.add_row(editor_keys, what)
        tables.append(("Editor (built in, not remappable)", editor))
        return tables

    def action_close(self) -> None:
        self.dismiss(None)
