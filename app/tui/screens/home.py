"""The home screen: tracks with progress, where to continue, what to do next."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from app.course.catalog import catalog_or_none
from app.interview.plan import plan_interview, weakness_from
from app.progress.course_index import ScenarioCard, load_index
from app.progress.queue import review_queue
from app.progress.store import ProgressStore
from app.progress.summary import ScenarioRow, Summary, TrackRow, format_seconds, summarize
from app.tui import keys
from app.tui.messages import CourseLoaded
from app.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from app.tui.app import KprepApp

_STATUS = {
    "solved": ("✓", "green"),
    "attempted": ("◐", "yellow"),
    "started": ("·", "yellow"),
    "new": (" ", ""),
}


class HomeScreen(Screen[None]):
    """Tracks on the left, the highlighted track's scenarios on the right."""

    BINDINGS: ClassVar[list[BindingType]] = keys.HOME_BINDINGS

    def __init__(self) -> None:
        super().__init__()
        self.summary: Summary | None = None
        self._track: str | None = None
        self._warned_notes: set[str] = set()
        self._scenarios: list[ScenarioCard] = []
        self._course_notes: list[str] = []
        self._first_resume = True
        self._columns_width = 0
        self.due_count = 0
        """Concepts due today, as last shown."""

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("kprep · Kubernetes for ML interviews", id="home-title")
        with Horizontal(id="home-banner"):
            yield Static(id="continue")
            yield Static(id="next")
        yield Static(id="due-today")
        with Horizontal(id="home-body"):
            with Vertical(id="tracks-pane"):
                yield Static("Tracks", classes="pane-title")
                yield OptionList(id="tracks")
            with Vertical(id="scenarios-pane"):
                yield Static("Scenarios", classes="pane-title", id="scenarios-title")
                table: DataTable[str | Text] = DataTable(
                    id="scenarios", cursor_type="row", zebra_stripes=False
                )
                yield table
                yield Static(id="scenario-detail")
        yield Static(id="notes")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._add_columns()
        self.query_one("#continue", Static).update(Text("Loading the course…", style="dim"))
        self.query_one("#tracks", OptionList).focus()
        self.load_course()

    @work(thread=True, exclusive=True, group="course", exit_on_error=False)
    def load_course(self) -> None:
        """Read the course index off the UI thread (changed scenarios are parsed: 10 ms each)."""
        try:
            scenarios, errors = load_index(self.kapp.course_dir)
        except Exception as exc:  # noqa: BLE001 - an unreadable course folder: say so
            self.post_message(CourseLoaded([], [f"the course could not be read: {exc}"]))
            return
        self.post_message(CourseLoaded(scenarios, [f"scenario not loaded: {e}" for e in errors]))

    @on(CourseLoaded)
    def _course_loaded(self, message: CourseLoaded) -> None:
        self._scenarios, self._course_notes = message.scenarios, message.notes
        self.refresh_progress(reload=False)
        self.kapp.first_screen_ready()

    def on_screen_resume(self) -> None:
        if self.summary is not None and not self._first_resume:
            self.refresh_progress()
        self._first_resume = False

    def refresh_progress(self, reload: bool = True) -> None:
        """Redraw from the stored progress; `reload` re-reads the course (cached, cheap)."""
        with self.app.batch_update():  # one layout pass for the whole redraw
            self._refresh_progress(reload)

    def _refresh_progress(self, reload: bool) -> None:
        kapp = self.kapp
        if reload:
            scenarios, errors = load_index(kapp.course_dir)
            self._scenarios = scenarios
            self._course_notes = [f"scenario not loaded: {e}" for e in errors]
        scenarios, error_notes = self._scenarios, self._course_notes
        try:
            self.summary = summarize(
                scenarios, kapp.store, error_notes, catalog_or_none(kapp.course_dir)
            )
        except Exception as exc:  # noqa: BLE001 - a broken store must not stop the home screen
            kapp.notify(f"progress unavailable: {exc}", severity="error")
            self.summary = summarize(
                scenarios, ProgressStore.in_memory(), error_notes, catalog_or_none(kapp.course_dir)
            )
        summary = self.summary
        self.query_one("#continue", Static).update(
            _banner("Continue", summary.continue_with, "c"), layout=False
        )
        everything_solved = all(row.progress.passed for row in summary.rows)
        self.query_one("#next", Static).update(
            _banner("Next", summary.recommended, "n", everything_solved), layout=False
        )
        self._show_due(scenarios)
        notes = self.query_one("#notes", Static)
        notes.update("\n".join(f"note: {n}" for n in summary.notes[:3]))
        notes.display = bool(summary.notes)
        fresh = [n for n in summary.notes if n not in self._warned_notes]
        if fresh:
            self._warned_notes.update(fresh)
            self.notify("\n".join(fresh[:3]), title="Course", severity="warning", timeout=8)
        tracks = self.query_one("#tracks", OptionList)
        previous = self._track
        if previous is None and summary.continue_with is not None:
            previous = summary.continue_with.scenario.track
        tracks.clear_options()
        options: list[Option | None] = []
        for track in summary.tracks:
            if options:
                options.append(None)
            options.append(Option(_track_prompt(track), id=track.track))
        tracks.add_options(options)
        index = next((i for i, t in enumerate(summary.tracks) if t.track == previous), 0)
        if summary.tracks:
            tracks.highlighted = index
            self._show_track(summary.tracks[index].track)

    def _title_width(self) -> int:
        table = self.query_one("#scenarios", DataTable)
        # Three fixed columns (1 + 7 + 5 cells), one cell of padding each side of four, and
        # the vertical scrollbar whether or not it shows yet (rows are two lines high).
        scrollbar = table.styles.scrollbar_size_vertical
        return max(16, table.size.width - scrollbar - 13 - 8 - 1)

    def _add_columns(self) -> None:
        table = self.query_one("#scenarios", DataTable)
        table.clear(columns=True)
        self._columns_width = self._title_width()
        table.add_column("", key="status", width=1)
        table.add_column("Scenario", key="title", width=self._columns_width)
        table.add_column("Level", key="level", width=7)
        table.add_column("Best", key="best", width=5)

    def on_resize(self) -> None:
        if self._track is not None:
            self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        """Redraw the table if the resize changed its width (titles are cut to fit)."""
        if self._track is not None and self._title_width() != self._columns_width:
            self._show_track(self._track)

    def _track_row(self, track: str) -> TrackRow | None:
        if self.summary is None:
            return None
        return next((t for t in self.summary.tracks if t.track == track), None)

    def _show_track(self, track: str) -> None:
        row = self._track_row(track)
        if row is None:
            return
        self._track = track
        self.query_one("#scenarios-title", Static).update(
            f"{row.title} · {row.solved}/{row.total} solved", layout=False
        )
        if self._title_width() != self._columns_width:
            self._add_columns()  # the pane has its real width now (or was resized)
        table = self.query_one("#scenarios", DataTable)
        keep = None
        if table.row_count:
            try:
                keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            except Exception:  # noqa: BLE001 - an empty or changed table has no cursor row
                keep = None
        table.clear()
        width = self._title_width()
        for item in row.scenarios:
            mark, colour = _STATUS[item.status]
            # Two lines: the title, then the id `kprep practice` takes.
            title = Text(item.scenario.title, no_wrap=True, overflow="ellipsis")
            title.truncate(width, overflow="ellipsis")
            scenario_id = Text(item.scenario.id, style="dim", no_wrap=True, overflow="ellipsis")
            scenario_id.truncate(width, overflow="ellipsis")
            title.append("\n").append_text(scenario_id)
            best = (
                f"{item.progress.best_score}/{item.scenario.max_score}"
                if item.progress.best_score is not None
                else ""
            )
            table.add_row(
                Text(mark, style=colour),
                title,
                item.scenario.difficulty,
                best,
                key=item.scenario.id,
                height=2,
            )
        if not row.scenarios:
            table.add_row("", Text("No scenarios in this track yet.", style="dim"), "", "", key="")
        if keep:
            with contextlib.suppress(Exception):  # the row may be gone
                table.move_cursor(row=table.get_row_index(keep))

    @on(OptionList.OptionHighlighted, "#tracks")
    def _track_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # refresh_progress shows the highlighted track itself; its highlight comes after.
        if event.option.id and event.option.id != self._track:
            self._show_track(event.option.id)

    @on(OptionList.OptionSelected, "#tracks")
    def _track_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#scenarios", DataTable).focus()

    @on(DataTable.RowHighlighted, "#scenarios")
    def _scenario_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self.summary.row(event.row_key.value or "") if self.summary else None
        self.query_one("#scenario-detail", Static).update(_detail(row) if row else "", layout=False)

    @on(DataTable.RowSelected, "#scenarios")
    async def _scenario_selected(self, event: DataTable.RowSelected) -> None:
        scenario_id = event.row_key.value
        if scenario_id:
            await self.kapp.open_scenario(scenario_id)

    def _show_due(self, scenarios: list[ScenarioCard]) -> None:
        """Concepts due today and each one's drill (the review queue, without its questions:
        naming them needs the whole course, which the review screen loads)."""
        due_line = self.query_one("#due-today", Static)
        try:
            store = self.kapp.store
            due = review_queue(
                store.due_reviews(),
                datetime.now(UTC),
                {s.id for s in scenarios},
                store.concept_scenarios(),
            )
        except Exception as exc:  # noqa: BLE001 - ProgressError: the home screen goes on
            due_line.update(Text(f"Due today: unavailable ({exc})", style="dim"), layout=False)
            return
        self.due_count = len(due)
        text = Text()
        text.append("Due today ", style="bold")
        text.append("[r] ", style="dim")
        if not due:
            text.append("nothing to review", style="dim")
        else:
            shown = ", ".join(f"{d.concept} ({d.describe()})" for d in due[:3])
            more = f" and {len(due) - 3} more" if len(due) > 3 else ""
            text.append(f"{len(due)} concept{'s' if len(due) != 1 else ''}: {shown}{more}")
        text.append("   Mock interview ", style="bold")
        text.append("[i]", style="dim")
        due_line.update(text, layout=False)

    async def action_review(self) -> None:
        await self.kapp.open_review()

    async def action_interview(self) -> None:
        """A 45-minute, three-question interview over the whole course."""
        try:
            found, _errors = self.kapp.course.load_all()
            weakness = weakness_from(self.kapp.store.schedule(), datetime.now(UTC))
            plan = plan_interview(found, count=min(3, len(found)), minutes=45, weakness=weakness)
        except Exception as exc:  # noqa: BLE001 - PlanError, a course or progress error: say why
            self.notify(f"cannot start an interview: {exc}", severity="error")
            return
        await self.kapp.open_interview(
            json.dumps(
                {"scenarios": list(plan.scenarios), "minutes": 45, "track": None, "seed": plan.seed}
            )
        )

    async def action_continue(self) -> None:
        if self.summary is None:
            self.notify("Still loading the course…")
            return
        row = self.summary.continue_with
        if row is None:
            self.notify("Nothing to continue yet: pick a scenario, or press n.")
            return
        await self.kapp.open_scenario(row.scenario.id)

    async def action_next(self) -> None:
        if self.summary is None:
            self.notify("Still loading the course…")
            return
        row = self.summary.recommended
        if row is None:
            if all(r.progress.passed for r in self.summary.rows):
                self.notify("Every scenario is solved. Well done!")
            else:
                self.notify("Only the scenario to continue is left: press c.")
            return
        await self.kapp.open_scenario(row.scenario.id)

    async def action_lesson(self) -> None:
        if self._track:
            await self.kapp.open_lesson(self._track)


