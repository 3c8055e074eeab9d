"""The candidate's progress: a SQLite database under `data_dir()/progress.db`.

Owns attempts (score and per-check results), hints used, reference answers
revealed, follow-up self-grades (with the concept each reviews), time spent, mock
interviews (questions, follow-up answers), the key-point coverage of graded answers,
and the review schedule: FSRS cards per concept, a cache of `app.progress.review`
replayed over the attempts and self-grades, synced on read and rebuilt from them
whenever it does not add up. Every write is one transaction
in WAL mode, so killing kprep at any moment loses at most the write in flight.
The schema version is `PRAGMA user_version`; `_MIGRATIONS[n]` upgrades version
n to n+1. Several processes may open the same file at once (the terminal app, a
`kprep check` batch, a second terminal): schema creation and every pending
migration run in ONE `BEGIN IMMEDIATE` transaction that re-reads `user_version`
after taking the write lock, so exactly one process migrates and the others see
the finished schema. Adding a migration: append one SQL script to `_MIGRATIONS`
(statements separated by `;`, no `;` inside string literals); never edit a
published one.

Only real corruption (SQLite's SQLITE_CORRUPT / SQLITE_NOTADB, or a failed
`quick_check`) moves a file aside (`progress.db.corrupt-<timestamp>`) and starts
a fresh one; any other failure (locked past the timeout, read-only, disk I/O)
leaves the file alone and keeps progress in memory for the session. Either way
the app says so and keeps running. Headless: no Textual here.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

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

SelfGradeValue = Literal["again", "hard", "good", "easy"]
SELF_GRADES: tuple[SelfGradeValue, ...] = ("again", "hard", "good", "easy")

_MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        at REAL NOT NULL,
        mode TEXT NOT NULL,
        score INTEGER NOT NULL,
        max_score INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        hints_used INTEGER NOT NULL
    );
    CREATE INDEX attempts_by_scenario ON attempts (scenario, at);
    CREATE TABLE check_results (
        attempt_id INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
        check_id TEXT NOT NULL,
        concept TEXT NOT NULL,
        status TEXT NOT NULL,
        points INTEGER NOT NULL,
        max_points INTEGER NOT NULL,
        PRIMARY KEY (attempt_id, check_id)
    );
    CREATE TABLE hints (
        scenario TEXT NOT NULL,
        hint_index INTEGER NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (scenario, hint_index)
    );
    CREATE TABLE reveals (
        scenario TEXT PRIMARY KEY,
        at REAL NOT NULL,
        before_pass INTEGER NOT NULL
    );
    CREATE TABLE self_grades (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        question_index INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        grade TEXT NOT NULL CHECK (grade IN ('again', 'hard', 'good', 'easy')),
        at REAL NOT NULL
    );
    CREATE TABLE visits (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        started REAL NOT NULL,
        last_seen REAL NOT NULL,
        active_seconds REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX visits_by_scenario ON visits (scenario, last_seen);
    """,
    # 1 -> 2: mock interviews, the review schedule (a cache of review.replay over attempts
    # and self-grades, so it can always be rebuilt), coverage of follow-up answers.
    """
    CREATE TABLE interviews (
        id INTEGER PRIMARY KEY,
        started REAL NOT NULL,
        finished REAL,
        minutes INTEGER NOT NULL,
        track TEXT,
        seed INTEGER NOT NULL,
        scenarios TEXT NOT NULL
    );
    CREATE TABLE interview_questions (
        interview_id INTEGER NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        scenario TEXT NOT NULL,
        attempt_id INTEGER REFERENCES attempts (id) ON DELETE SET NULL,
        seconds_allowed REAL NOT NULL,
        seconds_used REAL NOT NULL,
        auto_submitted INTEGER NOT NULL,
        PRIMARY KEY (interview_id, position)
    );
    CREATE TABLE interview_answers (
        interview_id INTEGER NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        follow_up INTEGER NOT NULL,
        answer TEXT NOT NULL,
        seconds_used REAL NOT NULL,
        auto_submitted INTEGER NOT NULL,
        PRIMARY KEY (interview_id, position, follow_up)
    );
    ALTER TABLE self_grades ADD COLUMN concept TEXT;
    ALTER TABLE self_grades ADD COLUMN interview_id INTEGER
        REFERENCES interviews (id) ON DELETE SET NULL;
    CREATE TABLE review_cards (
        concept TEXT PRIMARY KEY,
        card TEXT NOT NULL,
        reviews INTEGER NOT NULL,
        lapses INTEGER NOT NULL,
        last_rating INTEGER NOT NULL,
        last_source TEXT NOT NULL,
        last_scenario TEXT NOT NULL,
        last_follow_up INTEGER
    );
    CREATE TABLE review_marks (
        source TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL
    );
    CREATE TABLE coverage_results (
        self_grade_id INTEGER PRIMARY KEY REFERENCES self_grades (id) ON DELETE CASCADE,
        scorer TEXT NOT NULL,
        threshold REAL NOT NULL,
        scores TEXT NOT NULL,
        suggested TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)
"""The `PRAGMA user_version` this code writes."""


class ProgressError(Exception):
    """A progress write or read failed (disk full, database locked...). The message says why."""


@dataclass(frozen=True)
class CheckOutcome:
    """One check's result within an attempt, as stored."""

    check_id: str
    concept: str
    status: str
    """pass, fail, error or skip."""
    points: int
    max_points: int


