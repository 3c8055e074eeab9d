"""Messages: workers post results to the screens (workers never touch widgets), and
screens ask the app to navigate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from app.grading.engine import Grader
    from app.grading.report import Report
    from app.live.service import NodeGpus


@dataclass
class GraderReady(Message):
    """The scenario's grader is built (CEL compiled, schemas loaded)."""

    grader: Grader


@dataclass
class GraderFailed(Message):
    """The grader could not be built; the message says why."""

    error: str


@dataclass
class GradeFinished(Message):
    """An offline grading run finished."""

    report: Report
    version: int
    """The editor's change counter when the text was taken; stale results are dropped."""
    explicit: bool
    """True for ctrl+r (an attempt that is recorded), False for grading as you type."""
    elapsed_ms: float
    """Time spent grading, for the benchmark and the status line."""


@dataclass
class LiveGradeProgress(Message):
    """A progress line from a live run ("applying", "waiting for the scheduler"...)."""

    line: str


@dataclass
class LiveGradeFinished(Message):
    """A live run on the local cluster finished."""

    report: Report
    """The live report: offline checks, live checks, placement."""
    nodes: list[NodeGpus]
    """Every node of the cluster with its allocatable GPUs (empty if unknown)."""


@dataclass
class LiveGradeFailed(Message):
    """Live grading could not run (no cluster, not installed...); `error` is for the candidate."""

    error: str


@dataclass
class OpenScenario(Message):
    """Navigation, up to the app: open a scenario (from the palette, or next after a pass)."""

    scenario_id: str


@dataclass
class OpenLesson(Message):
    """Navigation, up to the app: open a track's lesson, at a section."""

    track: str
    section: str | None = None


@dataclass
class GoBack(Message):
    """Navigation, up to the app: leave the current screen."""


@dataclass
class OpenHome(Message):
    """Navigation, up to the app: the home screen."""


@dataclass
class CourseLoaded(Message):
    """The course index was read (in a worker)."""

    scenarios: list[Any]
    """`ScenarioCard`s in course order."""
    notes: list[str]
    """Scenarios that failed to load, for the candidate."""
