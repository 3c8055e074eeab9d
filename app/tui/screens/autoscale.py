"""The autoscaling view of a scenario (F10 on an autoscaling scenario's screen).

Issue 13 item 5: pick a load (left/right: spike, ramp, diurnal, drop), see the
chart of the candidate's answer next to the reference answer's, each with its
summary and the scenario's behaviour checks, and (ctrl+l, with a cluster) run
the answer live on the real HPA controller. The chart is the CLI's
(`app.autoscale.chart.AutoscaleChart`, a rich renderable) inside a Static.

Simulated runs take milliseconds but still run off the UI thread (a file of
30 min at one sample a second is 1,800 syncs); the live run takes a couple of
minutes of lab time in a worker, its progress on the status line, and stops
(namespace and adapter values removed) when the screen closes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from app.autoscale.chart import AutoscaleChart, summary_lines
from app.autoscale.load import LoadFileError
from app.autoscale.runs import RunRefused, prepare, simulate_run
from app.grading.autoscale_checks import AutoscaleGrader
from app.tui import keys
from app.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from app.autoscale.runs import PreparedRun
    from app.autoscale.timeline import AutoscaleRun
    from app.course.loader import Course
    from app.course.models import Scenario
    from app.grading.report import CheckResult

LOADS = ("spike", "ramp", "diurnal", "drop")
"""The built-in load profiles, in the order left/right cycles through them."""
CHECK_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}


def grade(scenario: Scenario, prepared: PreparedRun, run: AutoscaleRun) -> list[CheckResult]:
    """The scenario's behaviour checks on one run (those for another load are skipped)."""
    if not scenario.autoscale_checks:
        return []
    return AutoscaleGrader(scenario.autoscale_checks).grade_run(
        run.as_json(),
        scenario.params,
        builtin_load=prepared.builtin_load,
        default_load=prepared.setup.load,
        documents=prepared.documents,
        hpa_index=prepared.hpa_index,
    )


def run_panel(
    scenario: Scenario, prepared: PreparedRun, run: AutoscaleRun, title: str
) -> RenderableType:
    """One run as the pane shows it: the chart, the summary, the checks."""
    parts: list[RenderableType] = [AutoscaleChart(run, height=10, title=title)]
    parts += [Text(line) for line in summary_lines(run)]
    parts += [Text.from_markup(f"[yellow]note:[/] {escape(n)}") for n in prepared.notes]
    parts += [Text.from_markup(f"[red]error:[/] {escape(m)}") for m in prepared.unserved]
    checks = grade(scenario, prepared, run)
    for check in checks:
        line = f"{check.line}: " if check.line else ""
        parts.append(
            Text.from_markup(
                f"[{CHECK_STYLE[check.status]}]{check.status}[/] {escape(line + check.title)}"
            )
        )
    if checks:
        passing = sum(1 for c in checks if c.status == "pass")
        parts.append(Text(f"{passing}/{len(checks)} behaviour checks pass", style="bold"))
    return Group(*parts)


def simulated_panel(
    scenario: Scenario, text: str, file: str, load: str, title: str
) -> RenderableType:
    """The simulated run of `text` under `load`, or why it cannot run (file:line)."""
    try:
        prepared = prepare(scenario, text, file, load)
        run = simulate_run(prepared)
    except (RunRefused, LoadFileError) as exc:
        return Group(Text(title, style="bold"), *(Text(m, style="red") for m in exc.messages))
    return run_panel(scenario, prepared, run, f"{title} · {load} · simulated")


