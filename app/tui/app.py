"""The kprep terminal app: owns the services (course, progress, workspace, settings)
and navigation between the home, lesson and scenario screens.

Screens do the work; this module only wires them. Grading and cluster calls run
in workers on the screens; workers post messages and the handlers own widget
state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import events
from textual.app import App
from textual.binding import BindingType

from app.progress.store import ProgressError, ProgressStore
from app.progress.workspace import Workspace
from app.settings import Settings, load_settings
from app.tui import keys

if TYPE_CHECKING:
    from app.course.loader import Course
    from app.live.service import LiveService


@dataclass(frozen=True)
class Start:
    """The first screen: the home screen, a scenario or a lesson."""

    kind: Literal["home", "scenario", "lesson"] = "home"
    target: str | None = None
    """A scenario id, or a lesson `track` / `track#section`."""


class KprepApp(App[int]):
    """kprep: practise Kubernetes-for-ML interview questions."""

    TITLE = "kprep"
    # Every stylesheet (one per screen or widget family) is loaded once, here: a screen's own
    # CSS_PATH makes Textual re-parse the whole stylesheet when the screen first opens.
    CSS_PATH = [
        "styles/app.tcss",
        "styles/widgets.tcss",
        "styles/home.tcss",
        "styles/scenario.tcss",
        "styles/lesson.tcss",
        "styles/dialogs.tcss",
        "styles/help.tcss",
    ]
    BINDINGS: ClassVar[list[BindingType]] = keys.APP_BINDINGS

    def __init__(
        self,
        *,
        course_dir: Path,
        course: Course | None = None,
        workspace_dir: Path | None = None,
        start: Start | None = None,
        settings: Settings | None = None,
        store_path: Path | None = None,
        cursor_blink: bool = True,
        exit_after: Literal["mount", "ready"] | None = None,
        live_service: LiveService | None = None,
    ) -> None:
        super().__init__()
        from app.paths import data_dir

        self.course_dir = Path(course_dir)
        """The course folder (loaded on first use: the loader's imports are not needed to
        paint the first screen)."""
        self._course: Course | None = course
        self.settings = settings if settings is not None else load_settings()
        """config.toml: keymap, theme, editor."""
        self.workspace = Workspace(workspace_dir or data_dir() / "workspace")
        """Where drafts live."""
        self.store_path = store_path or data_dir() / "progress.db"
        self.store: ProgressStore = ProgressStore.in_memory()
        """The progress database (opened on mount)."""
        self.start = start or Start()
        self.cursor_blink = cursor_blink
        """Editor cursor blink; tests and snapshots turn it off."""
        self.exit_after = exit_after
        """The start-up benchmark: exit once the first screen is painted ("mount") or once
        it shows its content ("ready": the home screen's course is loaded)."""
        self.rescued: list[Path] = []
        """Drafts written to the temp folder because the workspace could not be written."""
        self.last_input_at = time.monotonic()
        """When the candidate last pressed a key; time spent only counts while active."""
        self._ready_reported = False
        self._failed_writes: set[str] = set()
        self._live_service = live_service

    @property
    def live_service(self) -> LiveService:
        """Runs answers on the local cluster (ctrl+l); tests pass a fake one."""
        if self._live_service is None:
            # Deferred for start-up cost: the live grader's imports are not needed to paint.
            from app.live.service import ClusterLiveService

            self._live_service = ClusterLiveService(self.course)
        return self._live_service

    @property
    def course(self) -> Course:
        """The course being practised."""
        if self._course is None:
            from app.course.loader import Course

            self._course = Course(self.course_dir)
        return self._course

    # -- start-up -----------------------------------------------------------------

    async def on_mount(self) -> None:
        from app.tui.keys import all_binding_ids

        self.store = ProgressStore.open(self.store_path)
        if self.store.opened.problem:
            self.notify(
                self.store.opened.problem, title="Progress database", severity="error", timeout=15
            )
        for problem in self.settings.problems:
            self.notify(problem, title="config.toml", severity="warning", timeout=10)
        if self.settings.keymap:
            unknown = sorted(set(self.settings.keymap) - all_binding_ids())
            if unknown:
                self.notify(
                    f"unknown binding id(s) in [keymap]: {', '.join(unknown)} "
                    "(press F1 for the list)",
                    title="config.toml",
                    severity="warning",
                    timeout=10,
                )
            self.set_keymap(self.settings.keymap)
        if self.settings.theme:
            if self.settings.theme in self.available_themes:
                self.theme = self.settings.theme
            else:
                self.notify(
                    f"unknown theme {self.settings.theme!r}",
                    title="config.toml",
                    severity="warning",
                )
        await self._open_start()
        if self.exit_after == "mount":
            self.call_after_refresh(self.exit, 0)

    def first_screen_ready(self) -> None:
        """The first screen shows its content; the start-up benchmark may exit here."""
        if self.exit_after == "ready" and not self._ready_reported:
            self._ready_reported = True
            self.call_after_refresh(self.exit, 0)

    async def _open_start(self) -> None:
        from app.tui.screens.home import HomeScreen

        kind, target = self.start.kind, self.start.target
        if kind == "scenario" and target:
            if await self.open_scenario(target):
                return
        elif kind == "lesson" and target:
            track, _, section = target.partition("#")
            if await self.open_lesson(track, section or None):
                return
        await self.push_screen(HomeScreen())

    # -- navigation ---------------------------------------------------------------

    async def open_scenario(self, scenario_id: str) -> bool:
        """Push the scenario screen; notify and return False if it cannot be loaded."""
        from app.course.loader import CourseError
        from app.tui.screens.scenario import ScenarioScreen

        try:
            scenario = self.course.scenario(scenario_id)
        except KeyError:
            self.notify(f"the course has no scenario {scenario_id!r}", severity="error")
            return False
        except CourseError as exc:
            self.notify(f"scenario {scenario_id!r} is invalid: {exc}", severity="error", timeout=15)
            return False
        await self.push_screen(
            ScenarioScreen(scenario, live=self.live_service, cursor_blink=self.cursor_blink)
        )
        return True

    async def open_lesson(self, track: str, section: str | None = None) -> bool:
        """Show a track's lesson (at `section`), reusing the lesson screen below if any."""
        from app.tui.screens.lesson import LessonScreen

        stack = self.screen_stack
        if len(stack) >= 2 and isinstance(stack[-2], LessonScreen) and stack[-2].track == track:
            self.pop_screen()
            if section:
                stack[-2].goto_section(section)
            return True
        try:
            lesson = self.course.lesson(track)
        except KeyError:
            self.notify(f"the course has no lesson for {track!r}", severity="error")
            return False
        except OSError as exc:
            self.notify(f"cannot read the {track!r} lesson: {exc}", severity="error")
            return False
        await self.push_screen(LessonScreen(lesson, section))
        return True

    def go_back(self) -> None:
        """Back to the previous screen; from the only screen, to home."""
        from app.tui.screens.home import HomeScreen

        if len(self.screen_stack) > 2:
            self.pop_screen()
        elif not isinstance(self.screen, HomeScreen):
            self.switch_screen(HomeScreen())

    # -- progress helpers -----------------------------------------------------------

    def record(self, what: str, write: Any) -> bool:
        """Run a progress write; tell the candidate (once per kind of write) if it fails."""
        try:
            write(self.store)
            return True
        except ProgressError as exc:
            if what not in self._failed_writes:
                self._failed_writes.add(what)
                self.notify(f"{what}: {exc}", title="Progress not saved", severity="error")
            return False

    # -- actions ------------------------------------------------------------------------

    def action_help(self) -> None:
        from app.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_quit_saving(self) -> None:
        """Save every open draft and the time spent, then exit (ctrl+c anywhere)."""
        # Keys typed just before ctrl+c may still be queued in the editor: quit after them.
        editor = next(
            (
                getattr(s, "editor", None)
                for s in reversed(self.screen_stack)
                if getattr(s, "editor", None) is not None
            ),
            None,
        )
        if editor is not None and editor.is_attached:
            editor.call_later(self._quit_now)
        else:
            self._quit_now()

    def _quit_now(self) -> None:
        for screen in reversed(self.screen_stack):
            flush = getattr(screen, "flush_before_exit", None)
            if flush is not None:
                rescued = flush()
                if rescued is not None:
                    self.rescued.append(rescued)
        self.exit(0)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.last_input_at = time.monotonic()
        await super().on_event(event)

    def on_unmount(self) -> None:
        self.store.close()
