"""The lesson reader: a track's Markdown with a table of contents, and the
scenarios that practise the section being read (enter opens one; escape there
comes back here).

The lesson is split at its headings into one widget per section, rendered with
Rich's Markdown in the Textual theme's colours. Textual's Markdown widget builds
a widget per paragraph, list item and table cell, which takes seconds for a
30 kB lesson on a small machine; a widget per section opens in a fraction of
that and gives each heading a place to scroll to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from rich.theme import Theme
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from app.course.models import Lesson, Section
from app.progress.course_index import ScenarioCard, load_index
from app.tui import keys
from app.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from app.tui.app import KprepApp


def scenarios_for(
    lesson: Lesson, section: str | None, scenarios: list[ScenarioCard]
) -> tuple[list[ScenarioCard], list[ScenarioCard]]:
    """(scenarios for `section` and its sub-sections, scenarios for the whole lesson)."""
    track_wide = [s for s in scenarios if s.lesson == lesson.track]
    if section is None:
        return [], track_wide
    covered = {section}
    start = next((i for i, s in enumerate(lesson.sections) if s.slug == section), None)
    if start is not None:
        level = lesson.sections[start].level
        for sub in lesson.sections[start + 1 :]:
            if sub.level <= level:
                break
            covered.add(sub.slug)
    here = [s for s in scenarios if s.lesson_track == lesson.track and s.lesson_section in covered]
    return here, track_wide


def split_sections(lesson: Lesson) -> list[tuple[Section | None, str]]:
    """The lesson's text cut at each section heading: (section, its Markdown).

    The first chunk (section None) is what comes before the first section, less
    the `# Title` line, which the screen shows in its title bar."""
    lines = lesson.text.splitlines()
    cuts = [s.line - 1 for s in lesson.sections]
    chunks: list[tuple[Section | None, str]] = []
    intro = lines[: cuts[0] if cuts else len(lines)]
    if intro and intro[0].startswith("# "):
        intro = intro[1:]
    if "\n".join(intro).strip():
        chunks.append((None, "\n".join(intro).strip()))
    for index, section in enumerate(lesson.sections):
        end = cuts[index + 1] if index + 1 < len(cuts) else len(lines)
        chunks.append((section, "\n".join(lines[cuts[index] : end]).strip()))
    return chunks


def markdown_theme(app: Any) -> Theme:
    """Rich Markdown styles in the colours of the app's Textual theme."""
    theme = app.current_theme
    accent = theme.accent or theme.primary
    secondary = theme.secondary or theme.primary
    muted = "grey50"
    return Theme(
        {
            "markdown.h1": f"bold {theme.primary}",
            "markdown.h2": f"bold underline {theme.primary}",
            "markdown.h3": f"bold {secondary}",
            "markdown.h4": f"italic {secondary}",
            "markdown.code": f"bold {accent}",
            "markdown.code_block": f"{accent}",
            "markdown.block_quote": f"italic {muted}",
            "markdown.list": f"{theme.primary}",
            "markdown.item.number": f"{theme.primary}",
            "markdown.link": f"underline {secondary}",
            "markdown.link_url": f"underline {muted}",
            "markdown.table.border": muted,
            "markdown.table.header": f"bold {theme.primary}",
            "markdown.hr": muted,
        }
    )


