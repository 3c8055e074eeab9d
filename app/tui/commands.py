"""kprep's commands in the command palette (ctrl+p): open a scenario or a lesson by name
or id, go home, and on a scenario grade, hint, reset, check on the cluster, go to a
line or a field, move on to the next scenario.

One provider holds them all. A scenario command runs the screen's own action, and is
offered only when the screen allows it (`check_action`), so a mode that hides hints
hides the palette's hint too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from app.course.catalog import catalog_or_none
from app.progress.course_index import load_index
from app.tui.messages import OpenHome, OpenLesson, OpenScenario

if TYPE_CHECKING:
    from app.tui.app import KprepApp


@dataclass(frozen=True)
class Command:
    """One palette entry."""

    text: str
    help: str
    run: Callable[[], object]


SCENARIO_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("grade", "Grade and record the attempt", "ctrl+r"),
    ("hint", "Show the next hint", "counted once shown"),
    ("explain", "Why does the check at the cursor fail?", "its full teaching text"),
    ("next_problem", "Jump to the next failed check or problem", "ctrl+n"),
    ("goto_line", "Go to line…", "ctrl+t"),
    ("check_live", "Check on the cluster", "apply the answer to the local cluster"),
    ("autoscale", "Autoscaling: watch the HPA scale", "F10 · simulated or live"),
    ("reference", "Show the reference answer", "asks first before a pass"),
    ("follow_ups", "Follow-up questions", "after passing"),
    ("next_scenario", "Next scenario", "the next recommended one, after passing"),
    ("lesson", "Read the lesson section", "F4"),
    ("reset", "Restore the starter", "keeps a backup of your draft"),
    ("external_editor", "Open the draft in $EDITOR", "ctrl+e"),
)
"""(screen action, palette text, help) for the scenario screen."""


class KprepCommands(Provider):
    """Scenarios, lessons and the current screen's actions."""

    async def startup(self) -> None:
        course_dir = cast("KprepApp", self.app).course_dir
        # Read off the event loop: a changed course is parsed here (10 ms a scenario).
        self._cards, _errors = await asyncio.to_thread(load_index, course_dir)
        catalog = await asyncio.to_thread(catalog_or_none, course_dir)
        self._tracks = (
            [(track, catalog.title(track)) for track in catalog.track_ids] if catalog else []
        )

    def _commands(self) -> list[Command]:
        commands = self._screen_commands()
        post = self.app.post_message
        commands.append(
            Command("Home", "the tracks and what to do next", partial(post, OpenHome()))
        )
        for track, title in self._tracks:
            commands.append(
                Command(f"Lesson: {title}", f"lesson {track}", partial(post, OpenLesson(track)))
            )
        for card in self._cards:
            commands.append(
                Command(
                    f"Open {card.id}: {card.title}",
                    f"{card.track} · {card.difficulty}",
                    partial(post, OpenScenario(card.id)),
                )
            )
        return commands

    def _screen_commands(self) -> list[Command]:
        # deferred: start-up cost, the palette loads the scenario screen once one is open
        from app.tui.screens.scenario import ScenarioScreen
        from app.tui.widgets.yaml_text import outline

        screen = self.screen
        if not isinstance(screen, ScenarioScreen):
            return []
        commands = [
            Command(text, why, partial(screen.run_action, action))
            for action, text, why in SCENARIO_ACTIONS
            if screen.check_action(action, ()) is not False
        ]
        for entry in outline(screen.editor.text):
            where = f"line {entry.line}" + (f" · {entry.document}" if entry.document else "")
            commands.append(
                Command(f"Go to {entry.label}", where, partial(screen.editor.goto_line, entry.line))
            )
        return commands

    async def discover(self) -> Hits:
        for command in self._commands():
            if not command.text.startswith(("Go to ", "Open ")):
                yield DiscoveryHit(command.text, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.text)
            if score > 0:
                yield Hit(score, matcher.highlight(command.text), command.run, help=command.help)
