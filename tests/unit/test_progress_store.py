"""The SQLite progress store: attempts, hints, reveals, self-grades, time, recovery."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.grading.report import CheckResult, CheckStatus, Diagnostic, Report
from app.progress.records import ProgressError
from app.progress.schema import MIGRATIONS, SCHEMA_VERSION
from app.progress.store import ProgressStore
from tests.conftest import REPO


def report(
    score_checks: list[tuple[str, CheckStatus, int, int]],
    errors: int = 0,
    scenario: str = "gpu-limits",
) -> Report:
    checks = [
        CheckResult(check_id, check_id.title(), status, points, max_points, "concept-" + check_id)
        for check_id, status, points, max_points in score_checks
    ]
    result = Report(
        scenario, "answer.yaml", max_score=sum(c.max_points for c in checks), checks=checks
    )
    result.errors.extend(Diagnostic("bad", "schema", 1, 1) for _ in range(errors))
    return result


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProgressStore]:
    opened = ProgressStore.open(tmp_path / "progress.db")
    yield opened
    opened.close()


def test_new_database_has_the_current_schema_and_wal(tmp_path):
    with ProgressStore.open(tmp_path / "progress.db") as store:
        assert store.opened.problem is None
    db = sqlite3.connect(tmp_path / "progress.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_attempts_keep_score_and_per_check_results(store):
    failing = report([("a", "pass", 2, 2), ("b", "fail", 0, 3)], errors=1)
    first = store.record_attempt(failing, hints_used=1, at=100.0)
    store.record_attempt(report([("a", "pass", 2, 2), ("b", "pass", 3, 3)]), at=200.0)
    progress = store.scenario_progress("gpu-limits")
    assert progress.attempts == 2 and progress.passed
    assert progress.best_score == 5 and progress.last_score == 5 and progress.max_score == 5
    outcomes = store.attempt_checks(first)
    assert [(o.check_id, o.status, o.points) for o in outcomes] == [
        ("a", "pass", 2),
        ("b", "fail", 0),
    ]
    assert store.concept_results() == {"concept-a": (1, 1), "concept-b": (1, 1)}
    assert store.export()["attempts"][0]["errors"] == 1


def test_a_report_with_errors_does_not_pass(store):
    store.record_attempt(report([("a", "pass", 2, 2)], errors=1))
    assert not store.passed("gpu-limits")


def test_hints_reveals_self_grades_and_time(store):
    store.record_hint("gpu-limits", 0)
    store.record_hint("gpu-limits", 0)  # counted once
    store.record_hint("gpu-limits", 1)
    store.record_reveal("gpu-limits", before_pass=True)
    store.record_reveal("gpu-limits", before_pass=False)  # the first reveal counts
    store.record_self_grade("gpu-limits", 0, "Why?", "Because.", "good")
    with pytest.raises(ValueError):
        store.record_self_grade("gpu-limits", 1, "Why?", "", "perfect")
    visit = store.start_visit("gpu-limits", at=10.0)
    store.add_time(visit, 15.0, at=25.0)
    store.add_time(visit, 15.0, at=40.0)
    progress = store.scenario_progress("gpu-limits")
    assert progress.hints_used == 2
    assert progress.revealed and progress.revealed_before_pass
    assert progress.self_grades == 1 and progress.seconds == 30.0
    assert store.self_grades("gpu-limits")[0].answer == "Because."
    assert store.last_scenario() == "gpu-limits"


def test_recent_scenarios_are_newest_first(store):
    store.record_attempt(report([("a", "fail", 0, 1)], scenario="one"), at=10.0)
    store.start_visit("two", at=20.0)
    store.record_attempt(report([("a", "fail", 0, 1)], scenario="three"), at=5.0)
    assert store.recent_scenarios() == ["two", "one", "three"]


def test_progress_survives_reopening(tmp_path):
    path = tmp_path / "progress.db"
    with ProgressStore.open(path) as store:
        store.record_attempt(report([("a", "pass", 1, 1)]))
        store.record_hint("gpu-limits", 0)
    with ProgressStore.open(path) as store:
        assert store.passed("gpu-limits") and store.hints_used("gpu-limits") == 1


def test_corrupt_database_is_moved_aside_and_replaced(tmp_path):
    path = tmp_path / "progress.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with ProgressStore.open(path) as store:
        assert store.opened.moved_aside is not None
        assert store.opened.moved_aside.name.startswith("progress.db.corrupt-")
        assert "could not be read" in (store.opened.problem or "")
        store.record_hint("gpu-limits", 0)
        assert store.path == path
    assert store.opened.moved_aside.exists()
    with ProgressStore.open(path) as again:
        assert again.opened.problem is None and again.hints_used("gpu-limits") == 1


def test_database_from_a_newer_kprep_is_left_alone(tmp_path):
    path = tmp_path / "progress.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.close()
    with ProgressStore.open(path) as store:
        assert "newer kprep" in (store.opened.problem or "")
        assert store.path is None  # in memory: the newer file is not touched
        store.record_hint("x", 0)
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_unwritable_folder_falls_back_to_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with ProgressStore.open(blocker / "progress.db") as store:
        assert store.path is None and "memory" in (store.opened.problem or "")
        store.record_hint("x", 0)
        assert store.hints_used("x") == 1


def test_write_failures_raise_progress_error(store):
    store.close()
    with pytest.raises(ProgressError):
        store.record_hint("x", 0)


def test_a_kill_mid_write_leaves_a_readable_database(tmp_path):
    path = tmp_path / "progress.db"
    writer = (
        "import sys, time\n"
        "from app.progress.store import ProgressStore\n"
        "from app.grading.report import Report, CheckResult\n"
        f"store = ProgressStore.open(__import__('pathlib').Path({str(path)!r}))\n"
        "print('ready', flush=True)\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        "    store.record_attempt(Report('s', 'f', max_score=1, checks=[CheckResult("
        "'c', 'C', 'pass', 1, 1, 'k')]))\n"
        "    store.record_hint('s', i)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", writer], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with ProgressStore.open(path) as store:
        assert store.opened.problem is None
        progress = store.scenario_progress("s")
        assert progress.attempts >= 1 and progress.passed
        # Every attempt committed whole: one check row each.
        assert all(len(store.attempt_checks(row["id"])) == 1 for row in store.export()["attempts"])


_CONCURRENT_WRITER = """
import sys, time
from pathlib import Path
from app.progress.store import ProgressStore
from app.grading.report import Report, CheckResult
path, start, index = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
while time.time() < start:
    time.sleep(0.001)
