"""Messages that workers post to the screens (workers never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from app.live.service import NodeGpus


@dataclass
class GraderReady(Message):
    """The scenario's grader is built (CEL compiled, schemas loaded)."""

    grader: Any
    """An `app.grading.engine.Grader`."""


@dataclass
class GraderFailed(Message):
    """The grader could not be built; the message says why."""

    error: str


@dataclass
class GradeFinished(Message):
    """An offline grading run finished."""

    report: Any
    """An `app.grading.report.Report`."""
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

    report: Any
    """The live `Report`: offline checks, live checks, placement."""
    nodes: list[NodeGpus]
    """Every node of the cluster with its allocatable GPUs (empty if unknown)."""


@dataclass
class LiveGradeFailed(Message):
    """Live grading could not run (no cluster, not installed...); `error` is for the candidate."""

    error: str


@dataclass
class CourseLoaded(Message):
    """The course index was read (in a worker)."""

    scenarios: list[Any]
    """`ScenarioCard`s in course order."""
    notes: list[str]
    """Scenarios that failed to load, for the candidate."""
