"""The reference answer: a coloured diff against the candidate's draft, the answer,
and its explanation."""

from __future__ import annotations

import difflib
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static, TabbedContent, TabPane, TextArea

from app.course.models import Scenario
from app.tui import keys
from app.tui.widgets.editor import yaml_language
from app.tui.widgets.footer import KeyFooter


def unified_diff(candidate: str, reference: str) -> Text:
    """`difflib` unified diff of the draft against the reference, coloured."""
    lines = list(
        difflib.unified_diff(
            candidate.splitlines(),
            reference.splitlines(),
            "your answer",
            "reference",
            lineterm="",
            n=3,
        )
    )
    if not lines:
        return Text("Your answer is identical to the reference.", style="green")
    text = Text()
    for line in lines:
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        text.append(line + "\n", style=style)
    text.rstrip()
    return text


class ReferenceScreen(ModalScreen[None]):
    """Diff, answer and explanation in tabs."""

    BINDINGS: ClassVar[list[BindingType]] = keys.REFERENCE_BINDINGS

    def __init__(self, scenario: Scenario, candidate: str, answer: str, explanation: str) -> None:
        super().__init__()
        self.scenario = scenario
        self.candidate = candidate
        self.answer = answer
        self.explanation = explanation

    @classmethod
    def load(cls, scenario: Scenario, candidate: str) -> ReferenceScreen | str:
        """The screen for `scenario` against the draft `candidate`, or why it cannot open."""
        try:
            answer = scenario.answer_text()
        except OSError as exc:
            return f"the reference answer is missing: {exc}"
        try:
            explanation = scenario.explanation_text()
        except OSError:
            explanation = "_No explanation for this scenario._"
        return cls(scenario, candidate, answer, explanation)

    def compose(self) -> ComposeResult:
        with Vertical(id="reference-dialog", classes="dialog wide"):
            yield Static(f"Reference answer · {self.scenario.title}", classes="dialog-title")
            with TabbedContent(initial="diff"):
                with (
                    TabPane("Diff (yours → reference)", id="diff"),
                    VerticalScroll(id="diff-scroll"),
                ):
                    yield Static(unified_diff(self.candidate, self.answer), id="diff-text")
                with TabPane("Answer", id="answer"):
                    yield TextArea(
                        self.answer,
                        language=yaml_language(),
                        read_only=True,
                        show_line_numbers=True,
                        soft_wrap=False,
                        id="answer-text",
                    )
                with (
                    TabPane("Explanation", id="explanation"),
                    VerticalScroll(id="explanation-scroll"),
                ):
                    yield Markdown(self.explanation, open_links=False)
            yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#diff-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        target = {
            "diff": "#diff-scroll",
            "answer": "#answer-text",
            "explanation": "#explanation-scroll",
        }[tab]
        self.query_one(target).focus()
