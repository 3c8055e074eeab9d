"""The YAML answer editor: a TextArea that indents the way YAML nests, shows tabs and
trailing spaces, wraps long comments, marks lines with problems, and applies keys in
the order they were typed.

The YAML rules themselves (where Enter indents to, what shift+tab removes) are plain
functions in `yaml_text`; this module applies them to the document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual._tree_sitter import get_language
from textual.document._document_navigator import DocumentNavigator
from textual.document._wrapped_document import WrappedDocument
from textual.geometry import Offset, Size
from textual.strip import Strip
from textual.widgets import TextArea

from app.tui.widgets.yaml_text import (
    INDENT,
    backspace_width,
    dedent_width,
    is_comment,
    leading_spaces,
    newline_indent,
)

if TYPE_CHECKING:
    from app.grading.report import Report

Severity = Literal["error", "warning", "check"]
"""error / warning: the YAML or the API rules; check: a scenario check that fails here."""

_MARKER = {"error": "●", "warning": "▲", "check": "✗"}
_RANK = {"check": 0, "warning": 1, "error": 2}
"""When several marks fall on one line, the gutter shows the worst."""


def yaml_language() -> str | None:
    """ "yaml" when tree-sitter highlighting is installed, else None (plain text)."""
    return "yaml" if get_language("yaml") is not None else None


class CommentWrappedDocument(WrappedDocument):
    """Wraps comment lines only: a long `# TODO` is read in full without scrolling, while
    YAML lines stay one row each (wrapped YAML hides its own indentation) and scroll
    sideways as usual.

    Textual wraps every line or none; this keeps its wrap for comment lines and drops it
    for the others, then rebuilds the row tables (the private attributes of Textual
    8.2.8's WrappedDocument, which pyproject pins exactly)."""

    def wrap(self, width: int, tab_width: int | None = None) -> None:
        super().wrap(width, tab_width)
        self._unwrap_code_lines()

    def wrap_range(self, start: Any, old_end: Any, new_end: Any) -> None:
        super().wrap_range(start, old_end, new_end)
        self._unwrap_code_lines()

    def _unwrap_code_lines(self) -> None:
        lines = self.document.lines
        offsets = self._wrap_offsets
        if not any(cuts and not is_comment(lines[i]) for i, cuts in enumerate(offsets)):
            return
        self._wrap_offsets = [
            cuts if cuts and is_comment(lines[i]) else [] for i, cuts in enumerate(offsets)
        ]
        row_of_section: list[tuple[int, int]] = []
        rows_of_line: list[list[int]] = []
        row = 0
        for line_index, cuts in enumerate(self._wrap_offsets):
            rows = []
            for section in range(len(cuts) + 1):
                row_of_section.append((line_index, section))
                rows.append(row)
                row += 1
            rows_of_line.append(rows)
        self._offset_to_line_info = row_of_section
        self._line_index_to_offsets = rows_of_line


class AnswerEditor(TextArea):
    """YAML with line numbers, YAML-aware indentation, undo, and line markers.

    `set_marks({line: severity})` (1-based lines) puts a marker in the gutter and
    tints the line, so a YAML slip or a failing check is visible where it is.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *TextArea.COMPONENT_CLASSES,
        "answer-editor--error-gutter",
        "answer-editor--error-line",
        "answer-editor--warning-gutter",
        "answer-editor--warning-line",
        "answer-editor--check-gutter",
        "answer-editor--check-line",
        "answer-editor--whitespace",
        "answer-editor--tab",
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
        self.indent_width = INDENT
        self.cursor_blink = cursor_blink
        self._marks: dict[int, Severity] = {}

    # -- comment wrapping (see CommentWrappedDocument) ---------------------------------

    def _set_document(self, text: str, language: str | None) -> None:
        super()._set_document(text, language)
        self.wrapped_document = CommentWrappedDocument(self.document, tab_width=INDENT)
        self.navigator = DocumentNavigator(self.wrapped_document)
        self._rewrap_and_refresh_virtual_size()

    @property
    def wrap_width(self) -> int:
        """Comments wrap at the visible width even though YAML lines do not."""
        width = self.scrollable_content_region.width
        return max(0, width - self.gutter_width - 1)

    def _refresh_size(self) -> None:
        if self.soft_wrap:
            super()._refresh_size()
            return
        # As wide as the longest YAML line (+1 for the cursor), as tall as the wrapped rows.
        widest = max(
            (
                cell_len(line.expandtabs(INDENT))
                for line in self.document.lines
                if not is_comment(line)
            ),
            default=0,
        )
        self.virtual_size = Size(widest + self.gutter_width + 1, self.wrapped_document.height)
        self._refresh_scrollbars()

    # -- keys -------------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        if self.read_only:
            await super()._on_key(event)
            return
        handled = self._yaml_key(event.key)
        if handled:
            self._restart_blink()
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)
        if event._no_default_action or event.is_printable:
            return
        # Textual runs a widget's bound keys (backspace, arrows, ctrl+k...) only after the
        # key event has bubbled up to the app, while printable keys are inserted at once:
        # typed fast, "ab<backspace>c" can become "ac" + "b" deleted later
        # (Textualize/textual#6605). Run the editor's own bindings here, in order.
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if binding.priority:
                continue
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return

    def _yaml_key(self, key: str) -> bool:
        """Enter, tab, shift+tab and backspace the YAML way; False for any other key."""
        start, end = self.selection
        if key == "enter":
            self._newline()
            return True
        if key == "tab" and start[0] != end[0]:
            self._shift_lines(INDENT)
            return True
        if key == "shift+tab":
            self._shift_lines(-INDENT)
            return True
        if key == "backspace" and start == end:
            row, column = end
            width = backspace_width(self.document.get_line(row)[:column])
            if width > 1:
                self._replace_via_keyboard("", (row, column - width), end)
                return True
        return False

    def _newline(self) -> None:
        """Break the line, indented for what the line before the cursor opens; spaces left
        at the end of the broken line and at the start of its rest are dropped."""
        start, end = sorted(self.selection)
        row, column = start
        line = self.document.get_line(row)
        before = line[:column]
        indent = newline_indent(before)
        kept = before.rstrip(" ")
        # The rest of the line (after a selection) moves down; its own leading spaces go.
        end_line = self.document.get_line(end[0])
        rest_start = end[1] + (len(end_line[end[1] :]) - len(end_line[end[1] :].lstrip(" ")))
        insert = "\n" + " " * indent
        if not kept.strip():
            kept = ""  # a line of spaces only becomes empty, not trailing whitespace
        result = self._replace_via_keyboard(insert, (row, len(kept)), (end[0], rest_start))
        if result is not None:
            self.move_cursor(result.end_location)

    def _shift_lines(self, by: int) -> None:
        """Indent (by > 0) or dedent every line the selection touches, the cursor's line
        when nothing is selected; keeps the selection on the same text."""
        start, end = self.selection
        first, last = sorted((start[0], end[0]))
        if by < 0 and end[0] != start[0] and sorted((start, end))[1][1] == 0:
            last -= 1  # a selection ending at column 0 does not include that line
        changes: dict[int, int] = {}
        for row in range(first, last + 1):
            line = self.document.get_line(row)
            if by > 0:
                if line.strip():
                    changes[row] = by
            else:
                removed = dedent_width(line)
                if removed:
                    changes[row] = -removed
        if not changes:
            return
        lines = [
            (" " * changes[row] + self.document.get_line(row))
            if changes.get(row, 0) > 0
            else self.document.get_line(row)[-changes.get(row, 0) :]
            for row in range(first, last + 1)
        ]
        last_column = len(self.document.get_line(last))
        self._replace_via_keyboard("\n".join(lines), (first, 0), (last, last_column))

        def moved(location: tuple[int, int]) -> tuple[int, int]:
            row, column = location
            return (row, max(0, column + changes.get(row, 0)))

        self.selection = type(self.selection)(moved(start), moved(end))

    # -- what the candidate sees --------------------------------------------------------

    def get_line(self, line_index: int) -> Text:
        """Tabs tinted and trailing spaces as dots: YAML forbids the one for indentation and
        the other hides in diffs, so neither should be invisible."""
        line = super().get_line(line_index)
        plain = line.plain
        if "\t" in plain:
            tab_style = self.get_component_rich_style("answer-editor--tab", partial=True)
            for index, char in enumerate(plain):
                if char == "\t":
                    line.stylize(tab_style, index, index + 1)
        trailing = len(plain) - len(plain.rstrip(" "))
        if trailing and plain.strip():
            style = self.get_component_rich_style("answer-editor--whitespace", partial=True)
            dotted = Text(plain[: len(plain) - trailing], end="", no_wrap=True)
            for span in line.spans:
                dotted.stylize(span.style, span.start, span.end)
            dotted.append("·" * trailing, style)
            return dotted
        return line

    @property
    def marks(self) -> dict[int, Severity]:
        """1-based line -> the worst mark on it."""
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

    def replace_all(self, text: str) -> None:
        """Replace the whole text as one undoable edit, keeping the cursor where it was."""
        row, column = self.cursor_location
        self.replace(text, (0, 0), self.document.end)
        self.move_cursor((min(row, self.document.line_count - 1), column))

    def goto_line(self, line: int, column: int | None = None) -> None:
        """Put the cursor on a 1-based line (and column), scroll to it, focus the editor."""
        row = max(0, min(line - 1, self.document.line_count - 1))
        if column is None:
            column = leading_spaces(self.document.get_line(row)) + 1
        self.move_cursor((row, max(0, column - 1)), center=True)
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
        first_row = self.wrapped_document.location_to_offset((row, 0)).y == absolute_y
        number = f"{row + self.line_number_start}" if first_row else ""
        gutter_text = f"{number:>{gutter_width - 2}}{_MARKER[severity]} "
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


def report_marks(report: Report, *, checks: bool) -> dict[int, Severity]:
    """1-based line -> the worst mark from a report's problems (and failing checks)."""
    marks: dict[int, Severity] = {}

    def mark(line: int | None, severity: Severity) -> None:
        if line and (line not in marks or _RANK[severity] > _RANK[marks[line]]):
            marks[line] = severity

    for diagnostic in report.errors:
        mark(diagnostic.line, diagnostic.severity)
    if checks:
        for check in report.checks:
            if check.status == "fail":
                mark(check.line, "check")
    return marks
