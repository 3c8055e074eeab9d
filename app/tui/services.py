"""What a scenario screen works with, handed in by the app (tests hand in their own), and
the modes that decide what the screen reveals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.progress.visits import Record

if TYPE_CHECKING:
    from app.live.service import LiveService
    from app.progress.store import ProgressStore
    from app.progress.workspace import Workspace


@dataclass(frozen=True)
class ScenarioServices:
    """The scenario screen's collaborators: progress, drafts, the cluster, settings."""

    store: ProgressStore
    """For reading progress (passed before, hints used, answer seen)."""
    record: Record
    """For writing progress."""
    workspace: Workspace
    live: LiveService
    """Runs the answer on the local cluster (ctrl+l)."""
    crd_dir: Path | None
    """The course's CRDs, for the grader."""
    editor_command: list[str]
    """The candidate's own editor (ctrl+e), without the file argument."""
    last_input_at: Callable[[], float]
    """`time.monotonic()` of the candidate's last key: time spent counts while active."""
    next_scenario: Callable[[str], str | None]
    """The scenario to recommend after passing the given one (None: all done)."""


@dataclass(frozen=True)
class ScenarioMode:
    """What the scenario screen reveals while the candidate works.

    Practice shows everything. A mode that hides something also refuses its keys and
    palette commands, and the title names the mode."""

    name: str
    checks_as_you_type: bool = True
    """Failing checks in the results list and the gutter before ctrl+r (problems with the
    YAML and the API rules are always shown)."""
    hints: bool = True
    """The hint panel and ctrl+g."""
    reference: bool = True
    """The reference answer (ctrl+o)."""
    lesson: bool = True
    """The lesson (F4)."""
    follow_ups: bool = True
    """The follow-up questions after a pass (ctrl+f)."""


PRACTICE = ScenarioMode("practice")
INTERVIEW = ScenarioMode(
    "interview",
    checks_as_you_type=False,
    hints=False,
    reference=False,
    lesson=False,
    follow_ups=False,
)
"""Nothing but the prompt, the editor and YAML problems until ctrl+r: a starting point for
the interview-mode issue (a timer and spaced repetition build on it)."""
