"""The mock interview on screen: the questions against a visible clock, the debrief where
follow-up answers are graded (with key-point coverage when kprep[coach] is installed),
and the scorecard.

`app.interview.session.InterviewSession` owns the rules (the clock, auto-submission,
what is recorded); these screens show its state and pass the candidate's keys to it.
Nothing is revealed while the clock runs: no hints, checks, reference or lesson.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Markdown, Static, TextArea

from app.coach.coverage import CoachUnavailable, available, load_scorer
from app.progress.records import SELF_GRADES
from app.tui import keys
from app.tui.screens.dialogs import ConfirmScreen
from app.tui.widgets.editor import AnswerEditor
from app.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from app.interview.questions import FollowUpAnswer, QuestionState
    from app.interview.session import InterviewSession
    from app.tui.app import KprepApp

TICK_SECONDS = 0.2
LOW_TIME_SECONDS = 60.0
"""Below this the clock turns to the warning colour."""


def clock_text(seconds: float) -> str:
    whole = max(0, int(seconds + 0.999))
    return f"{whole // 60:02d}:{whole % 60:02d}"


class InterviewScreen(Screen[None]):
    """The questions: a manifest per scenario, then its follow-ups, on one clock each."""

    BINDINGS: ClassVar[list[BindingType]] = keys.INTERVIEW_BINDINGS
    AUTO_FOCUS = "#interview-editor"

    def __init__(self, session: InterviewSession, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.session = session
        self.editor = AnswerEditor(id="interview-editor", cursor_blink=cursor_blink)
        self._shown: tuple[int, str, int] | None = None

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="interview-top"):
            yield Static(id="interview-title")
            yield Static(id="interview-clock")
        with Horizontal(id="interview-body"):
            with VerticalScroll(id="interview-brief"):
                yield Markdown(id="interview-prompt", open_links=False)
            with Vertical(id="interview-work"):
                yield self.editor
                yield TextArea(
                    id="interview-answer",
                    soft_wrap=True,
                    tab_behavior="focus",
                    placeholder="Answer as you would say it to the interviewer, then ctrl+r.",
                )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.session.start()
        self._show()
        self.set_interval(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        if self.session.tick():
            self.notify(
                "Time is up: what was on screen was submitted as it was.",
                title="Next question",
                severity="warning",
            )
            self._show()
        self._show_clock()

    def _show_clock(self) -> None:
        left = self.session.remaining()
        clock = self.query_one("#interview-clock", Static)
        clock.update(Text(f" {clock_text(left)} left ", style="bold"))
        clock.set_class(left <= LOW_TIME_SECONDS, "low")

    def _show(self) -> None:
        session = self.session
        if session.phase in ("debrief", "done"):
            self.app.switch_screen(
                DebriefScreen(session) if session.phase == "debrief" else ScorecardScreen(session)
            )
            return
        question = session.current
        follow_up = session.current_follow_up
        shown = (question.position, session.phase, follow_up.index if follow_up else -1)
        if shown == self._shown:
            return
        self._shown = shown
        total = len(session.questions)
        where = f"Question {question.position + 1}/{total} · {question.scenario.title}"
        if follow_up is not None:
            count = len(question.follow_ups)
            where += f" · follow-up {follow_up.index + 1}/{count}"
        self.query_one("#interview-title", Static).update(
            Text.assemble(("Mock interview · ", "bold"), where)
        )
        prompt = self.query_one("#interview-prompt", Markdown)
        answer = self.query_one("#interview-answer", TextArea)
        if follow_up is None:
            prompt.update(question.scenario.prompt)
            self.editor.display = True
            answer.display = False
            self.editor.load_text(question.draft or _starter(question))
            session.set_draft(self.editor.text)
            self.editor.focus()
        else:
            prompt.update(f"**Interviewer:** {follow_up.question}")
            self.editor.display = False
            answer.display = True
            answer.load_text("")
            answer.focus()
        self.refresh_bindings()

    @on(TextArea.Changed, "#interview-editor")
    def _draft_changed(self) -> None:
        self.session.set_draft(self.editor.text)

    @on(TextArea.Changed, "#interview-answer")
    def _answer_changed(self, event: TextArea.Changed) -> None:
        self.session.set_answer(event.text_area.text)

    def action_submit(self) -> None:
        """Hand in the manifest or the follow-up answer and move on."""
        session = self.session
        if session.phase == "manifest":
            report = session.submit_manifest(self.editor.text)
            if report.blocking_errors:
                self.notify("Submitted with YAML problems; they count against it.")
        elif session.phase == "follow-up":
            session.submit_answer(self.query_one("#interview-answer", TextArea).text)
        self._show()

    def action_leave(self) -> None:
        def answered(leave: bool | None) -> None:
            if leave:
                self.kapp.go_back()

        self.app.push_screen(
            ConfirmScreen(
                "Leave the interview?",
                "What you submitted is kept; the interview is listed as not finished.",
                "Leave",
            ),
            answered,
        )


def _starter(question: QuestionState) -> str:
    try:
        return question.scenario.starter_text()
    except OSError:
        return ""


class CoverageReady(Message):
    def __init__(self, key: tuple[int, int], coverage: Any) -> None:
        super().__init__()
        self.key = key
        self.coverage = coverage


class DebriefScreen(Screen[None]):
    """Each follow-up answer beside its key points and model answer, to grade."""

    BINDINGS: ClassVar[list[BindingType]] = keys.DEBRIEF_BINDINGS

    def __init__(self, session: InterviewSession) -> None:
        super().__init__()
        self.session = session
        self.coverage: dict[tuple[int, int], Any] = {}
        self.coach_problem: str | None = None
        self._current: tuple[int, int] | None = None

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="debrief-title")
        with VerticalScroll(id="debrief-body"):
            yield Static(id="debrief-question")
            yield Static(id="debrief-answer")
            yield Static(id="debrief-points")
            yield Static(id="debrief-model")
        with Horizontal(id="debrief-grades"):
            for number, grade in enumerate(SELF_GRADES, start=1):
                yield Button(f"{number} {grade.title()}", id=f"debrief-{grade}")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._score_all()
        self._show()

    @work(thread=True, exclusive=True, group="coverage")
    def _score_all(self) -> None:
        """Key-point coverage of every answer, off the UI thread (the model loads once)."""
        problem = available()
        if problem is not None:
            self.coach_problem = problem
            return
        try:
            scorer = load_scorer()
        except CoachUnavailable as exc:
            self.coach_problem = str(exc)
            return
        for question, answer in self.session.to_grade():
            points = question.scenario.follow_ups[answer.index].key_points
            result = scorer.coverage(points, answer.answer)
            self.post_message(CoverageReady((question.position, answer.index), result))

    @on(CoverageReady)
    def _coverage_ready(self, message: CoverageReady) -> None:
        self.coverage[message.key] = message.coverage
        if message.key == self._current:
            self._show()

    def _show(self) -> None:
        pending = self.session.to_grade()
        if not pending:
            self.app.switch_screen(ScorecardScreen(self.session))
            return
        question, answer = pending[0]
        self._current = (question.position, answer.index)
        follow_up = question.scenario.follow_ups[answer.index]
        coverage = self.coverage.get(self._current)
        total = sum(1 for q in self.session.questions for a in q.follow_ups if a.reached)
        done = total - len(pending)
        self.query_one("#debrief-title", Static).update(
            Text.assemble(
                ("Debrief ", "bold"),
                f"{done + 1}/{total} · {question.scenario.title} · grade your answer",
            )
        )
        self.query_one("#debrief-question", Static).update(
            Text.assemble(("Interviewer: ", "bold"), follow_up.question)
        )
        said = answer.answer.strip() or "(no answer)"
        if answer.auto_submitted:
            said += "   [the clock ran out here]"
        self.query_one("#debrief-answer", Static).update(
            Text.assemble(("\nYou said: ", "bold"), said)
        )
        points = Text("\nKey points\n", style="bold")
        for index, point in enumerate(follow_up.key_points):
            if coverage is None:
                points.append(f"  • {point}\n", style="")
            elif coverage.covered[index]:
                points.append(f"  ✓ {point}\n", style="green")
            else:
                points.append(f"  · {point}\n", style="dim")
        if coverage is not None:
            points.append(
                f"Your answer covers {sum(coverage.covered)} of {len(coverage.covered)} "
                f"(suggested: {coverage.suggested}; your call)\n",
                style="italic",
            )
        elif self.coach_problem is None:
            points.append("Checking which key points your answer covers…\n", style="dim")
        self.query_one("#debrief-points", Static).update(points)
        self.query_one("#debrief-model", Static).update(
            Text.assemble(("\nModel answer\n", "bold"), follow_up.model_answer)
        )
        for grade in SELF_GRADES:
            button = self.query_one(f"#debrief-{grade}", Button)
            button.variant = (
                "primary" if coverage is not None and grade == coverage.suggested else "default"
            )
        suggested = coverage.suggested if coverage is not None else "good"
        self.query_one(f"#debrief-{suggested}", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("debrief-"):
            self.action_grade(event.button.id.removeprefix("debrief-"))

    def action_grade(self, grade: str) -> None:
        if self._current is None:
            return
        position, index = self._current
        coverage = self.coverage.get(self._current)
        stored: list[int | None] = []
        self.kapp.record(
            "self-grade",
            lambda _store: stored.append(
                self.session.grade_answer(
                    position,
                    index,
                    grade,
                    suggested=coverage.suggested if coverage is not None else None,
                    covered=coverage.covered if coverage is not None else None,
                )
            ),
        )
        if coverage is not None and stored and stored[0]:
            grade_id = stored[0]
            self.kapp.record("coverage", lambda s: s.record_coverage(grade_id, coverage))
        self._show()

    def action_skip_rest(self) -> None:
        """Straight to the scorecard; ungraded answers stay ungraded."""
        self.kapp.record("interview", lambda _store: self.session.finish())
        self.app.switch_screen(ScorecardScreen(self.session))


class ScorecardScreen(Screen[None]):
    """Per question: score, time, failed checks with their concepts, follow-up grades; then
    the three concepts to study next, each with its lesson section (keys 1-3 open it)."""

    BINDINGS: ClassVar[list[BindingType]] = keys.SCORECARD_BINDINGS

    def __init__(self, session: InterviewSession) -> None:
        super().__init__()
        self.session = session
        self.card = session.scorecard()

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        card = self.card
        yield Static(
            Text.assemble(
                ("Scorecard ", "bold"),
                f"{card.score}/{card.max_score} points · {len(card.questions)} questions · "
                f"{card.minutes} minutes",
            ),
            id="scorecard-title",
        )
        with VerticalScroll(id="scorecard-body"):
            yield Static(self._questions(), id="scorecard-questions")
            yield Static(self._study(), id="scorecard-study")
        yield KeyFooter()

    def _questions(self) -> Table:
        table = Table(expand=True, show_lines=True)
        for name in ("question", "score", "time", "failed checks (concept)", "follow-ups"):
            table.add_column(name)
        for q in self.card.questions:
            time_used = clock_text(q.seconds_used) + (" ⏱ auto" if q.auto_submitted else "")
            failed = "\n".join(f"{f.title} ({f.concept})" for f in q.failed_checks) or "—"
            follow_ups = "\n".join(_follow_up_line(a) for a in q.follow_ups) or "—"
            table.add_row(
                f"{q.position + 1}. {q.title}\n[dim]{q.scenario} · {q.difficulty}[/]",
                f"{q.score}/{q.max_score}",
                f"{time_used}\nof {clock_text(q.seconds_allowed)}",
                failed,
                follow_ups,
            )
        return table

    def _study(self) -> Text:
        text = Text("\nStudy next\n", style="bold")
        for number, item in enumerate(self.card.study_next, start=1):
            title = f" ({item.section_title})" if item.section_title else ""
            text.append(f"  {number}. {item.concept}", style="bold")
            text.append(f": {item.why}\n     lesson {item.lesson}{title}")
            text.append(f"  — press {number}\n", style="dim")
        if not self.card.study_next:
            text.append("  Nothing missed: try a harder track next time.\n")
        return text

    async def action_study(self, number: int) -> None:
        items = self.card.study_next
        if 1 <= number <= len(items):
            track, _, section = items[number - 1].lesson.partition("#")
            await self.kapp.open_lesson(track, section or None)

    def action_close(self) -> None:
        self.kapp.go_back()


def _follow_up_line(answer: FollowUpAnswer) -> str:
    if not answer.reached:
        return f"{answer.index + 1}. not reached"
    grade = answer.grade or "not graded"
    suggested = f" (suggested {answer.suggested})" if answer.suggested else ""
    return f"{answer.index + 1}. {grade}{suggested}"