store = ProgressStore.open(path)
store.record_attempt(Report('s' + index, 'f', max_score=1, checks=[CheckResult(
    'c', 'C', 'pass', 1, 1, 'k')]))
print(store.opened.problem or 'ok', store.path is not None, flush=True)
store.close()
"""


def test_twelve_processes_opening_a_fresh_database_all_keep_their_attempt(tmp_path):
    """Schema creation races must not be taken for corruption (no database moved aside)."""
    path = tmp_path / "home" / "progress.db"
    # Every process starts its open at the same instant, after its imports are done.
    start = time.time() + 3.0
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT_WRITER, str(path), str(start), str(index)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(12)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    assert [out.strip() for out, _ in outputs] == ["ok True"] * 12, outputs
    assert not list(path.parent.glob("*.corrupt-*"))
    with ProgressStore.open(path) as store:
        assert store.opened.problem is None
        assert sorted(store.all_progress()) == sorted(f"s{i}" for i in range(12))


def test_an_opener_that_loses_the_migration_race_finds_the_schema_done(tmp_path):
    """Deterministic form of the race: another connection migrates while this open waits."""
    import threading

    path = tmp_path / "progress.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode = WAL")
    other.execute("BEGIN IMMEDIATE")  # the other process holds the write lock
    outcome: list[tuple[str | None, Path | None]] = []

    def open_and_record() -> None:
        with ProgressStore.open(path) as store:
            store.record_hint("x", 0)
            outcome.append((store.opened.problem, store.path))

    opener = threading.Thread(target=open_and_record)
    opener.start()
    time.sleep(0.5)  # the opener has read user_version 0 and waits for the lock
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            other.execute(statement)
    other.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    other.execute("COMMIT")
    opener.join(timeout=30)
    assert outcome == [(None, path)]
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_locked_database_is_not_taken_for_corruption(tmp_path, monkeypatch):
    from app.progress import database

    path = tmp_path / "progress.db"
    with ProgressStore.open(path) as store:
        store.record_hint("kept", 0)
    monkeypatch.setattr(database, "_LOCK_TIMEOUT_SECONDS", 0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA user_version = 0")  # pretend a migration is pending
    holder.execute("BEGIN EXCLUSIVE")
    with ProgressStore.open(path) as store:
        assert store.path is None and "memory" in (store.opened.problem or "")
        assert store.opened.moved_aside is None
    holder.execute("ROLLBACK")
    holder.close()
    assert not list(tmp_path.glob("*.corrupt-*"))
