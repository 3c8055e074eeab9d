"""Follow-up questions, one at a time: answer, see the key points and the model
answer, grade yourself (again / hard / good / easy). Grades are stored. With
kprep[coach] installed, the key points your answer covers are marked (scored in a
worker) and the suggested grade is focused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from app.coach.coverage import CoachUnavailable, available, load_scorer
from app.course.models import Scenario
from app.progress.records import SELF_GRADES
from app.tui import keys
from app.tui.screens.review import CoverageFound
from app.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from app.tui.app import KprepApp


class FollowUpScreen(ModalScreen[None]):
    """Asks the scenario's follow-up questions in turn."""

    BINDINGS: ClassVar[list[BindingType]] = keys.FOLLOWUP_BINDINGS

    def __init__(self, scenario: Scenario, start: int | None = None) -> None:
        super().__init__()
        self.scenario = scenario
        self.index = start or 0
        self.revealed = False
        self.graded: list[str] = []
        """Grades given in this sitting, in order."""
        self._start = start
        self.coverage: Any = None
        """The coverage scorer's result for the current answer, once it is in."""

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="followup-dialog", classes="dialog wide"):
            yield Static(id="followup-title", classes="dialog-title")
            with VerticalScroll(id="followup-scroll"):
                yield Static(id="followup-question")
                yield TextArea(
                    id="followup-answer",
                    soft_wrap=True,
                    tab_behavior="focus",
                    placeholder="Type your answer as you would say it, then ctrl+r.",
                )
                yield Static(id="followup-model")
                with Horizontal(id="followup-grades"):
                    for number, grade in enumerate(SELF_GRADES, start=1):
                        yield Button(f"{number} {grade.title()}", id=f"grade-{grade}")
            yield KeyFooter()

    def on_mount(self) -> None:
        if self._start is None:
            try:
                done = {g.question_index for g in self.kapp.store.self_grades(self.scenario.id)}
            except Exception:  # noqa: BLE001 - ProgressError: start at the top
                done = set()
            self.index = next((i for i in range(len(self.scenario.follow_ups)) if i not in done), 0)
        self._show()

    def _show(self) -> None:
        questions = self.scenario.follow_ups
        question = questions[self.index]
        self.revealed = False
        self.query_one("#followup-title", Static).update(
            f"Follow-up {self.index + 1}/{len(questions)} · {self.scenario.title}"
        )
        self.query_one("#followup-question", Static).update(
            Text.assemble(("Interviewer: ", "bold"), question.question)
        )
        answer = self.query_one("#followup-answer", TextArea)
        answer.read_only = False
        answer.load_text("")
        answer.focus()
        self.query_one("#followup-model", Static).display = False
        self.query_one("#followup-grades").display = False
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "grade":
            return self.revealed
        if action == "reveal":
            return not self.revealed
        return True

    def action_reveal(self) -> None:
        self.revealed = True
        self.coverage = None
        self._show_model()
        self.query_one("#followup-answer", TextArea).read_only = True
        grades = self.query_one("#followup-grades")
        grades.display = True
        self.query_one("#grade-good", Button).focus()
        self.refresh_bindings()
        model = self.query_one("#followup-model", Static)
        self.call_after_refresh(model.scroll_visible)
        self._score(self.index, self.query_one("#followup-answer", TextArea).text)

    @work(thread=True, exclusive=True, group="coverage")
    def _score(self, index: int, answer: str) -> None:
        if available() is not None:
            return  # without the extra, self-grading works as it always did
        try:
            result = load_scorer().coverage(self.scenario.follow_ups[index].key_points, answer)
        except CoachUnavailable:
            return
        self.post_message(CoverageFound(result, None, index))

    @on(CoverageFound)
    def _coverage_found(self, message: CoverageFound) -> None:
        if message.index != self.index or not self.revealed:
            return  # an answer already graded
        self.coverage = message.coverage
        self._show_model()
        self.query_one(f"#grade-{message.coverage.suggested}", Button).focus()

    def _show_model(self) -> None:
        question = self.scenario.follow_ups[self.index]
        coverage: Any = self.coverage
        text = Text()
        text.append("Key points\n", style="bold")
        for number, point in enumerate(question.key_points):
            if coverage is None:
                text.append(f"  • {point}\n")
            elif coverage.covered[number]:
                text.append(f"  ✓ {point}\n", style="green")
            else:
                text.append(f"  · {point}\n", style="dim")
        if coverage is not None:
            text.append(
                f"Your answer covers {sum(coverage.covered)} of {len(coverage.covered)}: "
                f"suggested {coverage.suggested} (your call)\n",
                style="italic",
            )
        text.append("\nModel answer\n", style="bold")
        text.append(question.model_answer)
        text.append("\n\nHow did you do? 1 again · 2 hard · 3 good · 4 easy", style="dim")
        model = self.query_one("#followup-model", Static)
        model.update(text)
        model.display = True

    @on(Button.Pressed)
    def _grade_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("grade-"):
            self.action_grade(event.button.id.removeprefix("grade-"))

    def action_grade(self, grade: str) -> None:
        if not self.revealed:
            return
        question = self.scenario.follow_ups[self.index]
        answer = self.query_one("#followup-answer", TextArea).text
        index = self.index
        coverage: Any = self.coverage
        stored: list[int] = []
        self.kapp.record(
            "self-grade",
            lambda s: stored.append(
                s.record_self_grade(self.scenario.id, index, question.question, answer, grade)
            ),
        )
        if coverage is not None and stored:
            self.kapp.record("coverage", lambda s: s.record_coverage(stored[0], coverage))
        self.coverage = None
        self.graded.append(grade)
        if self.index + 1 < len(self.scenario.follow_ups):
            self.index += 1
            self._show()
            return
        self.notify(
            f"Follow-ups done: {', '.join(self.graded)}. Questions you marked 'again' "
            "are worth another go tomorrow.",
            title="Follow-ups",
        )
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
