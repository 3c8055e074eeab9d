"""Mock interviews in the progress database: each interview, its questions (with the
attempt that graded each) and the follow-up answers typed during it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.progress.database import StoreBase


class InterviewRecords(StoreBase):
    """The interview part of `ProgressStore`."""

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


def _json_list(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
