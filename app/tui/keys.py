"""Every key binding of the app: defined here, grouped as the help screen and
docs/keybindings.md show them.

Each binding has an `id`; `[keymap]` in config.toml maps ids to keys
(`App.set_keymap`). The screens take their `BINDINGS` from this module, which
imports nothing of kprep's, so the help screen, the docs and the keymap check
read every binding without importing a screen. `python -m app.tui.keys` prints
the Markdown for docs/keybindings.md; a test keeps the file in sync.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

EDITOR_KEYS: tuple[tuple[str, str], ...] = (
    ("enter", "New line, indented for YAML (one level deeper after `key:` and `- `)"),
    ("tab / shift+tab", "Indent with spaces (never a tab) / dedent; a whole selection at once"),
    ("backspace", "In the indentation, back to the previous level"),
    ("ctrl+z / ctrl+y", "Undo / redo"),
    ("escape", "Leave the editor (focus the results list)"),
    ("ctrl+c / ctrl+x / ctrl+v", "Copy the selection / cut / paste"),
    ("ctrl+k / ctrl+w", "Delete to end of line / delete word left"),
    ("shift+arrows", "Select"),
)
"""The editor's own keys (not remappable), listed for reference. Tabs show tinted and
trailing spaces as dots; long comment lines wrap."""


APP_BINDINGS: list[BindingType] = [
    Binding(
        "ctrl+q",
        "quit_saving",
        "Quit",
        id="quit",
        priority=True,
        tooltip="Save the draft and progress, then exit.",
    ),
    Binding(
        "ctrl+c",
        "copy_or_quit",
        "Copy / quit",
        id="copy-or-quit",
        priority=True,
        show=False,
        tooltip="Copy the selected text; with nothing selected, save and exit.",
    ),
    Binding(
        "f1,question_mark",
        "help",
        "Help",
        id="help",
        tooltip="Every key binding, with its id for config.toml.",
    ),
]

HOME_BINDINGS: list[BindingType] = [
    Binding(
        "c",
        "continue",
        "Continue",
        id="home.continue",
        tooltip="Open the scenario you worked on last.",
    ),
    Binding("n", "next", "Next", id="home.next", tooltip="Open the recommended next scenario."),
    Binding(
        "l",
        "lesson",
        "Lesson",
        id="home.lesson",
        tooltip="Read the highlighted track's lesson.",
    ),
    Binding("r", "review", "Review", id="home.review", tooltip="Review the concepts due today."),
    Binding(
        "i",
        "interview",
        "Interview",
        id="home.interview",
        tooltip="A 45-minute mock interview: three questions, no hints, a scorecard.",
    ),
    Binding("tab", "app.focus_next", "Switch pane", id="home.focus-next", show=False),
]

LESSON_BINDINGS: list[BindingType] = [
    Binding(
        "t",
        "focus_toc",
        "Contents",
        id="lesson.contents",
        tooltip="Move to the table of contents.",
    ),
    Binding(
        "p",
        "focus_practice",
        "Practise",
        id="lesson.practise",
        tooltip="Move to the scenarios for this section.",
    ),
    Binding(
        "r",
        "focus_text",
        "Read",
        id="lesson.read",
        show=False,
        tooltip="Move to the lesson text.",
    ),
    Binding("escape", "back", "Back", id="lesson.back"),
]

SCENARIO_BINDINGS: list[BindingType] = [
    Binding(
        "ctrl+r,f5",
        "grade",
        "Grade",
        id="scenario.grade",
        priority=True,
        tooltip="Grade the answer and record the attempt (checks also run as you type).",
    ),
    Binding(
        "ctrl+g",
        "hint",
        "Hint",
        id="scenario.hint",
        priority=True,
        tooltip="Show the next hint (counted once it is on screen).",
    ),
    Binding(
        "ctrl+o",
        "reference",
        "Answer",
        id="scenario.reference",
        priority=True,
        tooltip="The reference answer, its explanation and a diff against yours.",
    ),
    Binding(
        "ctrl+f",
        "follow_ups",
        "Follow-ups",
        id="scenario.follow-ups",
        priority=True,
        tooltip="The interviewer's next questions (after passing).",
    ),
    Binding(
        "f7",
        "next_scenario",
        "Next scenario",
        id="scenario.next-scenario",
        priority=True,
        tooltip="Open the next recommended scenario (after passing).",
    ),
    Binding(
        "ctrl+l",
        "check_live",
        "Cluster",
        id="scenario.check-live",
        priority=True,
        tooltip="Apply the answer to the local cluster and show where pods landed.",
    ),
    Binding(
        "ctrl+e",
        "external_editor",
        "$EDITOR",
        id="scenario.external-editor",
        priority=True,
        show=False,
        tooltip="Open the draft in your own editor.",
    ),
    Binding(
        "ctrl+n,f8",
        "next_problem",
        "Next problem",
        id="scenario.next-problem",
        priority=True,
        show=False,
        tooltip="Move the cursor to the next failed check or problem.",
    ),
    Binding(
        "f2",
        "explain",
        "Why",
        id="scenario.explain",
        priority=True,
        show=False,
        tooltip="The full teaching text of the check at the cursor (again: short again).",
    ),
    Binding(
        "ctrl+t",
        "goto_line",
        "Go to line",
        id="scenario.goto-line",
        priority=True,
        show=False,
        tooltip="Move the cursor to a line number.",
    ),
    Binding(
        "f4",
        "lesson",
        "Lesson",
        id="scenario.lesson",
        tooltip="Read the lesson section this scenario practises.",
    ),
    Binding(
        "f10",
        "autoscale",
        "Autoscaling",
        id="scenario.autoscale",
        show=False,
        priority=True,
        tooltip="Autoscaling scenarios: your HPA's and the reference's replicas under a "
        "load, simulated or live.",
    ),
    Binding(
        "f9",
        "reset",
        "Reset",
        id="scenario.reset",
        show=False,
        tooltip="Restore the starter (asks first; keeps a backup; ctrl+z undoes it).",
    ),
    Binding(
        "f6",
        "cycle_focus",
        "Results",
        id="scenario.focus-results",
        show=False,
        priority=True,
        tooltip="Move focus: editor, results list, prompt and hints, editor.",
    ),
    Binding(
        "escape",
        "focus_editor",
        "Editor",
        id="scenario.editor",
        show=False,
        tooltip="From the results list or the prompt: back to the editor (never leaves).",
    ),
    Binding(
        "f3",
        "back",
        "Back",
        id="scenario.back",
        show=False,
        priority=True,
        tooltip="Leave the scenario (the draft is saved): back to the lesson or home.",
    ),
]

RESULTS_BINDINGS: list[BindingType] = [
    Binding(
        "space",
        "toggle_details",
        "Why",
        id="results.details",
        tooltip="Show or hide the full teaching text of the highlighted check.",
    ),
]

GOTO_BINDINGS: list[BindingType] = [
    Binding("escape", "cancel", "Cancel", id="goto.cancel"),
]

FOLLOWUP_BINDINGS: list[BindingType] = [
    Binding(
        "ctrl+r,f5",
        "reveal",
        "Show model answer",
        id="followup.reveal",
        priority=True,
        tooltip="Compare your answer with the key points and the model answer.",
    ),
    Binding("1", "grade('again')", "Again", id="followup.again"),
    Binding("2", "grade('hard')", "Hard", id="followup.hard"),
    Binding("3", "grade('good')", "Good", id="followup.good"),
    Binding("4", "grade('easy')", "Easy", id="followup.easy"),
    Binding("escape", "close", "Close", id="followup.close"),
]

REFERENCE_BINDINGS: list[BindingType] = [
    Binding("escape,q", "close", "Close", id="reference.close"),
    Binding("d", "tab('diff')", "Diff", id="reference.diff"),
    Binding("a", "tab('answer')", "Answer", id="reference.answer"),
    Binding("e", "tab('explanation')", "Explanation", id="reference.explanation"),
]

AUTOSCALE_BINDINGS: list[BindingType] = [
    Binding("left", "previous_load", "Load ←", id="autoscale.previous-load"),
    Binding("right", "next_load", "Load →", id="autoscale.next-load"),
    Binding(
        "ctrl+l",
        "live",
        "Run live",
        id="autoscale.live",
        tooltip="Run your answer on the real HPA controller (lab time, about two minutes).",
    ),
    Binding(
        "escape,q",
        "close",
        "Close",
        id="autoscale.close",
        tooltip="Back to the scenario (a live run stops and cleans up).",
    ),
]

PLACEMENT_BINDINGS: list[BindingType] = [
    Binding("escape,q", "close", "Close", id="placement.close"),
]

CONFIRM_BINDINGS: list[BindingType] = [
    Binding("y", "answer(True)", "Yes", id="confirm.yes"),
    Binding("n,escape", "answer(False)", "No", id="confirm.no"),
]

INTERVIEW_BINDINGS: list[BindingType] = [
    Binding(
        "ctrl+r,f5",
        "submit",
        "Submit",
        id="interview.submit",
        priority=True,
        tooltip="Hand in the manifest or the answer and move on (the clock does it at zero).",
    ),
    # Priority: the editor's own escape (focus the results) has nothing to go to here.
    Binding(
        "escape",
        "leave",
        "Leave",
        id="interview.leave",
        priority=True,
        tooltip="Leave the interview.",
    ),
]

DEBRIEF_BINDINGS: list[BindingType] = [
    Binding("1", "grade('again')", "Again", id="debrief.again"),
    Binding("2", "grade('hard')", "Hard", id="debrief.hard"),
    Binding("3", "grade('good')", "Good", id="debrief.good"),
    Binding("4", "grade('easy')", "Easy", id="debrief.easy"),
    Binding(
        "s", "skip_rest", "Scorecard", id="debrief.scorecard", tooltip="Skip to the scorecard."
    ),
]

SCORECARD_BINDINGS: list[BindingType] = [
    Binding("1", "study(1)", "Study 1", id="scorecard.study-1", tooltip="Open the lesson."),
    Binding("2", "study(2)", "Study 2", id="scorecard.study-2", tooltip="Open the lesson."),
    Binding("3", "study(3)", "Study 3", id="scorecard.study-3", tooltip="Open the lesson."),
    Binding("escape,q", "close", "Close", id="scorecard.close"),
]

REVIEW_BINDINGS: list[BindingType] = [
    Binding("escape,q", "close", "Close", id="review.close"),
]

HELP_BINDINGS: list[BindingType] = [
    Binding("escape,q,f1,question_mark", "close", "Close", id="help.close"),
]


def binding_sections() -> list[tuple[str, list[Binding]]]:
    """(section title, bindings) in the order the help screen shows them."""
    sections: list[tuple[str, list[BindingType]]] = [
        ("Everywhere", APP_BINDINGS),
        ("Home", HOME_BINDINGS),
        ("Lesson", LESSON_BINDINGS),
        ("Scenario", SCENARIO_BINDINGS),
        ("Results list", RESULTS_BINDINGS),
        ("Go to line", GOTO_BINDINGS),
        ("Follow-up questions", FOLLOWUP_BINDINGS),
        ("Reference answer", REFERENCE_BINDINGS),
        ("Autoscaling", AUTOSCALE_BINDINGS),
        ("Cluster placement", PLACEMENT_BINDINGS),
        ("Confirmation", CONFIRM_BINDINGS),
        ("Mock interview", INTERVIEW_BINDINGS),
        ("Interview debrief", DEBRIEF_BINDINGS),
        ("Interview scorecard", SCORECARD_BINDINGS),
        ("Review queue", REVIEW_BINDINGS),
    ]
    return [
        (title, [b for b in bindings if isinstance(b, Binding)]) for title, bindings in sections
    ]


def all_binding_ids() -> set[str]:
    return {b.id for _, bindings in binding_sections() for b in bindings if b.id}


def keymap_markdown() -> str:
    """The binding reference as Markdown (docs/keybindings.md)."""
    lines = [
        "# Key bindings",
        "",
        "Every binding has an id. Remap any of them in `config.toml` in kprep's config",
        "folder (`~/.config/kprep/config.toml` on Linux, `~/Library/Application",
        "Support/kprep/config.toml` on macOS, `$KPREP_HOME/config/config.toml` when",
        "`KPREP_HOME` is set). A value is one key or several, comma-separated; Textual",
        "key names (`ctrl+r`, `f5`, `question_mark`). Unknown ids are reported at start.",
        "`[ui]` sets `theme` (any Textual theme) and `editor` (for ctrl+e; default",
        "`$VISUAL`, then `$EDITOR`, then `vi`).",
        "",
        "```toml",
        "[keymap]",
        'scenario.grade = "ctrl+r,f5"   # comma-separated keys',
        'scenario.hint = "f2"',
        "",
        "[ui]",
        'theme = "nord"',
        'editor = "nvim"',
        "```",
        "",
        "Press F1 (or ?) in the app for this list with your own keys. ctrl+p opens the",
        "command palette: any scenario or lesson by name or id, the scenario's actions,",
        "and every field of your YAML to jump to.",
        "",
    ]
    for title, bindings in binding_sections():
        lines += [f"## {title}", "", "| keys | action | id |", "|---|---|---|"]
        for binding in bindings:
            description = binding.tooltip or binding.description
            lines.append(f"| `{binding.key}` | {description} | `{binding.id}` |")
        lines.append("")
    lines += [
        "## Editor",
        "",
        "The YAML editor's own keys (not remappable):",
        "",
        "| keys | action |",
        "|---|---|",
    ]
    lines += [f"| `{keys}` | {what} |" for keys, what in EDITOR_KEYS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(keymap_markdown(), end="")