@dataclass(frozen=True)
class SelfGrade:
    """The candidate's own grade of their answer to one follow-up question."""

    scenario: str
    question_index: int
    question: str
    answer: str
    grade: str
    at: float


@dataclass
class ScenarioProgress:
    """Everything stored about one scenario."""

    scenario: str
    attempts: int = 0
    best_score: int | None = None
    """Highest score of any attempt; None before the first attempt."""
    max_score: int = 0
    """The scenario's maximum at the time of the best attempt."""
    passed: bool = False
    """At least one attempt passed every check."""
    last_score: int | None = None
    hints_used: int = 0
    revealed: bool = False
    """The reference answer has been shown."""
    revealed_before_pass: bool = False
    seconds: float = 0.0
    """Active time spent on the scenario screen."""
    self_grades: int = 0
    last_activity: float = 0.0
    """Unix time of the latest attempt or visit."""


@dataclass
class OpenResult:
    """What happened when the database was opened."""

    moved_aside: Path | None = None
    """Where a corrupt database was moved, if it was."""
    problem: str | None = None
    """A message for the candidate, if anything went wrong."""
    notes: list[str] = field(default_factory=list)


class ProgressStore:
    """The progress database. Use `ProgressStore.open(path)`; call `close()` when done."""

    def __init__(
        self, connection: sqlite3.Connection, path: Path | None, opened: OpenResult | None = None
    ) -> None:
        self._db = connection
        self.path = path
        """The database file; None for an in-memory store."""
        self.opened = opened or OpenResult()
        """What happened at open time (corruption moved aside, read-only fallback...)."""

    # -- opening ----------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> ProgressStore:
        """Open or create the database at `path`, recovering from corruption."""
        opened = OpenResult()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            opened.problem = (
                f"cannot create {path.parent} ({exc.strerror or exc}); progress "
                "is kept in memory for this session only"
            )
            return cls(_memory(), None, opened)
        try:
            return cls(_open_checked(path), path, opened)
        except _NewerSchema as exc:
            opened.problem = (
                f"{path} was written by a newer kprep (schema {exc.version}, this "
                f"one knows {SCHEMA_VERSION}); progress is kept in memory for "
                "this session only"
            )
            return cls(_memory(), None, opened)
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                # Locked past the timeout, read-only, I/O error...: the file may be
                # healthy, so it is never moved aside for these.
                opened.problem = (
                    f"cannot open {path} ({exc}); progress is kept in memory for this session only"
                )
                return cls(_memory(), None, opened)
            try:
                moved = _move_aside(path)
            except OSError as move_error:
                opened.problem = (
                    f"the progress database {path} could not be read ({exc}) nor moved "
                    f"aside ({move_error.strerror or move_error}); progress is kept in "
                    "memory for this session only"
                )
                return cls(_memory(), None, opened)
            opened.moved_aside = moved
            opened.problem = (
                f"the progress database {path} could not be read ({exc}); it was "
                f"moved to {moved.name} and a fresh one started"
            )
        except OSError as exc:
            opened.problem = (
                f"cannot open {path} ({exc.strerror or exc}); progress is kept "
                "in memory for this session only"
            )
            return cls(_memory(), None, opened)
        try:
            return cls(_open_checked(path), path, opened)
        except (sqlite3.DatabaseError, OSError, _NewerSchema) as exc:
            opened.problem = (
                f"{opened.problem}; the fresh database failed too ({exc}); "
                "progress is kept in memory for this session only"
            )
            return cls(_memory(), None, opened)

    @classmethod
    def in_memory(cls) -> ProgressStore:
        return cls(_memory(), None)

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._db:
                yield self._db
        except sqlite3.Error as exc:
            raise ProgressError(f"could not save progress: {exc}") from exc

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return list(self._db.execute(sql, params))
        except sqlite3.Error as exc:
            raise ProgressError(f"could not read progress: {exc}") from exc

    # -- writes -----------------------------------------------------------------

    def record_attempt(self, report: Any, hints_used: int = 0, at: float | None = None) -> int:
        """Store a graded attempt (an `app.grading.report.Report`); returns its id."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO attempts (scenario, at, mode, score, max_score, passed, error_count,"
                " hints_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    report.scenario,
                    at if at is not None else time.time(),
                    report.mode,
                    report.score,
                    report.max_score,
                    int(report.passed),
                    len(report.blocking_errors),
                    hints_used,
                ),
            )
            attempt_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT OR REPLACE INTO check_results (attempt_id, check_id, concept, status,"
                " points, max_points) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (attempt_id, c.id, c.concept, c.status, c.points, c.max_points)
                    for c in report.checks
                ],
            )
        return attempt_id

    def record_hint(self, scenario: str, hint_index: int) -> None:
        """Hint number `hint_index` (0-based) of `scenario` was shown."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO hints (scenario, hint_index, at) VALUES (?, ?, ?)",
                (scenario, hint_index, time.time()),
            )

    def record_reveal(self, scenario: str, before_pass: bool) -> None:
        """The reference answer of `scenario` was shown (the first time counts)."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO reveals (scenario, at, before_pass) VALUES (?, ?, ?)",
                (scenario, time.time(), int(before_pass)),
            )

    def record_self_grade(
        self,
        scenario: str,
        question_index: int,
        question: str,
        answer: str,
        grade: str,
        *,
        concept: str | None = None,
        interview_id: int | None = None,
        at: float | None = None,
    ) -> int:
        """Store a follow-up self-grade; returns its id. `concept` is what it reviews (by
        default the scenario's lead concept, from its latest attempt's checks)."""
        if grade not in SELF_GRADES:
            raise ValueError(f"grade must be one of {', '.join(SELF_GRADES)}, not {grade!r}")
        with self._write() as db:
            if concept is None:
                concept = _lead_concept_stored(db, scenario)
            cursor = db.execute(
                "INSERT INTO self_grades (scenario, question_index, question, answer, grade,"
                " at, concept, interview_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scenario,
                    question_index,
                    question,
                    answer,
                    grade,
                    at if at is not None else time.time(),
                    concept,
                    interview_id,
                ),
            )
        return int(cursor.lastrowid or 0)

    def record_coverage(self, self_grade_id: int, coverage: Any) -> None:
        """What the coverage scorer found in a graded answer (an `app.coach` Coverage)."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO coverage_results (self_grade_id, scorer, threshold,"
                " scores, suggested) VALUES (?, ?, ?, ?, ?)",
                (
                    self_grade_id,
                    coverage.scorer,
                    float(coverage.threshold),
                    json.dumps([round(float(x), 4) for x in coverage.scores]),
                    coverage.suggested,
                ),
            )

    # -- interviews -------------------------------------------------------------

    def start_interview(
        self, scenarios: Sequence[str], minutes: int, track: str | None, seed: int, at: float
    ) -> int:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO interviews (started, minutes, track, seed, scenarios)"
                " VALUES (?, ?, ?, ?, ?)",
                (at, minutes, track, seed, json.dumps(list(scenarios))),
            )
        return int(cursor.lastrowid or 0)

    def record_interview_question(
        self,
        interview_id: int,
        position: int,
        scenario: str,
        attempt_id: int,
        seconds_allowed: float,
        seconds_used: float,
        auto_submitted: bool,
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO interview_questions (interview_id, position, scenario,"
                " attempt_id, seconds_allowed, seconds_used, auto_submitted)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    interview_id,
                    position,
                    scenario,
                    attempt_id,
                    seconds_allowed,
                    seconds_used,
                    int(auto_submitted),
                ),
            )

    def record_interview_answer(
        self,
        interview_id: int,
        position: int,
        follow_up: int,
        answer: str,
        seconds_used: float,
        auto_submitted: bool,
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO interview_answers (interview_id, position, follow_up,"
                " answer, seconds_used, auto_submitted) VALUES (?, ?, ?, ?, ?, ?)",
                (interview_id, position, follow_up, answer, seconds_used, int(auto_submitted)),
            )

    def finish_interview(self, interview_id: int, at: float) -> None:
        with self._write() as db:
            db.execute("UPDATE interviews SET finished = ? WHERE id = ?", (at, interview_id))

    def interviews(self) -> list[dict[str, Any]]:
        """Every interview, oldest first, with its questions and follow-up answers."""
        found: dict[int, dict[str, Any]] = {}
        for row in self._read(
            "SELECT id, started, finished, minutes, track, seed, scenarios FROM interviews"
            " ORDER BY id"
        ):
            found[int(row[0])] = {
                "id": int(row[0]),
                "started": float(row[1]),
                "finished": None if row[2] is None else float(row[2]),
                "minutes": int(row[3]),
                "track": row[4],
                "seed": int(row[5]),
                "scenarios": _json_list(row[6]),
                "questions": [],
                "score": 0,
                "max_score": 0,
            }
        for row in self._read(
            "SELECT q.interview_id, q.position, q.scenario, q.seconds_allowed, q.seconds_used,"
            " q.auto_submitted, a.score, a.max_score, a.passed FROM interview_questions q"
            " LEFT JOIN attempts a ON a.id = q.attempt_id ORDER BY q.interview_id, q.position"
        ):
            interview = found.get(int(row[0]))
            if interview is None:
                continue
            question = {
                "position": int(row[1]),
                "scenario": row[2],
                "seconds_allowed": float(row[3]),
                "seconds_used": float(row[4]),
                "auto_submitted": bool(row[5]),
                "score": None if row[6] is None else int(row[6]),
                "max_score": None if row[7] is None else int(row[7]),
                "passed": bool(row[8]),
                "follow_ups": [],
            }
            interview["questions"].append(question)
            interview["score"] += question["score"] or 0
            interview["max_score"] += question["max_score"] or 0
        grades = {
            (int(r[0]), str(r[1]), int(r[2])): str(r[3])
            for r in self._read(
                "SELECT interview_id, scenario, question_index, grade FROM self_grades"
                " WHERE interview_id IS NOT NULL ORDER BY id"
            )
        }
        for row in self._read(
            "SELECT interview_id, position, follow_up, answer, seconds_used, auto_submitted"
            " FROM interview_answers ORDER BY interview_id, position, follow_up"
        ):
            interview = found.get(int(row[0]))
            if interview is None:
                continue
            for question in interview["questions"]:
                if question["position"] == int(row[1]):
                    question["follow_ups"].append(
                        {
                            "index": int(row[2]),
                            "answer": row[3],
                            "seconds_used": float(row[4]),
                            "auto_submitted": bool(row[5]),
                            "grade": grades.get((int(row[0]), question["scenario"], int(row[2]))),
                        }
                    )
        return list(found.values())

    # -- the review schedule ----------------------------------------------------

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
                rows = list(db.execute(f"SELECT {_CARD_COLUMNS} FROM review_cards"))
            except sqlite3.OperationalError:
                # A table went missing (hand edits, a tool): create it and rebuild.
                for statement in _SCHEDULE_TABLES.split(";"):
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
            events = _review_events(db, marks.get("attempt", 0), marks.get("follow-up", 0))
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
                f"INSERT OR REPLACE INTO review_cards ({_CARD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?,"
                " ?, ?)",
                [tuple(states[c].to_row().values()) for c in sorted(changed)],
            )
            db.executemany(
                "INSERT OR REPLACE INTO review_marks (source, last_id) VALUES (?, ?)",
                [("attempt", newest_attempt), ("follow-up", newest_grade)],
            )
            return states

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A read-modify-write transaction that takes the write lock first, so two processes
        syncing the schedule at once take turns instead of applying the same events twice."""
        db = self._db
        if db.in_transaction:
            db.commit()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.commit()

    def start_visit(self, scenario: str, at: float | None = None) -> int:
        """The candidate opened `scenario`; returns the visit id for `add_time`."""
        now = at if at is not None else time.time()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO visits (scenario, started, last_seen) VALUES (?, ?, ?)",
                (scenario, now, now),
            )
        return int(cursor.lastrowid or 0)

    def add_time(self, visit_id: int, active_seconds: float, at: float | None = None) -> None:
        """Add active time to a visit (called periodically, so a kill loses little)."""
        with self._write() as db:
            db.execute(
                "UPDATE visits SET active_seconds = active_seconds + ?, last_seen = ? WHERE id = ?",
                (max(0.0, active_seconds), at if at is not None else time.time(), visit_id),
            )

    def forget(self, scenario: str) -> None:
        """Drop everything stored about `scenario` (not used by reset: progress outlives drafts)."""
        with self._write() as db:
            db.execute(
                "DELETE FROM check_results WHERE attempt_id IN"
                " (SELECT id FROM attempts WHERE scenario = ?)",
                (scenario,),
            )
            for table in ("attempts", "hints", "reveals", "self_grades", "visits"):
                db.execute(f"DELETE FROM {table} WHERE scenario = ?", (scenario,))
            # The schedule replays what is left on its next read.
            db.execute("DELETE FROM review_marks")

    # -- reads ------------------------------------------------------------------

    def hints_used(self, scenario: str) -> int:
        rows = self._read("SELECT COUNT(*) FROM hints WHERE scenario = ?", (scenario,))
        return int(rows[0][0])

    def revealed(self, scenario: str) -> bool:
        return bool(self._read("SELECT 1 FROM reveals WHERE scenario = ?", (scenario,)))

    def passed(self, scenario: str) -> bool:
        return bool(
            self._read(
                "SELECT 1 FROM attempts WHERE scenario = ? AND passed = 1 LIMIT 1", (scenario,)
            )
        )

    def self_grades(self, scenario: str) -> list[SelfGrade]:
        rows = self._read(
            "SELECT scenario, question_index, question, answer, grade, at"
            " FROM self_grades WHERE scenario = ? ORDER BY id",
            (scenario,),
        )
        return [SelfGrade(*row) for row in rows]

    def attempt_checks(self, attempt_id: int) -> list[CheckOutcome]:
        rows = self._read(
            "SELECT check_id, concept, status, points, max_points"
            " FROM check_results WHERE attempt_id = ? ORDER BY rowid",
            (attempt_id,),
        )
        return [CheckOutcome(*row) for row in rows]

    def last_scenario(self) -> str | None:
        """The scenario worked on most recently (by visit or attempt)."""
        rows = self._read(
            "SELECT scenario FROM (SELECT scenario, last_seen AS t FROM visits"
            " UNION ALL SELECT scenario, at AS t FROM attempts) ORDER BY t DESC LIMIT 1"
        )
        return str(rows[0][0]) if rows else None

    def recent_scenarios(self, limit: int = 20) -> list[str]:
        """Scenarios by most recent activity, newest first."""
        rows = self._read(
            "SELECT scenario, MAX(t) AS latest FROM (SELECT scenario, last_seen AS t FROM visits"
            " UNION ALL SELECT scenario, at AS t FROM attempts) GROUP BY scenario"
            " ORDER BY latest DESC LIMIT ?",
            (limit,),
        )
        return [str(r[0]) for r in rows]

    def scenario_progress(self, scenario: str) -> ScenarioProgress:
        return self.all_progress().get(scenario) or ScenarioProgress(scenario)

    def all_progress(self) -> dict[str, ScenarioProgress]:
        """Progress for every scenario that has any stored activity."""
        found: dict[str, ScenarioProgress] = {}

        def entry(scenario: str) -> ScenarioProgress:
            return found.setdefault(scenario, ScenarioProgress(scenario))

        for scenario, count, passed, last in self._read(
            "SELECT scenario, COUNT(*), MAX(passed), MAX(at) FROM attempts GROUP BY scenario"
        ):
            item = entry(scenario)
            item.attempts, item.passed = int(count), bool(passed)
            item.last_activity = max(item.last_activity, float(last))
        for scenario, score, max_score in self._read(
            "SELECT scenario, score, max_score FROM attempts a WHERE id = (SELECT id FROM"
            " attempts b WHERE b.scenario = a.scenario ORDER BY score DESC, at DESC LIMIT 1)"
        ):
            entry(scenario).best_score, entry(scenario).max_score = int(score), int(max_score)
        for scenario, score in self._read(
            "SELECT scenario, score FROM attempts a WHERE id = (SELECT id FROM attempts b"
            " WHERE b.scenario = a.scenario ORDER BY at DESC, id DESC LIMIT 1)"
        ):
            entry(scenario).last_score = int(score)
        for scenario, count in self._read("SELECT scenario, COUNT(*) FROM hints GROUP BY scenario"):
            entry(scenario).hints_used = int(count)
        for scenario, before_pass in self._read("SELECT scenario, before_pass FROM reveals"):
            entry(scenario).revealed = True
            entry(scenario).revealed_before_pass = bool(before_pass)
        for scenario, seconds, last in self._read(
            "SELECT scenario, SUM(active_seconds), MAX(last_seen) FROM visits GROUP BY scenario"
        ):
            item = entry(scenario)
            item.seconds = float(seconds or 0)
            item.last_activity = max(item.last_activity, float(last))
        for scenario, count in self._read(
            "SELECT scenario, COUNT(*) FROM self_grades GROUP BY scenario"
        ):
            entry(scenario).self_grades = int(count)
        return found

    def concept_scenarios(self) -> dict[str, set[str]]:
        """Per concept, the scenarios whose recorded checks tested it."""
        found: dict[str, set[str]] = {}
        for concept, scenario in self._read(
            "SELECT DISTINCT c.concept, a.scenario FROM check_results c"
            " JOIN attempts a ON a.id = c.attempt_id"
        ):
            found.setdefault(str(concept), set()).add(str(scenario))
        return found

    def attempt_history(self) -> list[tuple[float, str, int, int, str]]:
        """Every attempt as (at, scenario, score, max_score, mode), oldest first."""
        return [
            (float(r[0]), str(r[1]), int(r[2]), int(r[3]), str(r[4]))
            for r in self._read(
                "SELECT at, scenario, score, max_score, mode FROM attempts ORDER BY at, id"
            )
        ]

    def concept_results(self) -> dict[str, tuple[int, int]]:
        """Per concept: (checks passed, checks graded) over each scenario's latest attempt."""
        rows = self._read(
            "SELECT c.concept, SUM(c.status = 'pass'), COUNT(*) FROM check_results c"
            " JOIN attempts a ON a.id = c.attempt_id WHERE a.id IN (SELECT MAX(id) FROM attempts"
            " GROUP BY scenario) GROUP BY c.concept ORDER BY c.concept"
        )
        return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}

    def export(self) -> dict[str, Any]:
        """Every row, for `kprep progress --format json` consumers and debugging."""
        return {
            "schema_version": SCHEMA_VERSION,
            "attempts": [
                dict(
                    zip(
                        (
                            "id",
                            "scenario",
                            "at",
                            "mode",
                            "score",
                            "max_score",
                            "passed",
                            "errors",
                            "hints_used",
                        ),
                        row,
                        strict=True,
                    )
                )
                for row in self._read(
                    "SELECT id, scenario, at, mode, score,"
                    " max_score, passed, error_count, hints_used"
                    " FROM attempts ORDER BY id"
                )
            ],
        }


