"""Every key binding of the app, grouped as the help screen and docs/keybindings.md show them.

Each binding has an `id`; `[keymap]` in config.toml maps ids to keys
(`App.set_keymap`). `python -m app.tui.keys` prints the Markdown for
docs/keybindings.md; a test keeps the file in sync.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

EDITOR_KEYS: tuple[tuple[str, str], ...] = (
    ("ctrl+z / ctrl+y", "Undo / redo"),
    ("tab / shift+tab", "Indent with spaces / dedent"),
    ("escape", "Leave the editor (focus the results list)"),
    ("ctrl+x / ctrl+v", "Cut / paste (copy: select, then super+c)"),
    ("ctrl+k / ctrl+w", "Delete to end of line / delete word left"),
    ("shift+arrows", "Select"),
)
"""The TextArea's own keys (not remappable), listed for reference."""


def binding_sections() -> list[tuple[str, list[Binding]]]:
    """(section title, bindings) in the order the help screen shows them."""
    from app.tui.app import KprepApp
    from app.tui.screens.dialogs import ConfirmScreen
    from app.tui.screens.followup import FollowUpScreen
    from app.tui.screens.home import HomeScreen
    from app.tui.screens.lesson import LessonScreen
    from app.tui.screens.placement import PlacementScreen
    from app.tui.screens.reference import ReferenceScreen
    from app.tui.screens.scenario import ScenarioScreen

    sections = [
        ("Everywhere", KprepApp),
        ("Home", HomeScreen),
        ("Lesson", LessonScreen),
        ("Scenario", ScenarioScreen),
        ("Follow-up questions", FollowUpScreen),
        ("Reference answer", ReferenceScreen),
        ("Cluster placement", PlacementScreen),
        ("Confirmation", ConfirmScreen),
    ]
    owners: list[tuple[str, list[Any]]] = [
        (title, list(owner.BINDINGS))  # type: ignore[attr-defined]
        for title, owner in sections
    ]
    return [(title, [b for b in bindings if isinstance(b, Binding)]) for title, bindings in owners]


def all_binding_ids() -> set[str]:
    return {b.id for _, bindings in binding_sections() for b in bindings if b.id}


def keymap_markdown() -> str:
    """The binding reference as Markdown (docs/keybindings.md)."""
    lines = [
        "# Key bindings",
        "",
        "Every binding has an id. Remap any of them in `config.toml` in kprep's config",
        "folder (`~/.config/kprep/config.toml` on Linux, `~/Library/Application",
        "Support/kprep/config.toml` on macOS, `$KPREP_HOME/config/config.toml` when",
        "`KPREP_HOME` is set). A value is one key or several, comma-separated; Textual",
        "key names (`ctrl+r`, `f5`, `question_mark`). Unknown ids are reported at start.",
        "`[ui]` sets `theme` (any Textual theme) and `editor` (for ctrl+e; default",
        "`$VISUAL`, then `$EDITOR`, then `vi`).",
        "",
        "```toml",
        "[keymap]",
        'scenario.grade = "ctrl+r,f5"   # comma-separated keys',
        'scenario.hint = "f2"',
        "",
        "[ui]",
        'theme = "nord"',
        'editor = "nvim"',
        "```",
        "",
        "Press F1 (or ?) in the app for this list with your own keys.",
        "",
    ]
    for title, bindings in binding_sections():
        lines += [f"## {title}", "", "| keys | action | id |", "|---|---|---|"]
        for binding in bindings:
            description = binding.tooltip or binding.description
            lines.append(f"| `{binding.key}` | {description} | `{binding.id}` |")
        lines.append("")
    lines += [
        "## Editor",
        "",
        "The YAML editor's own keys (not remappable):",
        "",
        "| keys | action |",
        "|---|---|",
    ]
    lines += [f"| `{keys}` | {what} |" for keys, what in EDITOR_KEYS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(keymap_markdown(), end="")
