"""Starting a planned interview: the plan `kprep interview` wrote (JSON) turned into a
running `InterviewSession`, wired to the course's graders, the progress store and the
review schedule's weak concepts. Headless, so the terminal app only pushes the screen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.course.loader import CourseError
from app.grading.engine import Grader
from app.interview.plan import InterviewPlan, weakness_from
from app.interview.session import InterviewSession
from app.progress.records import ProgressError

if TYPE_CHECKING:
    from app.course.loader import Course
    from app.progress.store import ProgressStore


class InterviewStartError(Exception):
    """The plan cannot be run (malformed, or names a scenario the course lacks)."""


def start_session(
    plan_json: str, course: Course, store: ProgressStore, clock: Callable[[], float]
) -> InterviewSession:
    """The session a plan describes (not started yet: the screen starts its clock)."""
    try:
        raw = json.loads(plan_json)
        plan = InterviewPlan(
            tuple(raw["scenarios"]), int(raw["minutes"]), raw.get("track"), int(raw["seed"])
        )
        scenarios = {sid: course.scenario(sid) for sid in plan.scenarios}
    except (ValueError, KeyError, TypeError, CourseError) as exc:
        raise InterviewStartError(str(exc)) from exc
    graders: dict[str, Grader] = {}
    crd_dir = course.crd_dir

    def grade(scenario: Any, text: str) -> Any:
        grader = graders.get(scenario.id)
        if grader is None:
            grader = graders[scenario.id] = Grader(scenario, crd_dir=crd_dir)
        return grader.grade_text(text, f"{scenario.id}.yaml")

    def section_title(link: str) -> str | None:
        track, _, slug = link.partition("#")
        try:
            section = course.lesson(track).section(slug) if slug else None
        except (KeyError, OSError):
            return None
        return section.title if section else None

    try:
        weakness = weakness_from(store.schedule(), datetime.now(UTC))
    except ProgressError:
        weakness = {}
    return InterviewSession(
        plan,
        scenarios,
        grade,
        recorder=store,
        clock=clock,
        weakness=weakness,
        section_titles=section_title,
    )
