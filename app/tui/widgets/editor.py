"""The YAML answer editor: a code-editor TextArea that marks lines with diagnostics."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Offset
from textual.strip import Strip
from textual.widgets import TextArea

Severity = Literal["error", "warning"]


def yaml_language() -> str | None:
    """ "yaml" when tree-sitter highlighting is installed, else None (plain text)."""
    from textual._tree_sitter import get_language

    return "yaml" if get_language("yaml") is not None else None


class AnswerEditor(TextArea):
    """YAML with line numbers, spaces for indentation, undo, and diagnostic markers.

    `set_marks({line: severity})` (1-based lines) puts a marker in the gutter and
    tints the line, so a YAML or schema slip is visible where it is.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *TextArea.COMPONENT_CLASSES,
        "answer-editor--error-gutter",
        "answer-editor--error-line",
        "answer-editor--warning-gutter",
        "answer-editor--warning-line",
    }

    def __init__(self, text: str = "", *, cursor_blink: bool = True, **kwargs: Any) -> None:
        super().__init__(
            text,
            language=yaml_language(),
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            **kwargs,
        )
        self.indent_type = "spaces"
        self.indent_width = 2
        self.cursor_blink = cursor_blink
        self._marks: dict[int, Severity] = {}

    @property
    def marks(self) -> dict[int, Severity]:
        """1-based line -> severity of the worst diagnostic on it."""
        return dict(self._marks)

    def set_marks(self, marks: dict[int, Severity]) -> None:
        if marks == self._marks:
            return
        changed = {
            line for line in {*marks, *self._marks} if marks.get(line) != self._marks.get(line)
        }
        self._marks = dict(marks)
        # Repaint only the lines whose marker changed (as you type, that is one or two).
        document_lines = self.document.line_count
        for line in changed:
            if 1 <= line <= document_lines:
                offset = self.wrapped_document.location_to_offset((line - 1, 0))
                self.refresh_line(offset.y)

    def goto_line(self, line: int, column: int | None = None) -> None:
        """Put the cursor on a 1-based line (and column), scroll to it, focus the editor."""
        row = max(0, min(line - 1, self.document.line_count - 1))
        if column is None:
            text = self.document.get_line(row)
            col = len(text) - len(text.lstrip(" "))
        else:
            col = max(0, column - 1)
        self.move_cursor((row, col), center=True)
        self.focus()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if not self._marks or not self.show_line_numbers:
            return strip
        absolute_y = y + int(self.scroll_offset.y)
        if absolute_y >= self.wrapped_document.height:
            return strip
        row = self.wrapped_document.offset_to_location(Offset(0, absolute_y))[0]
        severity = self._marks.get(row + 1)
        if severity is None:
            return strip
        gutter_width = self.gutter_width
        gutter_style = self.get_component_rich_style(f"answer-editor--{severity}-gutter")
        number = f"{row + self.line_number_start}"
        marker = "●" if severity == "error" else "▲"
        gutter_text = f"{number:>{gutter_width - 2}}{marker} "
        gutter = Strip([Segment(gutter_text, gutter_style)], gutter_width)
        body = strip.crop(gutter_width)
        if row != self.cursor_location[0]:
            tint = self.get_component_rich_style(f"answer-editor--{severity}-line")
            if tint.bgcolor is not None:
                body = Strip(
                    Segment.apply_style(body, post_style=Style(bgcolor=tint.bgcolor)),
                    body.cell_length,
                )
        return Strip.join([gutter, body])
