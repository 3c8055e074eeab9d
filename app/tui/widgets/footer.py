"""The key bar at the bottom of every screen: Textual's Footer with help first (so F1 is
on screen at 80 columns, where the last keys are cut off), rebuilt only when the keys it
shows change."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST_ACTIONS = ("help", "app.help")
"""Shown first: whatever else the screen binds, the way to every other key stays visible."""

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen


class KeyFooter(Footer):
    """Textual's Footer rebuilds all of its keys (removes and mounts a widget per key) every
    time the screen's bindings may have changed: on compose, on every focus change, on
    app focus. At start-up that is three rebuilds of identical keys, each costing more
    than painting the rest of the home screen. This one rebuilds only when what it would
    show differs from what it shows."""

    _shown: Hashable = None
    """The `_keys()` of the last compose (None: not composed with bindings yet)."""

    def _keys(self) -> Hashable:
        """What `compose` reads: the shown bindings with their state, the command palette's
        binding, the footer's options. Bindings are frozen dataclasses, compared by value."""
        active = self.screen.active_bindings
        shown = tuple(
            (binding, enabled, tooltip)
            for (_, binding, enabled, tooltip) in active.values()
            if binding.show
        )
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        return (
            shown,
            palette[1:] if palette else None,
            self.show_command_palette,
            self.app.ENABLE_COMMAND_PALETTE,
            self.compact,
        )

    def compose(self) -> ComposeResult:
        self._shown = self._keys() if self._bindings_ready else None
        # Textual lists the focused widget's keys first and the app's (help) last.
        keys: list[Widget] = list(super().compose())
        first = [k for k in keys if isinstance(k, FooterKey) and k.action in FIRST_ACTIONS]
        yield from first
        yield from (k for k in keys if k not in first)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self._keys() != self._shown:
            await self.recompose()
