"""The review schedule and interviews in the progress store: migration from schema 1,
incremental sync, rebuild from recorded attempts, simulated days."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.grading.report import CheckResult, CheckStatus, Report
from app.progress.schema import MIGRATIONS, SCHEMA_VERSION
from app.progress.store import ProgressStore
from tests.conftest import REPO

DAY = 86400.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()


def report(checks: list[tuple[str, str, CheckStatus, int]], scenario: str = "gpu-limits") -> Report:
    results = [
        CheckResult(cid, cid, status, points if status == "pass" else 0, points, concept)
        for cid, concept, status, points in checks
    ]
    return Report(scenario, "a.yaml", max_score=sum(c.max_points for c in results), checks=results)


GOOD: list[tuple[str, str, CheckStatus, int]] = [
    ("gpu-in-limits", "gpu-limits", "pass", 2),
    ("one-gpu", "gpu-whole-numbers", "pass", 2),
    ("memory", "requests-vs-limits", "pass", 2),
    ("cpu", "requests-vs-limits", "pass", 1),
]
MEMORY_WRONG: list[tuple[str, str, CheckStatus, int]] = [
    ("gpu-in-limits", "gpu-limits", "pass", 2),
    ("one-gpu", "gpu-whole-numbers", "pass", 2),
    ("memory", "requests-vs-limits", "fail", 2),
    ("cpu", "requests-vs-limits", "pass", 1),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProgressStore]:
    opened = ProgressStore.open(tmp_path / "progress.db")
    yield opened
    opened.close()


def cards(store: ProgressStore) -> dict[str, dict]:
    return {c: s.card.to_dict() | {"reviews": s.reviews} for c, s in store.schedule().items()}


def test_each_recorded_attempt_reviews_each_concept_once(store) -> None:
    store.record_attempt(report(MEMORY_WRONG), at=T0)
    schedule = store.schedule()
    assert {c: (s.reviews, s.lapses) for c, s in schedule.items()} == {
        "gpu-limits": (1, 0),
        "gpu-whole-numbers": (1, 0),
        "requests-vs-limits": (1, 1),
    }
    assert store.schedule().keys() == schedule.keys()
    assert store.schedule()["requests-vs-limits"].reviews == 1, "a second read applies nothing"
    store.record_attempt(report(GOOD), at=T0 + DAY)
    assert store.schedule()["requests-vs-limits"].reviews == 2


def test_a_self_grade_reviews_the_lead_concept_with_the_same_grade(store) -> None:
    store.record_attempt(report(GOOD), at=T0)
    grade_id = store.record_self_grade("gpu-limits", 0, "Why?", "Because.", "hard", at=T0 + 60)
    assert grade_id > 0
    state = store.schedule()["gpu-limits"]  # 2 points, first met; requests-vs-limits has 3
    assert state.reviews == 1
    lead = store.schedule()["requests-vs-limits"]
    assert lead.reviews == 2 and lead.last_source == "follow-up" and lead.last_rating == 2
    assert lead.last_follow_up == 0
    store.record_self_grade("gpu-limits", 1, "Q", "A", "again", concept="gpu-limits", at=T0 + 90)
    assert store.schedule()["gpu-limits"].lapses == 1


def test_across_simulated_days_a_lapse_is_due_tomorrow_and_a_pass_much_later(store) -> None:
    store.record_attempt(report(MEMORY_WRONG), at=T0)
    due = {s.concept for s in store.due_reviews(until=T0 + 0.5 * DAY)}
    assert due == set()
    due_next_day = {s.concept for s in store.due_reviews(until=T0 + 1.5 * DAY)}
    assert due_next_day == {"requests-vs-limits"}
    store.record_attempt(report(GOOD), at=T0 + 1.5 * DAY)
    passes = [T0 + 1.5 * DAY]
    for _ in range(3):
        state = store.schedule()["requests-vs-limits"]
        store.record_attempt(report(GOOD), at=state.due.timestamp())
        passes.append(state.due.timestamp())
    gaps = [b - a for a, b in zip(passes, passes[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[-1] > 5 * DAY, gaps
    final = store.schedule()["requests-vs-limits"]
    assert final.reviews == 5 and final.lapses == 1


def test_a_corrupt_card_is_rebuilt_from_the_recorded_attempts(store, tmp_path) -> None:
    store.record_attempt(report(MEMORY_WRONG), at=T0)
    store.record_attempt(report(GOOD), at=T0 + 2 * DAY)
    store.record_self_grade("gpu-limits", 0, "Q", "A", "good", concept="mig", at=T0 + 3 * DAY)
    before = cards(store)
    raw = sqlite3.connect(tmp_path / "progress.db")
    raw.execute("UPDATE review_cards SET card = '{broken' WHERE concept = 'requests-vs-limits'")
    raw.execute("UPDATE review_cards SET reviews = 40 WHERE concept = 'mig'")
    raw.commit()
    assert cards(store) == before
    raw.execute("UPDATE review_marks SET last_id = 999 WHERE source = 'attempt'")
    raw.execute("DELETE FROM review_cards WHERE concept = 'gpu-limits'")
    raw.commit()
    assert cards(store) == before
    raw.execute("DROP TABLE review_cards")
    raw.commit()
    raw.close()
    assert cards(store) == before


def test_forgetting_a_scenario_replays_what_is_left(store) -> None:
    store.record_attempt(report(GOOD), at=T0)
    store.record_attempt(report(GOOD, scenario="qos-guaranteed"), at=T0 + DAY)
    assert store.schedule()["gpu-limits"].reviews == 2
    store.forget("qos-guaranteed")
    assert store.schedule()["gpu-limits"].reviews == 1


def test_two_stores_on_one_file_never_apply_a_review_twice(tmp_path) -> None:
    first = ProgressStore.open(tmp_path / "progress.db")
    second = ProgressStore.open(tmp_path / "progress.db")
    try:
        first.record_attempt(report(GOOD), at=T0)
        assert second.schedule()["gpu-limits"].reviews == 1
        assert first.schedule()["gpu-limits"].reviews == 1
        second.record_attempt(report(GOOD), at=T0 + DAY)
        assert first.schedule()["gpu-limits"].reviews == 2
        assert second.schedule()["gpu-limits"].reviews == 2
    finally:
        first.close()
        second.close()


SYNC_IN_CHILD = """
import sys
from app.progress.store import ProgressStore
store = ProgressStore.open(__import__("pathlib").Path(sys.argv[1]))
for _ in range(20):
    store.schedule()
