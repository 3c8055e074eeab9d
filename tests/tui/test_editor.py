"""The YAML editor with Pilot: indentation as YAML nests, tabs never typed, whitespace and
long comments visible, keys applied in the order typed (Textualize/textual#6605)."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from app.tui.widgets.editor import AnswerEditor

pytestmark = pytest.mark.tui


class EditorApp(App[None]):
    """The editor alone, nested as on the scenario screen (bound keys bubble through
    containers, which is where the reordering came from)."""

    CSS_PATH = ["../../app/tui/styles/widgets.tcss"]

    def __init__(self, text: str = "", editor: type[TextArea] = AnswerEditor) -> None:
        super().__init__()
        self.initial = text
        self.editor_class = editor

    def compose(self) -> ComposeResult:
        with Vertical(), Vertical():
            if self.editor_class is AnswerEditor:
                yield AnswerEditor(self.initial, id="editor", cursor_blink=False)
            else:
                yield self.editor_class(self.initial, id="editor")

    @property
    def editor(self) -> TextArea:
        return self.query_one("#editor", TextArea)


async def type_text(pilot, text: str) -> None:
    """Type like a person: a key at a time, enter for newlines."""
    for char in text:
        await pilot.press("enter" if char == "\n" else char)


async def test_enter_keeps_the_indentation_and_nests_after_a_key_and_a_dash():
    app = EditorApp()
    async with app.run_test(size=(80, 30)) as pilot:
        app.editor.focus()
        await type_text(
            pilot,
            "spec:\ntemplate:\nspec:\ncontainers:\n- name: model\nimage: m:1\nresources:\n"
            "limits:\nnvidia.com/gpu: 1",
        )
        assert app.editor.text == (
            "spec:\n"
            "  template:\n"
            "    spec:\n"
            "      containers:\n"
            "        - name: model\n"
            "          image: m:1\n"
            "          resources:\n"
            "            limits:\n"
            "              nvidia.com/gpu: 1"
        )


async def test_enter_after_a_scalar_item_starts_the_next_item_and_trims_trailing_spaces():
    app = EditorApp()
    async with app.run_test(size=(80, 30)) as pilot:
        app.editor.focus()
        await type_text(pilot, "args:\n- --port=8000   \n- --workers=2")
        assert app.editor.text == "args:\n  - --port=8000\n  - --workers=2"


async def test_tab_inserts_spaces_and_shift_tab_dedents_lines():
    app = EditorApp("a:\nb: 1\nc: 2\n")
    async with app.run_test(size=(80, 30)) as pilot:
        editor = app.editor
        editor.focus()
        editor.move_cursor((1, 0))
        await pilot.press("tab")
        assert editor.text == "a:\n  b: 1\nc: 2\n" and "\t" not in editor.text
        editor.selection = Selection((1, 0), (2, 4))  # two lines selected: both move
        await pilot.press("tab")
        assert editor.text == "a:\n    b: 1\n  c: 2\n"
        await pilot.press("shift+tab")
        assert editor.text == "a:\n  b: 1\nc: 2\n"
        editor.move_cursor((1, 5))
        await pilot.press("shift+tab")
        assert editor.text == "a:\nb: 1\nc: 2\n" and editor.cursor_location == (1, 3)
        assert editor.has_focus  # shift+tab did not move focus away


async def test_backspace_in_the_indentation_removes_a_level():
    app = EditorApp("a:\n    b: 1\n")
    async with app.run_test(size=(80, 30)) as pilot:
        editor = app.editor
        editor.focus()
        editor.move_cursor((1, 4))
        await pilot.press("backspace")
        assert editor.text == "a:\n  b: 1\n"
        editor.move_cursor((1, 3))
        await pilot.press("backspace")  # after text: one character
        assert editor.text == "a:\n  : 1\n"


async def test_trailing_spaces_and_tabs_are_visible():
    app = EditorApp("key: value   \n\tnext: 1\nempty:\n")
    async with app.run_test(size=(80, 30)) as pilot:
        editor = app.editor
        await pilot.pause()
        assert editor.get_line(0).plain == "key: value···"
        assert editor.get_line(2).plain == "empty:"
        tab_style = editor.get_component_rich_style("answer-editor--tab", partial=True)
        tabbed = editor.get_line(1)
        assert any(span.start == 0 and span.style == tab_style for span in tabbed.spans)
        # The dots are only drawn: the text keeps its spaces.
        assert editor.text.startswith("key: value   \n")


async def test_long_comments_wrap_and_yaml_lines_scroll():
    comment = "# TODO: " + "give every replica exactly one whole GPU " * 4
    code = "image: " + "registry.example.com/" * 6 + "model:1"
    app = EditorApp(f"{comment}\n{code}\nnext: 1\n")
    async with app.run_test(size=(60, 20)) as pilot:
        editor = app.editor
        await pilot.pause()
        rows = editor.wrapped_document.get_offsets(0)
        assert rows, "the comment should wrap"
        assert editor.wrapped_document.get_offsets(1) == []  # YAML is never wrapped
        assert editor.wrapped_document.height == 4 + len(rows)
        assert editor.virtual_size.width > editor.size.width  # the long YAML line scrolls
        shown = "".join(
            "".join(s.text for s in editor.render_line(y)) for y in range(len(rows) + 1)
        )
        assert "whole GPU" in shown.split("\n")[-1] and shown.count("whole") == 4
        # The cursor moves down through the comment's rows to the next line.
        editor.move_cursor((0, 0))
        for _ in range(len(rows) + 1):
            await pilot.press("down")
        assert editor.cursor_location[0] == 1


async def _burst(app: EditorApp, keys: list[tuple[str, str | None]]) -> str:
    async with app.run_test(size=(80, 20)) as pilot:
        app.editor.focus()
        await pilot.pause()
        # As a fast typist, key repeat or a paste without bracketed paste delivers them:
        # every key queued before the first is handled.
        for key, character in keys:
            event = events.Key(key, character)
            event.set_sender(app)
            app._driver.send_message(event)  # type: ignore[union-attr]
        await pilot.pause(0.5)
        return app.editor.text


BURST = [
    *[(c, c) for c in "helo"],
    ("left", None),
    ("l", "l"),
    ("end", None),
    ("backspace", None),
    ("o", "o"),
    *[(c, c) for c in " wrld"],
    ("left", None),
    ("left", None),
    ("left", None),
    ("o", "o"),
    ("ctrl+e", None),
    ("backspace", None),
    ("d", "d"),
]
"""Typed in order, this gives "hello world"."""


async def test_a_burst_of_keys_is_applied_in_the_order_typed():
    assert await _burst(EditorApp(), BURST) == "hello world"


async def test_the_burst_test_catches_textuals_reordering():
    # The same burst into Textual's own TextArea comes out scrambled: without the
    # editor's workaround the test above would fail.
    assert await _burst(EditorApp(editor=TextArea), BURST) != "hello world"