_CARD_COLUMNS = (
    "concept, card, reviews, lapses, last_rating, last_source, last_scenario, last_follow_up"
)
_SCHEDULE_TABLES = """
    CREATE TABLE IF NOT EXISTS review_cards (
        concept TEXT PRIMARY KEY,
        card TEXT NOT NULL,
        reviews INTEGER NOT NULL,
        lapses INTEGER NOT NULL,
        last_rating INTEGER NOT NULL,
        last_source TEXT NOT NULL,
        last_scenario TEXT NOT NULL,
        last_follow_up INTEGER
    );
    CREATE TABLE IF NOT EXISTS review_marks (source TEXT PRIMARY KEY, last_id INTEGER NOT NULL)
"""


def _lead_concept_stored(db: sqlite3.Connection, scenario: str) -> str | None:
    """The scenario's lead concept from its latest attempt's checks (None before any)."""
    rows = db.execute(
        "SELECT concept, max_points FROM check_results WHERE attempt_id = (SELECT MAX(id)"
        " FROM attempts WHERE scenario = ?) ORDER BY rowid",
        (scenario,),
    )
    return lead_concept((str(c), int(p)) for c, p in rows)


def _review_events(
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
        concept = concept or _lead_concept_stored(db, str(scenario))
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


def _json_list(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


class _NewerSchema(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(f"schema version {version}")
        self.version = version


class _Corrupt(sqlite3.DatabaseError):
    """`PRAGMA quick_check` found damage."""


_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_LOCK_TIMEOUT_SECONDS = 15.0
"""How long an open waits for another process's write (a migration, an attempt)."""


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """True only for damage: a file that is not a database or whose pages are broken."""
    if isinstance(exc, _Corrupt):
        return True
    # The primary result code is the low byte of an extended one (SQLITE_CORRUPT_INDEX...).
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def _connect(target: str | Path) -> sqlite3.Connection:
    # The timeout is SQLite's busy handler: a second opener waits for a migration or a
    # write in flight instead of failing with "database is locked".
    connection = sqlite3.connect(str(target), timeout=_LOCK_TIMEOUT_SECONDS)
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def _open_checked(path: Path) -> sqlite3.Connection:
    connection = _connect(path)
    try:
        _set_wal(connection)
        connection.execute("PRAGMA synchronous = NORMAL")
        verdict = connection.execute("PRAGMA quick_check").fetchone()
        if not verdict or verdict[0] != "ok":
            found = verdict[0] if verdict else "no answer"
            raise _Corrupt(f"integrity check failed: {found}")
        _migrate(connection)
        return connection
    except BaseException:
        connection.close()
        raise


def _set_wal(connection: sqlite3.Connection) -> None:
    """Switch to WAL, waiting out a concurrent opener that holds the lock to do the same.

    Changing the journal mode needs an exclusive lock and SQLite reports a busy
    database at once for it, without calling the busy handler, so retry (bounded).
    """
    deadline = time.monotonic() + _LOCK_TIMEOUT_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF in (5, 6)  # BUSY, LOCKED
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _memory() -> sqlite3.Connection:
    """A fresh in-memory database with the current schema (the fallback store)."""
    connection = _connect(":memory:")
    _migrate(connection)
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION; raises _NewerSchema for a newer file.

    One transaction for every pending step (DDL included, so a kill mid-migration
    leaves the previous version intact). `user_version` is read again after
    BEGIN IMMEDIATE holds the write lock: a process that lost the race finds the
    schema already there and does nothing. executescript would commit on its own,
    so statements run one by one.
    """
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise _NewerSchema(version)
    if version == SCHEMA_VERSION:
        return
    if connection.in_transaction:
        connection.commit()
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise _NewerSchema(version)
        for step in range(version, SCHEMA_VERSION):
            for statement in _MIGRATIONS[step].split(";"):
                if statement.strip():
                    connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        # Another process may have moved it already (both found the same damage).
        with contextlib.suppress(FileNotFoundError):
            os.replace(source, target.with_name(target.name + suffix))
    return target
