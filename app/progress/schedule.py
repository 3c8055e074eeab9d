"""The review schedule in the progress database: FSRS cards per concept, a cache of
`app.progress.review` replayed over the attempts and self-grades, synced on read and
rebuilt from them whenever it does not add up."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from app.progress.database import StoreBase
from app.progress.records import ProgressError
from app.progress.review import (
    GRADE_RATINGS,
    CardState,
    ReviewEvent,
    advance,
    attempt_ratings,
    due_by,
    end_of_day,
    event_order,
    grade_rating,
    lead_concept,
    scheduler,
)
from app.progress.schema import CARD_COLUMNS, SCHEDULE_TABLES


class ReviewSchedule(StoreBase):
    """The review-schedule part of `ProgressStore`."""

    def schedule(self, rebuild: bool = False) -> dict[str, CardState]:
        """Every reviewed concept's card, brought up to date with the attempts and self-grades
        recorded since the last call. A schedule that does not add up (an unreadable card,
        marks past the recorded rows, missing tables) is rebuilt from those records."""
        try:
            return self._sync_schedule(rebuild)
        except sqlite3.Error as exc:
            raise ProgressError(f"could not update the review schedule: {exc}") from exc

    def due_reviews(self, until: float | None = None) -> list[CardState]:
        """Concepts due by `until` (default: the end of today, local time), most overdue first."""
        limit = (
            datetime.fromtimestamp(until, UTC)
            if until is not None
            else end_of_day(datetime.now(UTC))
        )
        return due_by(self.schedule().values(), limit)

    def _sync_schedule(self, rebuild: bool) -> dict[str, CardState]:
        with self._immediate() as db:
            try:
                marks = {str(r[0]): int(r[1]) for r in db.execute("SELECT * FROM review_marks")}
                rows = list(db.execute(f"SELECT {CARD_COLUMNS} FROM review_cards"))
            except sqlite3.OperationalError:
                # A table went missing (hand edits, a tool): create it and rebuild.
                for statement in SCHEDULE_TABLES.split(";"):
                    if statement.strip():
                        db.execute(statement)
                marks, rows, rebuild = {}, [], True
            states: dict[str, CardState] = {}
            for row in rows:
                try:
                    states[str(row[0])] = CardState.from_row(row)
                except (ValueError, TypeError):
                    rebuild = True
            newest_attempt = int(
                db.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()[0]
            )
            newest_grade = int(
                db.execute("SELECT COALESCE(MAX(id), 0) FROM self_grades").fetchone()[0]
            )
            if (
                set(marks) != {"attempt", "follow-up"}
                or marks["attempt"] > newest_attempt
                or marks["follow-up"] > newest_grade
            ):
                # No marks (a new schedule, or forget() dropped them) or marks past the
                # rows: the cards cannot be trusted to match the records, so replay all.
                rebuild = True
            if rebuild:
                states, marks = {}, {}
            events = review_events(db, marks.get("attempt", 0), marks.get("follow-up", 0))
            if not events and not rebuild:
                return states
            using = scheduler()
            changed: set[str] = set()
            for event in sorted(events, key=event_order):
                states[event.concept] = advance(states.get(event.concept), event, using)
                changed.add(event.concept)
            if rebuild:
                db.execute("DELETE FROM review_cards")
                changed = set(states)
            db.executemany(
                f"INSERT OR REPLACE INTO review_cards ({CARD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?,"
                " ?, ?)",
                [tuple(states[c].to_row().values()) for c in sorted(changed)],
            )
            db.executemany(
                "INSERT OR REPLACE INTO review_marks (source, last_id) VALUES (?, ?)",
                [("attempt", newest_attempt), ("follow-up", newest_grade)],
            )
            return states


def lead_concept_stored(db: sqlite3.Connection, scenario: str) -> str | None:
    """The scenario's lead concept from its latest attempt's checks (None before any)."""
    rows = db.execute(
        "SELECT concept, max_points FROM check_results WHERE attempt_id = (SELECT MAX(id)"
        " FROM attempts WHERE scenario = ?) ORDER BY rowid",
        (scenario,),
    )
    return lead_concept((str(c), int(p)) for c, p in rows)


def review_events(
    db: sqlite3.Connection, after_attempt: int, after_grade: int
) -> list[ReviewEvent]:
    """The reviews recorded after the given ids: one per concept per attempt, one per
    self-grade (see app.progress.review)."""
    events: list[ReviewEvent] = []
    checks: dict[int, list[tuple[str, str]]] = {}
    attempts: dict[int, tuple[float, str]] = {}
    for attempt_id, at, scenario, concept, status in db.execute(
        "SELECT a.id, a.at, a.scenario, c.concept, c.status FROM attempts a JOIN check_results c"
        " ON c.attempt_id = a.id WHERE a.id > ? ORDER BY a.id, c.rowid",
        (after_attempt,),
    ):
        attempts[int(attempt_id)] = (float(at), str(scenario))
        checks.setdefault(int(attempt_id), []).append((str(concept), str(status)))
    for attempt_id, (at, scenario) in attempts.items():
        for concept, rating in attempt_ratings(checks[attempt_id]).items():
            events.append(ReviewEvent(concept, rating, at, "attempt", attempt_id, scenario))
    for grade_id, at, scenario, index, grade, concept in list(
        db.execute(
            "SELECT id, at, scenario, question_index, grade, concept FROM self_grades"
            " WHERE id > ? ORDER BY id",
            (after_grade,),
        )
    ):
        # Grades stored before concepts were recorded name none: resolve as at record time.
        concept = concept or lead_concept_stored(db, str(scenario))
        if concept is None or grade not in GRADE_RATINGS:
            continue
        events.append(
            ReviewEvent(
                str(concept),
                grade_rating(str(grade)),
                float(at),
                "follow-up",
                int(grade_id),
                str(scenario),
                int(index),
            )
        )
    return events
