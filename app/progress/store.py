"""The candidate's progress: a SQLite database under `data_dir()/progress.db`.

Owns attempts (score and per-check results), hints used, reference answers
revealed, follow-up self-grades (with the concept each reviews), time spent and the
key-point coverage of graded answers, and how the file is opened. Its other parts
live beside it: mock interviews (`interviews`), the review schedule (`schedule`),
the schema and its migrations (`schema`), the connection, its transactions and
corruption detection (`database`), the rows handed back (`records`). Every write is
one transaction in WAL mode, so killing kprep at any moment loses at most the write
in flight.

Only real corruption (SQLite's SQLITE_CORRUPT / SQLITE_NOTADB, or a failed
`quick_check`) moves a file aside (`progress.db.corrupt-<timestamp>`) and starts
a fresh one; any other failure (locked past the timeout, read-only, disk I/O)
leaves the file alone and keeps progress in memory for the session. Either way
the app says so and keeps running. Headless: no Textual here.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from app.progress.database import is_corruption, memory, move_aside, open_checked
from app.progress.interviews import InterviewRecords
from app.progress.records import (
    SELF_GRADES,
    CheckOutcome,
    OpenResult,
    ScenarioProgress,
    SelfGrade,
)
from app.progress.schedule import ReviewSchedule, lead_concept_stored
from app.progress.schema import SCHEMA_VERSION, NewerSchemaError


class ProgressStore(InterviewRecords, ReviewSchedule):
    """The progress database. Use `ProgressStore.open(path)`; call `close()` when done."""

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
            return cls(memory(), None, opened)
        try:
            return cls(open_checked(path), path, opened)
        except NewerSchemaError as exc:
            opened.problem = (
                f"{path} was written by a newer kprep (schema {exc.version}, this "
                f"one knows {SCHEMA_VERSION}); progress is kept in memory for "
                "this session only"
            )
            return cls(memory(), None, opened)
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                # Locked past the timeout, read-only, I/O error...: the file may be
                # healthy, so it is never moved aside for these.
                opened.problem = (
                    f"cannot open {path} ({exc}); progress is kept in memory for this session only"
                )
                return cls(memory(), None, opened)
            try:
                moved = move_aside(path)
            except OSError as move_error:
                opened.problem = (
                    f"the progress database {path} could not be read ({exc}) nor moved "
                    f"aside ({move_error.strerror or move_error}); progress is kept in "
                    "memory for this session only"
                )
                return cls(memory(), None, opened)
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
            return cls(memory(), None, opened)
        try:
            return cls(open_checked(path), path, opened)
        except (sqlite3.DatabaseError, OSError, NewerSchemaError) as exc:
            opened.problem = (
                f"{opened.problem}; the fresh database failed too ({exc}); "
                "progress is kept in memory for this session only"
            )
            return cls(memory(), None, opened)

    @classmethod
    def in_memory(cls) -> ProgressStore:
        return cls(memory(), None)

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
                concept = lead_concept_stored(db, scenario)
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