class LessonScreen(Screen[None]):
    """One track's lesson."""

    BINDINGS: ClassVar[list[BindingType]] = keys.LESSON_BINDINGS

    def __init__(self, lesson: Lesson, section: str | None = None) -> None:
        super().__init__()
        self.lesson = lesson
        self.track = lesson.track
        self.current_section: str | None = None
        """Slug of the section at the top of the view."""
        self._initial_section = section
        self._scenarios: list[ScenarioCard] = []
        self._chunks = split_sections(lesson)
        self._widget_ids = {
            section.slug: f"section-{index}"
            for index, (section, _) in enumerate(self._chunks)
            if section
        }
        self._tree_nodes: dict[str, TreeNode[str]] = {}
        self._theme_pushed = False

    @property
    def kapp(self) -> KprepApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble((f" {self.lesson.title}", "bold"), ("  lesson", "dim")), id="lesson-title"
        )
        with Horizontal(id="lesson-body"):
            yield self._toc()
            with Vertical(id="lesson-main"):
                with VerticalScroll(id="lesson-scroll"):
                    for index, (section, _text) in enumerate(self._chunks):
                        classes = "lesson-section" if section else "lesson-section intro"
                        yield Static(id=f"section-{index}", classes=classes)
                yield Static(id="practice-title")
                yield OptionList(id="practice")
        yield KeyFooter()

    def _toc(self) -> Tree[str]:
        tree: Tree[str] = Tree(self.lesson.title, id="toc")
        tree.show_root = False
        tree.guide_depth = 2
        parents: list[tuple[int, TreeNode[str]]] = [(0, tree.root)]
        for section in self.lesson.sections:
            while parents[-1][0] >= section.level:
                parents.pop()
            parent = parents[-1][1]
            node = parent.add(section.title, data=section.slug, expand=True)
            self._tree_nodes[section.slug] = node
            parents.append((section.level, node))
        for node in self._tree_nodes.values():
            if not node.children:
                node.allow_expand = False
        return tree

    def on_mount(self) -> None:
        scenarios, _errors = load_index(self.kapp.course_dir)
        self._scenarios = [s for s in scenarios if s.lesson_track == self.track]
        self._render_sections()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._render_sections())
        self.watch(
            self.query_one("#lesson-scroll", VerticalScroll), "scroll_y", self._scrolled, init=False
        )
        self._show_practice()
        self.query_one("#lesson-scroll").focus()
        self.kapp.first_screen_ready()
        if self._initial_section:
            self.call_after_refresh(self.goto_section, self._initial_section)
        else:
            self.call_after_refresh(self._track_section)

    def _render_sections(self) -> None:
        console = self.app.console
        if self._theme_pushed:
            console.pop_theme()
        console.push_theme(markdown_theme(self.app))
        self._theme_pushed = True
        code_theme = "monokai" if self.app.current_theme.dark else "default"
        for index, (_section, text) in enumerate(self._chunks):
            self.query_one(f"#section-{index}", Static).update(
                RichMarkdown(text, code_theme=code_theme, hyperlinks=False)
            )

    def on_unmount(self) -> None:
        if self._theme_pushed:
            self.app.console.pop_theme()
            self._theme_pushed = False

    def goto_section(self, slug: str) -> None:
        """Scroll so the section's heading is at the top."""
        widget_id = self._widget_ids.get(slug)
        if widget_id is None:
            self.notify(f"the lesson has no section {slug!r}", severity="warning")
            return
        self.query_one("#lesson-scroll", VerticalScroll).scroll_to_widget(
            self.query_one(f"#{widget_id}"), top=True, animate=False
        )
        self._set_section(slug)

    def _scrolled(self, _value: float) -> None:
        self.call_after_refresh(self._track_section)

    def _track_section(self) -> None:
        scroll = self.query_one("#lesson-scroll", VerticalScroll)
        top = scroll.region.y + 1
        current: str | None = None
        for section, _text in self._chunks:
            if section is None:
                continue
            widget = self.query_one(f"#{self._widget_ids[section.slug]}")
            if widget.region.y <= top:
                current = section.slug
            else:
                break
        self._set_section(current)

    def _set_section(self, slug: str | None) -> None:
        if slug == self.current_section:
            return
        self.current_section = slug
        node = self._tree_nodes.get(slug) if slug else None
        if node is not None:
            toc = self.query_one("#toc", Tree)
            toc.move_cursor(node, animate=False)
        self._show_practice()

    def _show_practice(self) -> None:
        here, track_wide = scenarios_for(self.lesson, self.current_section, self._scenarios)
        section = self.lesson.section(self.current_section) if self.current_section else None
        title = self.query_one("#practice-title", Static)
        title.update(
            Text.assemble(
                ("Practise", "bold"),
                (f" · {section.title}" if section else " · whole lesson", "dim"),
                ("  p, then enter", "dim"),
            )
        )
        practice = self.query_one("#practice", OptionList)
        practice.clear_options()
        options: list[Option] = []
        for scenario in here:
            options.append(
                Option(f"▶ {scenario.title}  ({scenario.difficulty})", id=f"s:{scenario.id}")
            )
        shown = {s.id for s in here}
        for scenario in [*track_wide, *self._scenarios]:
            if scenario.id in shown:
                continue
            shown.add(scenario.id)
            where = self.lesson.section(scenario.lesson_section or "")
            label = f"in: {where.title}" if where else "whole lesson"
            options.append(
                Option(
                    Text.assemble(
                        f"  {scenario.title}  ", (f"({scenario.difficulty}, {label})", "dim")
                    ),
                    id=f"s:{scenario.id}",
                )
            )
        if not options:
            options.append(
                Option(
                    Text("No scenarios for this lesson yet.", style="dim"), id="none", disabled=True
                )
            )
        practice.add_options(options)

    @on(Tree.NodeSelected, "#toc")
    def _toc_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data:
            self.goto_section(event.node.data)
            self.query_one("#lesson-scroll").focus()

    @on(OptionList.OptionSelected, "#practice")
    async def _practice_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        if option_id.startswith("s:"):
            await self.kapp.open_scenario(option_id[2:])

    def action_focus_toc(self) -> None:
        self.query_one("#toc").focus()

    def action_focus_practice(self) -> None:
        practice = self.query_one("#practice", OptionList)
        practice.focus()
        if practice.highlighted is None and practice.option_count:
            practice.highlighted = 0

    def action_focus_text(self) -> None:
        self.query_one("#lesson-scroll").focus()

    def action_back(self) -> None:
        self.kapp.go_back()