def _detail(row: ScenarioRow) -> Text:
    """Two lines about the highlighted scenario: what it is and how it went."""
    s, p = row.scenario, row.progress
    text = Text()
    text.append(f"{s.id}", style="bold")
    text.append(
        f" · {s.difficulty} · {len(s.checks)} checks · {len(s.hints)} hints · lesson {s.lesson}",
        style="dim",
    )
    text.append("\n")
    if not p.attempts and not p.seconds:
        text.append("not started · enter opens it", style="dim")
        return text
    parts = [f"{p.attempts} attempt(s)"]
    if p.best_score is not None:
        parts.append(f"best {p.best_score}/{s.max_score}")
    if p.hints_used:
        parts.append(f"{p.hints_used} hint(s)")
    if p.revealed:
        parts.append("answer seen")
    if p.self_grades:
        parts.append(f"{p.self_grades} follow-up(s) graded")
    if p.seconds >= 60:
        parts.append(format_seconds(p.seconds))
    text.append(" · ".join(parts), style="green" if p.passed else "")
    return text


def _banner(label: str, row: ScenarioRow | None, key: str, all_solved: bool = False) -> Text:
    text = Text()
    text.append(f"{label} ", style="bold")
    text.append(f"[{key}] ", style="dim")
    if row is None:
        text.append("all solved" if all_solved else "—", style="dim")
        return text
    text.append(row.scenario.title)
    text.append(f" ({row.scenario.id})", style="dim")
    if row.progress.best_score is not None:
        text.append(f"  {row.progress.best_score}/{row.scenario.max_score}", style="dim")
    return text


def _track_prompt(track: TrackRow) -> Text:
    text = Text(track.title, style="bold")
    text.append("\n  ")
    if track.total == 0:
        text.append("no scenarios yet", style="dim")
        return text
    text.append(f"{track.solved}/{track.total} solved", style="green" if track.solved else "")
    text.append(f" · {track.attempted} tried", style="dim")
    if track.max_points:
        text.append(f" · {track.best_points}/{track.max_points}", style="dim")
    return text
