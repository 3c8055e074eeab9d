"""`kprep review` and the home screen's "due today": the concepts FSRS says are due, each
with its drill. A follow-up drill is answered and graded here (the grade reviews the
concept); a scenario drill opens the scenario, whose recorded attempt reviews it.

The queue comes from `app.progress.queue`; the coverage suggestion from `app.coach` in a
worker, when the extra is installed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from app.coach.coverage import CoachUnavailable, available, load_scorer
from app.progress.queue import review_queue
from app.progress.records import SELF_GRADES
from app.tui import keys
from app.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from app.course.models import FollowUp
    from app.progress.queue import DueItem
    from app.tui.app import KprepApp


def due_items(kapp: KprepApp) -> list[DueItem]:
    """Today's queue, its drills named from the loaded course."""
    store = kapp.store
    due = store.due_reviews()
    if not due:
        return []
    found, _errors = kapp.course.load_all()
    questions = {s.id: tuple(f.question for f in s.follow_ups) for s in found}
    return review_queue(
        due, datetime.now(UTC), set(questions), store.concept_scenarios(), questions
    )


class ReviewScreen(Screen[None]):
    """The due queue; enter drills the highlighted concept."""

    BINDINGS: ClassVar[list[BindingType]] = keys.REVIEW_BINDINGS
    AUTO_FOCUS = "#review-list"

    def __init__(self) -> None:
        super().__init__()
        self.items: list[DueItem] = []

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="review-title")
        yield OptionList(id="review-list")
        yield Static(id="review-help")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        try:
            self.items = due_items(self.kapp)
        except Exception as exc:  # noqa: BLE001 - ProgressError, a course error: say it
            self.items = []
            self.notify(f"the review queue is unavailable: {exc}", severity="error")
        listing = self.query_one("#review-list", OptionList)
        listing.clear_options()
        for item in self.items:
            label = Text.assemble(
                (f"{item.concept:<28}", "bold"),
                (f" {round(100 * item.recall):>3}% recall  ", "dim"),
                item.describe(),
            )
            listing.add_option(Option(label))
        count = len(self.items)
        self.query_one("#review-title", Static).update(
            Text.assemble(
                ("Review ", "bold"),
                f"{count} concept{'s' if count != 1 else ''} due today"
                if count
                else "nothing due today: come back tomorrow",
            )
        )
        self.query_one("#review-help", Static).update(
            Text(
                "enter drills the concept: a follow-up you answer and grade here, or the "
                "scenario (a recorded attempt reviews it).",
                style="dim",
            )
        )
        if count:
            listing.highlighted = 0

    @on(OptionList.OptionSelected, "#review-list")
    async def _selected(self, event: OptionList.OptionSelected) -> None:
        await self.drill(event.option_index)

    async def drill(self, index: int) -> None:
        item = self.items[index]
        if item.drill == "follow-up" and item.follow_up is not None:
            try:
                scenario = self.kapp.course.scenario(item.scenario)
                follow_up = scenario.follow_ups[item.follow_up]
            except (KeyError, IndexError, OSError) as exc:
                self.notify(f"cannot open that follow-up: {exc}", severity="error")
                return
            self.app.push_screen(ReviewFollowUpScreen(item, follow_up))
        else:
            await self.kapp.open_scenario(item.scenario)

    def action_close(self) -> None:
        self.kapp.go_back()


class CoverageFound(Message):
    """The coverage scorer's result for a follow-up answer (posted from a worker)."""

    def __init__(self, coverage: Any, problem: str | None, index: int | None = None) -> None:
        super().__init__()
        self.coverage = coverage
        self.problem = problem
        self.index = index
        """The follow-up it is for, where a screen asks several in turn."""


class ReviewFollowUpScreen(ModalScreen[None]):
    """One follow-up as a drill: answer, compare (coverage in a worker), grade."""

    BINDINGS: ClassVar[list[BindingType]] = keys.FOLLOWUP_BINDINGS

    def __init__(self, item: DueItem, follow_up: FollowUp) -> None:
        super().__init__()
        self.item = item
        self.follow_up = follow_up
        self.revealed = False
        self.coverage: Any = None

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="review-followup", classes="dialog wide"):
            yield Static(
                f"Review · {self.item.concept} · follow-up {self.item.scenario}",
                classes="dialog-title",
            )
            with VerticalScroll():
                yield Static(Text.assemble(("Interviewer: ", "bold"), self.follow_up.question))
                yield TextArea(
                    id="review-answer",
                    soft_wrap=True,
                    tab_behavior="focus",
                    placeholder="Type your answer, then ctrl+r.",
                )
                yield Static(id="review-model")
                with Horizontal(id="review-grades"):
                    for number, grade in enumerate(SELF_GRADES, start=1):
                        yield Button(f"{number} {grade.title()}", id=f"review-{grade}")
            yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#review-model", Static).display = False
        self.query_one("#review-grades").display = False
        self.query_one("#review-answer", TextArea).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "grade":
            return self.revealed
        if action == "reveal":
            return not self.revealed
        return True

    def action_reveal(self) -> None:
        self.revealed = True
        answer = self.query_one("#review-answer", TextArea)
        answer.read_only = True
        self._show_model()
        self.query_one("#review-grades").display = True
        self.query_one("#review-good", Button).focus()
        self._score(answer.text)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="coverage")
    def _score(self, text: str) -> None:
        problem = available()
        if problem is not None:
            self.post_message(CoverageFound(None, problem))
            return
        try:
            result = load_scorer().coverage(self.follow_up.key_points, text)
        except CoachUnavailable as exc:
            self.post_message(CoverageFound(None, str(exc)))
            return
        self.post_message(CoverageFound(result, None))

    @on(CoverageFound)
    def _coverage(self, message: CoverageFound) -> None:
        self.coverage = message.coverage
        self._show_model()
        if message.coverage is not None:
            self.query_one(f"#review-{message.coverage.suggested}", Button).focus()

    def _show_model(self) -> None:
        text = Text("\nKey points\n", style="bold")
        covered = self.coverage.covered if self.coverage is not None else None
        for index, point in enumerate(self.follow_up.key_points):
            if covered is None:
                text.append(f"  • {point}\n")
            else:
                mark, style = ("✓", "green") if covered[index] else ("·", "dim")
                text.append(f"  {mark} {point}\n", style=style)
        if self.coverage is not None:
            text.append(
                f"Covered {sum(covered or ())} of {len(covered or ())}: suggested "
                f"{self.coverage.suggested} (your call)\n",
                style="italic",
            )
        text.append("\nModel answer\n", style="bold")
        text.append(self.follow_up.model_answer)
        model = self.query_one("#review-model", Static)
        model.update(text)
        model.display = True

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("review-"):
            self.action_grade(event.button.id.removeprefix("review-"))

    def action_grade(self, grade: str) -> None:
        if not self.revealed:
            return
        item, coverage = self.item, self.coverage
        answer = self.query_one("#review-answer", TextArea).text
        stored: list[int] = []
        self.kapp.record(
            "self-grade",
            lambda s: stored.append(
                s.record_self_grade(
                    item.scenario,
                    item.follow_up or 0,
                    self.follow_up.question,
                    answer,
                    grade,
                    concept=item.concept,
                )
            ),
        )
        if coverage is not None and stored:
            self.kapp.record("coverage", lambda s: s.record_coverage(stored[0], coverage))
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