print(store.schedule()["gpu-limits"].reviews)
"""


def test_processes_syncing_at_once_take_turns(tmp_path) -> None:
    path = tmp_path / "progress.db"
    with ProgressStore.open(path) as seeded:
        for day in range(30):
            seeded.record_attempt(report(GOOD), at=T0 + day * DAY)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", SYNC_IN_CHILD, str(path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [o[0].strip() for o in outputs] == ["30"] * 3, outputs
    with ProgressStore.open(path) as check:
        assert check.schedule()["gpu-limits"].reviews == 30


def test_a_schema_1_database_migrates_in_place_and_keeps_everything(tmp_path) -> None:
    path = tmp_path / "progress.db"
    legacy = sqlite3.connect(path)
    legacy.execute("BEGIN")
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            legacy.execute(statement)
    legacy.execute("PRAGMA user_version = 1")
    legacy.execute(
        "INSERT INTO attempts VALUES (1, 'gpu-limits', ?, 'offline', 4, 7, 0, 0, 0)", (T0,)
    )
    legacy.executemany(
        "INSERT INTO check_results VALUES (1, ?, ?, ?, ?, ?)",
        [
            ("gpu-in-limits", "gpu-limits", "pass", 2, 2),
            ("memory", "requests-vs-limits", "fail", 0, 2),
            ("cpu", "requests-vs-limits", "pass", 1, 1),
        ],
    )
    legacy.execute(
        "INSERT INTO self_grades VALUES (1, 'gpu-limits', 0, 'Q', 'A', 'again', ?)", (T0 + 5,)
    )
    legacy.commit()
    legacy.close()
    with ProgressStore.open(path) as migrated:
        assert migrated.opened.problem is None
        assert migrated.scenario_progress("gpu-limits").attempts == 1
        assert [g.grade for g in migrated.self_grades("gpu-limits")] == ["again"]
        schedule = migrated.schedule()
        # The legacy self-grade names no concept: the lead one (3 points) is resolved.
        assert schedule["requests-vs-limits"].reviews == 2
        assert schedule["requests-vs-limits"].lapses == 2
        assert schedule["gpu-limits"].reviews == 1
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    db.close()


def test_interviews_are_listed_with_questions_answers_and_grades(store) -> None:
    interview = store.start_interview(["gpu-limits", "qos-guaranteed"], 30, "serving", 9, T0)
    attempt = store.record_attempt(report(MEMORY_WRONG), at=T0 + 100)
    store.record_interview_question(interview, 0, "gpu-limits", attempt, 900, 100, False)
    store.record_interview_answer(interview, 0, 0, "unbounded memory", 40, False)
    store.record_interview_answer(interview, 0, 1, "half", 860, True)
    grade_id = store.record_self_grade(
        "gpu-limits", 0, "Q", "unbounded memory", "good", interview_id=interview
    )

    class Cov:
        scorer, threshold, scores, suggested = "test", 0.5, (0.7, 0.2), "hard"

    store.record_coverage(grade_id, Cov())
    store.finish_interview(interview, T0 + 2000)
    (listed,) = store.interviews()
    assert listed["track"] == "serving" and listed["finished"] == T0 + 2000
    assert listed["scenarios"] == ["gpu-limits", "qos-guaranteed"]
    (question,) = listed["questions"]
    assert (question["score"], question["max_score"]) == (5, 7)
    assert [f["grade"] for f in question["follow_ups"]] == ["good", None]
    assert question["follow_ups"][1]["auto_submitted"]
    assert (listed["score"], listed["max_score"]) == (5, 7)
