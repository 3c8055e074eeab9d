"""The kprep terminal app: owns the services (course, progress, workspace, settings)
and navigation between the home, lesson and scenario screens.

Screens do the work; this module only wires them: it hands each scenario screen its
services, follows the navigation messages screens post, and owns leaving: ctrl+q,
ctrl+c with nothing selected, SIGTERM and SIGHUP all save every draft, restore the
terminal, and leave a one-line summary for the command line to print.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import events, on
from textual.app import App
from textual.binding import BindingType

from app.course.catalog import catalog_or_none
from app.paths import data_dir
from app.progress.course_index import load_index
from app.progress.records import ProgressError
from app.progress.store import ProgressStore
from app.progress.summary import summarize
from app.progress.workspace import Workspace
from app.settings import Settings, load_settings
from app.tui import keys
from app.tui.messages import GoBack, OpenHome, OpenLesson, OpenScenario
from app.tui.screens.home import HomeScreen
from app.tui.services import PRACTICE, ScenarioServices

if TYPE_CHECKING:
    from textual.command import Provider

    from app.course.loader import Course
    from app.live.service import LiveService
    from app.tui.screens.scenario import ScenarioScreen
    from app.tui.services import ScenarioMode

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that save every draft and restore the terminal before exiting (a closed
terminal window sends SIGHUP; `kill` and system shutdown send SIGTERM)."""


@dataclass(frozen=True)
class Start:
    """The first screen: the home screen, a scenario or a lesson."""

    kind: Literal["home", "scenario", "lesson", "interview", "review"] = "home"
    target: str | None = None
    """A scenario id, a lesson `track` / `track#section`, or an interview plan (JSON:
    scenarios, minutes, track, seed)."""