class AutoscaleScreen(Screen[None]):
    """Your answer's HPA next to the reference's, under a load you pick."""

    BINDINGS: ClassVar[list[BindingType]] = keys.AUTOSCALE_BINDINGS
    DEFAULT_CSS = """
    #autoscale-title { height: auto; padding: 0 1; background: $panel; }
    #autoscale-panes { height: 1fr; }
    #autoscale-yours-pane, #autoscale-reference-pane { width: 1fr; padding: 0 1; }
    #autoscale-yours-pane { border-right: vkey $primary 40%; }
    #autoscale-status { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, scenario: Scenario, text: str, file: str, course: Course) -> None:
        super().__init__()
        self.scenario = scenario
        self.text = text
        self.file = file
        self.course = course
        default = str((scenario.autoscale or {}).get("load") or LOADS[0])
        self.load_index = LOADS.index(default) if default in LOADS else 0
        self.cancel = threading.Event()
        """Set when the screen closes: a live run stops and cleans up."""
        self.live_running = False
        self.shown_load = ""
        """The load whose charts are on screen (tests wait on it)."""
        self.panes: dict[str, RenderableType] = {}
        """What each pane ("yours", "reference") shows."""

    @property
    def load(self) -> str:
        return LOADS[self.load_index]

    def compose(self) -> ComposeResult:
        yield Static(id="autoscale-title")
        with Horizontal(id="autoscale-panes"):
            with VerticalScroll(id="autoscale-yours-pane"):
                yield Static(id="autoscale-yours")
            with VerticalScroll(id="autoscale-reference-pane"):
                yield Static(id="autoscale-reference")
        yield Static(id="autoscale-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._show_title()
        self.query_one("#autoscale-status", Static).update(
            "ctrl+l runs your answer on the real HPA controller (`kprep cluster up` first)"
        )
        self._simulate(self.load)

    def on_unmount(self) -> None:
        self.cancel.set()

    def _show_title(self) -> None:
        loads = "  ".join(
            f"[reverse] {name} [/]" if name == self.load else f" {name} " for name in LOADS
        )
        self.query_one("#autoscale-title", Static).update(
            f"[bold]Autoscaling · {escape(self.scenario.title)}[/]   load: {loads}   "
            "[dim]←/→ change[/]"
        )

    @work(thread=True, exclusive=True, group="autoscale-sim", exit_on_error=False)
    def _simulate(self, load: str) -> None:
        scenario = self.scenario
        yours = simulated_panel(scenario, self.text, self.file, load, "Your answer")
        reference = simulated_panel(
            scenario, scenario.answer_text(), f"{scenario.id} reference", load, "Reference"
        )
        self.app.call_from_thread(self._show_simulated, load, yours, reference)

    def _show_simulated(self, load: str, yours: RenderableType, reference: RenderableType) -> None:
        if load != self.load:
            return  # the candidate moved on meanwhile
        if not self.live_running:
            self._pane("yours", yours)
        self._pane("reference", reference)
        self.shown_load = load

    def _pane(self, pane: str, content: RenderableType) -> None:
        self.panes[pane] = content
        self.query_one(f"#autoscale-{pane}", Static).update(content)

    def _cycle(self, step: int) -> None:
        if self.live_running:
            self.notify("A live run is under way; wait for it, or leave to stop it.")
            return
        self.load_index = (self.load_index + step) % len(LOADS)
        self._show_title()
        self._simulate(self.load)

    def action_previous_load(self) -> None:
        self._cycle(-1)

    def action_next_load(self) -> None:
        self._cycle(1)

    def action_close(self) -> None:
        self.app.pop_screen()

    # -- live ---------------------------------------------------------------------------

    def action_live(self) -> None:
        if self.live_running:
            self.notify("A live run is already under way.")
            return
        self.live_running = True
        self._status("starting a live run on the local cluster…")
        self._run_live(self.load)

    def _status(self, line: str) -> None:
        self.query_one("#autoscale-status", Static).update(escape(line))

    @work(thread=True, exclusive=True, group="autoscale-live", exit_on_error=False)
    def _run_live(self, load: str) -> None:
        # deferred: start-up cost, only a live run loads the cluster code
        from app.cluster.errors import ClusterError
        from app.live.autoscale import LiveRunRefused, run_live
        from app.live.autoscale_loop import RunCancelled

        def progress(line: str) -> None:
            if not self.cancel.is_set():
                self.app.call_from_thread(self._status, line)

        try:
            prepared = prepare(self.scenario, self.text, self.file, load)
            run = run_live(self.course, self.scenario, prepared, cancel=self.cancel, echo=progress)
        except (RunRefused, LoadFileError, LiveRunRefused) as exc:
            self._live_failed("\n".join(exc.messages))
            return
        except ClusterError as exc:
            self._live_failed(str(exc))
            return
        except RunCancelled:
            return
        panel = run_panel(
            self.scenario,
            prepared,
            run,
            f"Your answer · {load} · live, lab time 1/{run.time_scale:g} (times scaled back)",
        )
        self.app.call_from_thread(self._show_live, panel, run)

    def _live_failed(self, message: str) -> None:
        if self.cancel.is_set():
            return

        def show() -> None:
            self.live_running = False
            self._status("the live run did not happen (see the message)")
            self.notify(message, title="Cluster", severity="error", timeout=15)

        self.app.call_from_thread(show)

    def _show_live(self, panel: RenderableType, run: AutoscaleRun) -> None:
        self.live_running = False
        self._pane("yours", panel)
        self._status(
            f"live run done: peak {run.summary.peak_replicas} replicas; ←/→ shows simulated "
            "runs again"
        )


def open_autoscale(screen: Any) -> None:
    """F10 on a scenario screen: the autoscaling view of its answer as typed, when the
    scenario has an autoscale block (`ScenarioScreen.action_autoscale`)."""
    scenario = screen.scenario
    if scenario.autoscale is None:
        screen.notify("This scenario has no autoscaling run (F10 is for HPA scenarios).")
        return
    screen.save_draft()
    screen.app.push_screen(
        AutoscaleScreen(scenario, screen.editor.text, str(screen.drafts.path), screen.app.course)
    )
