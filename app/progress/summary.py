"""Progress joined with the course: per-track totals, where to continue, what to do next.

Used by both `kprep progress` and the app's home screen, so they agree. Stored
progress for a scenario the course no longer has is skipped and reported in
`Summary.notes`. Headless.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.course.catalog import Catalog
from app.progress.records import ScenarioProgress
from app.progress.store import ProgressStore


class ScenarioLike(Protocol):
    """A loaded `Scenario` or a cached `ScenarioCard`: what the lists show."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def track(self) -> str: ...
    @property
    def difficulty(self) -> str: ...
    @property
    def lesson(self) -> str: ...
    @property
    def max_score(self) -> int: ...
    @property
    def hints(self) -> Sized: ...
    @property
    def checks(self) -> Sized: ...


@dataclass(frozen=True)
class ScenarioRow:
    """One scenario with its progress."""

    scenario: ScenarioLike
    progress: ScenarioProgress

    @property
    def status(self) -> str:
        """solved, attempted, started or new."""
        if self.progress.passed:
            return "solved"
        if self.progress.attempts:
            return "attempted"
        if self.progress.seconds or self.progress.last_activity:
            return "started"
        return "new"


@dataclass(frozen=True)
class TrackRow:
    """A track's totals."""

    track: str
    title: str
    scenarios: tuple[ScenarioRow, ...]

    @property
    def total(self) -> int:
        return len(self.scenarios)

    @property
    def solved(self) -> int:
        return sum(1 for s in self.scenarios if s.progress.passed)

    @property
    def attempted(self) -> int:
        return sum(1 for s in self.scenarios if s.progress.attempts)

    @property
    def best_points(self) -> int:
        """Sum of best scores over the track's scenarios."""
        return sum(s.progress.best_score or 0 for s in self.scenarios)

    @property
    def max_points(self) -> int:
        return sum(s.scenario.max_score for s in self.scenarios)


@dataclass
class Summary:
    """The whole course with progress."""

    tracks: list[TrackRow]
    continue_with: ScenarioRow | None
    """The unsolved scenario worked on most recently, else the most recent one."""
    recommended: ScenarioRow | None
    """Next: the current track's unsolved warm-ups, else the next unsolved scenario in
    course order after the latest activity; never the same as `continue_with`."""
    notes: list[str] = field(default_factory=list)
    """Things to tell the candidate, such as progress for scenarios that no longer exist."""

    @property
    def rows(self) -> list[ScenarioRow]:
        return [row for track in self.tracks for row in track.scenarios]

    def row(self, scenario_id: str) -> ScenarioRow | None:
        return next((r for r in self.rows if r.scenario.id == scenario_id), None)

    def to_json(self) -> dict[str, Any]:
        def scenario_json(row: ScenarioRow) -> dict[str, Any]:
            p = row.progress
            return {
                "id": row.scenario.id,
                "title": row.scenario.title,
                "track": row.scenario.track,
                "difficulty": row.scenario.difficulty,
                "status": row.status,
                "attempts": p.attempts,
                "best_score": p.best_score,
                "max_score": row.scenario.max_score,
                "last_score": p.last_score,
                "passed": p.passed,
                "hints_used": p.hints_used,
                "hints_total": len(row.scenario.hints),
                "reference_revealed": p.revealed,
                "follow_ups_graded": p.self_grades,
                "seconds": round(p.seconds, 1),
            }

        return {
            "tracks": [
                {
                    "track": t.track,
                    "title": t.title,
                    "scenarios": t.total,
                    "solved": t.solved,
                    "attempted": t.attempted,
                    "best_points": t.best_points,
                    "max_points": t.max_points,
                }
                for t in self.tracks
            ],
            "scenarios": [scenario_json(r) for r in self.rows],
            "continue": self.continue_with.scenario.id if self.continue_with else None,
            "recommended": self.recommended.scenario.id if self.recommended else None,
            "notes": list(self.notes),
        }


def summarize(
    scenarios: Sequence[ScenarioLike],
    store: ProgressStore,
    course_errors: list[str] | None = None,
    catalog: Catalog | None = None,
) -> Summary:
    """Join the course's scenarios (in course order) with the stored progress.

    Tracks come in `catalog` order (course.yaml); a track a scenario names that
    the catalog lacks is listed after them.
    """
    stored = store.all_progress()
    known = {s.id for s in scenarios}
    notes = [
        f"progress for {scenario_id!r} skipped: the course no longer has it"
        for scenario_id in sorted(stored)
        if scenario_id not in known
    ]
    notes.extend(course_errors or [])
    rows = [ScenarioRow(s, stored.get(s.id) or ScenarioProgress(s.id)) for s in scenarios]
    listed = catalog.track_ids if catalog else ()
    tracks = [
        TrackRow(
            track,
            catalog.title(track) if catalog else track,
            tuple(r for r in rows if r.scenario.track == track),
        )
        for track in (*listed, *sorted({s.track for s in scenarios} - set(listed)))
    ]
    tracks = [t for t in tracks if t.scenarios or t.track in listed]
    by_id = {r.scenario.id: r for r in rows}
    recent = [by_id[i] for i in store.recent_scenarios() if i in by_id]
    continue_with = next(
        (r for r in recent if not r.progress.passed), recent[0] if recent else None
    )
    recommended = _recommend(rows, recent[0] if recent else None, continue_with)
    return Summary(tracks, continue_with, recommended, notes)


WARM_UP = "warm-up"
"""The difficulty of a track's first steps: Next offers them before moving on."""


def _recommend(
    rows: list[ScenarioRow], latest: ScenarioRow | None, continue_with: ScenarioRow | None
) -> ScenarioRow | None:
    """What Next offers: the current track's unsolved warm-ups first, then the next unsolved
    scenario after the latest activity, in course order, wrapping round. Never the scenario
    Continue offers (two buttons to one place would waste one): None when it is all that
    is left."""
    if not rows:
        return None
    candidates = [r for r in rows if not r.progress.passed and r is not continue_with]
    if latest is not None:
        warm_ups = [
            r
            for r in candidates
            if r.scenario.track == latest.scenario.track and r.scenario.difficulty == WARM_UP
        ]
        if warm_ups:
            return warm_ups[0]
    # Course order from just after the latest activity, wrapping round.
    start = rows.index(latest) + 1 if latest is not None else 0
    return next((r for r in rows[start:] + rows[:start] if r in candidates), None)


def format_seconds(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}m"