def _kprep_commands() -> type[Provider]:
    """kprep's command palette provider (for `App.COMMANDS`)."""
    # Deferred for start-up cost: the provider's module is needed once the palette opens.
    from app.tui.commands import KprepCommands

    return KprepCommands


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
        "styles/interview.tcss",
    ]
    BINDINGS: ClassVar[list[BindingType]] = keys.APP_BINDINGS
    COMMANDS = App.COMMANDS | {_kprep_commands}

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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
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
        self.exit_summary = ""
        """One line for the command line to print after the app exits: what was saved,
        what to try next."""
        self._ready_reported = False
        self._failed_writes: set[str] = set()
        self._live_service = live_service
        self.clock = clock
        """Monotonic seconds for the interview clock; tests pass a fake one."""

        self._signals_installed: list[signal.Signals] = []

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
            # deferred: start-up cost, the loader is not needed to paint the first screen
            from app.course.loader import Course

            self._course = Course(self.course_dir)
        return self._course

    # -- start-up -----------------------------------------------------------------

    async def on_mount(self) -> None:
        self.store = ProgressStore.open(self.store_path)
        if self.store.opened.problem:
            self.notify(
                self.store.opened.problem, title="Progress database", severity="error", timeout=15
            )
        for problem in self.settings.problems:
            self.notify(problem, title="config.toml", severity="warning", timeout=10)
        if self.settings.keymap:
            unknown = sorted(set(self.settings.keymap) - keys.all_binding_ids())
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
        self._install_exit_signals()
        await self._open_start()
        if self.exit_after == "mount":
            self.call_after_refresh(self.exit, 0)

    def first_screen_ready(self) -> None:
        """The first screen shows its content; the start-up benchmark may exit here."""
        if self.exit_after == "ready" and not self._ready_reported:
            self._ready_reported = True
            self.call_after_refresh(self.exit, 0)

    async def _open_start(self) -> None:
        kind, target = self.start.kind, self.start.target
        if kind == "scenario" and target:
            if await self.open_scenario(target):
                return
        elif kind == "lesson" and target:
            track, _, section = target.partition("#")
            if await self.open_lesson(track, section or None):
                return
        elif kind == "interview" and target:
            # Home underneath: leaving the interview or closing the scorecard lands there.
            await self.push_screen(HomeScreen())
            await self.open_interview(target)
            return
        elif kind == "review":
            await self.push_screen(HomeScreen())
            await self.open_review()
            return
        await self.push_screen(HomeScreen())

    # -- navigation ---------------------------------------------------------------

    async def open_scenario(
        self, scenario_id: str, *, mode: ScenarioMode | None = None, replace: bool = False
    ) -> bool:
        """Push the scenario screen (or put it in place of the current one); notify and
        return False if it cannot be loaded."""
        # deferred: start-up cost, only the first screen's modules load before it paints
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
        screen = ScenarioScreen(
            scenario,
            self.scenario_services(),
            mode=mode or PRACTICE,
            cursor_blink=self.cursor_blink,
        )
        if replace:
            await self.switch_screen(screen)
        else:
            await self.push_screen(screen)
        return True

    async def open_interview(self, plan_json: str) -> bool:
        """Start the interview a plan describes (`kprep interview` planned it)."""
        # Deferred for start-up cost: the grader and the interview screen load on first use.
        from app.interview.launch import InterviewStartError, start_session
        from app.tui.screens.interview import InterviewScreen

        try:
            session = start_session(plan_json, self.course, self.store, self.clock)
        except InterviewStartError as exc:
            self.notify(f"cannot start the interview: {exc}", severity="error", timeout=15)
            return False
        await self.push_screen(InterviewScreen(session, cursor_blink=self.cursor_blink))
        return True

    async def open_review(self) -> None:
        from app.tui.screens.review import ReviewScreen  # deferred: start-up cost

        await self.push_screen(ReviewScreen())

    def scenario_services(self) -> ScenarioServices:
        """What a scenario screen works with (tests build their own)."""
        return ScenarioServices(
            store=self.store,
            record=self.record,
            workspace=self.workspace,
            live=self.live_service,
            crd_dir=self.course.crd_dir,
            editor_command=self.settings.editor_command(),
            last_input_at=lambda: self.last_input_at,
            next_scenario=self.next_scenario,
        )

    def next_scenario(self, current: str | None = None) -> str | None:
        """The home screen's Next (else its Continue), never `current`."""
        cards, _errors = load_index(self.course_dir)
        try:
            summary = summarize(cards, self.store, [], catalog_or_none(self.course_dir))
        except ProgressError:
            return None
        for row in (summary.recommended, summary.continue_with):
            if row is not None and row.scenario.id != current:
                return row.scenario.id
        return None

    @on(OpenScenario)
    async def _open_scenario_message(self, message: OpenScenario) -> None:
        from app.tui.screens.scenario import ScenarioScreen  # deferred: start-up cost

        # From a scenario, the next one takes its place: back then leads where it led.
        await self.open_scenario(
            message.scenario_id, replace=isinstance(self.screen, ScenarioScreen)
        )

    @on(OpenLesson)
    async def _open_lesson_message(self, message: OpenLesson) -> None:
        await self.open_lesson(message.track, message.section)

    @on(GoBack)
    def _go_back_message(self, message: GoBack) -> None:
        self.go_back()

    @on(OpenHome)
    async def _open_home_message(self, message: OpenHome) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if not isinstance(self.screen, HomeScreen):
            await self.switch_screen(HomeScreen())

    async def open_lesson(self, track: str, section: str | None = None) -> bool:
        """Show a track's lesson (at `section`), reusing the lesson screen below if any."""
        from app.tui.screens.lesson import LessonScreen  # deferred: start-up cost

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
        if len(self.screen_stack) > 2:
            self.pop_screen()
        elif not isinstance(self.screen, HomeScreen):
            self.switch_screen(HomeScreen())

    # -- progress helpers -----------------------------------------------------------

    def record(self, what: str, write: Callable[[ProgressStore], object]) -> bool:
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
        from app.tui.screens.help import HelpScreen  # deferred: start-up cost

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_quit_saving(self) -> None:
        """Save every open draft and the time spent, then exit (ctrl+q)."""
        # Keys typed just before the quit key may still be queued in the editor: quit after.
        focused = self.focused
        if focused is not None and focused.is_attached:
            focused.call_later(self._quit_now)
        else:
            self._quit_now()

    async def action_quit(self) -> None:
        """Textual's own quit (the palette's Quit command) saves too."""
        self.action_quit_saving()

    def action_copy_or_quit(self) -> None:
        """ctrl+c: copy the selection of the focused text field; with none, save and quit."""
        # Deferred for start-up cost: TextArea brings tree-sitter, and home needs neither.
        from textual.widgets import Input, TextArea

        focused = self.focused
        if isinstance(focused, TextArea | Input) and focused.selected_text:
            # After the keys queued before it (a shift+arrow still extending the selection).
            field = focused
            focused.call_later(lambda: self._copy_selection(field.selected_text))
        elif selected := self.screen.get_selected_text():
            self._copy_selection(selected)  # text selected with the mouse (the prompt, hints)
        else:
            self.action_quit_saving()

    def _copy_selection(self, text: str) -> None:
        self.copy_to_clipboard(text)
        lines = text.count("\n") + 1
        self.notify(
            f"Copied {lines} line(s). ctrl+q quits." if lines > 1 else "Copied. ctrl+q quits.",
            timeout=2,
        )

    def _quit_now(self, return_code: int = 0) -> None:
        """Flush every scenario screen (newest first), write the summary, exit."""
        from app.tui.screens.scenario import ScenarioScreen  # deferred: start-up cost

        saved: list[str] = []
        current: ScenarioScreen | None = None
        for screen in reversed(self.screen_stack):
            if not isinstance(screen, ScenarioScreen):
                continue
            current = current or screen
            rescued = screen.flush_before_exit()
            if rescued is not None:
                self.rescued.append(rescued)
            else:
                saved.append(screen.exit_summary())
        self.exit_summary = self._summary(saved, current)
        self.exit(0, return_code=return_code)

    def _summary(self, saved: list[str], current: ScenarioScreen | None) -> str:
        try:
            if current is not None and not current.passed_before:
                following: str | None = current.scenario.id
            else:
                following = self.next_scenario(current.scenario.id if current else None)
        except Exception:  # noqa: BLE001 - the summary must never stop kprep from exiting
            following = None
        parts = ["; ".join(saved) if saved else "progress saved"]
        if following is not None:
            parts.append(f"next: kprep practice {following}")
        return "kprep: " + " · ".join(parts)

    # -- signals -----------------------------------------------------------------------

    def _install_exit_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in EXIT_SIGNALS:
            try:
                loop.add_signal_handler(signum, self._exit_on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or a platform without these signals
            self._signals_installed.append(signum)

    def _exit_on_signal(self, signum: signal.Signals) -> None:
        """SIGTERM / SIGHUP: save first (the terminal may already be gone), then exit the
        normal way, which leaves the alternate screen and turns mouse reporting off."""
        self._quit_now(return_code=128 + int(signum))

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.last_input_at = time.monotonic()
        await super().on_event(event)

    def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._signals_installed:
            loop.remove_signal_handler(signum)
        self._signals_installed.clear()
        self.store.close()
