"""The hints under the prompt: one more each time `shown` grows, scrolled into view once
laid out, and reported as shown (the moment a hint counts) only then."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.containers import ScrollableContainer, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from app.course.models import Hint


class HintPanel(Vertical):
    """Hints 1..`shown` of the scenario, then how many are left."""

    DEFAULT_CSS = """
    HintPanel { height: auto; }
    HintPanel > .hint { height: auto; margin-bottom: 1; }
    HintPanel > #hints-left { height: auto; color: $text-muted; }
    """

    shown: reactive[int] = reactive(0, init=False)
    """How many hints are on screen; raising it shows the next ones."""

    @dataclass
    class Shown(Message):
        """Hint `index` (0-based) is laid out and scrolled into view: it counts now."""

        index: int

    def __init__(self, hints: Sequence[Hint], *, already_shown: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hints = list(hints)
        self.set_reactive(HintPanel.shown, min(already_shown, len(hints)))
        """Hints counted on an earlier visit: shown again, not counted again."""

    def compose(self) -> ComposeResult:
        for index in range(self.shown):
            yield self._hint(index)
        yield Static(self._left_text(), id="hints-left")

    @property
    def left(self) -> int:
        return len(self.hints) - self.shown

    def _hint(self, index: int) -> Static:
        hint = self.hints[index]
        text = Text()
        text.append(f"Hint {index + 1}/{len(self.hints)} ({hint.level})\n", style="bold")
        text.append(hint.text)
        return Static(text, classes="hint", id=f"hint-{index}")

    def _left_text(self) -> Text:
        if not self.hints:
            return Text("This scenario has no hints.", style="dim")
        if not self.left:
            return Text("No more hints; the reference answer is behind ctrl+o.", style="dim")
        return Text(f"{self.left} more hint(s): ctrl+g", style="dim")

    async def watch_shown(self, before: int, after: int) -> None:
        left = self.query_one("#hints-left", Static)
        new = [self._hint(index) for index in range(before, after)]
        if new:
            await self.mount_all(new, before=left)
        left.update(self._left_text())
        if new:
            # Scroll once the new hint has its size: before layout it has none, and the
            # scroll would stop short of its last lines.
            self.call_after_refresh(self._reveal, new[-1], list(range(before, after)))

    def _reveal(self, hint: Static, indexes: list[int]) -> None:
        scroller = next((a for a in hint.ancestors if isinstance(a, ScrollableContainer)), None)
        # A hint taller than the pane shows from its first line; any other shows whole.
        too_tall = (
            scroller is not None
            and hint.outer_size.height > scroller.scrollable_content_region.height
        )
        self.screen.scroll_to_widget(hint, animate=False, top=too_tall, immediate=True)
        # Counted once it is on the terminal: after the repaint that shows it scrolled in.
        self.call_after_refresh(self._report_shown, indexes)

    def _report_shown(self, indexes: list[int]) -> None:
        for index in indexes:
            self.post_message(self.Shown(index))
