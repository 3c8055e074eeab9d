"""The CEL budget and worker processes (app.grading.sandbox).

A runaway check is stopped after its budget and reported as an error while the
others are graded; the caller's thread is never frozen; Ctrl-C ends `kprep
check` at once and leaves no process behind; a worker that crashes costs one
answer, not the class.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from app.course.loader import Course
from app.course.models import Check, Match
from app.grading import sandbox, sandbox_worker
from app.grading.engine import Grader
from tests.conftest import REPO

TEN = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"
RUNAWAY = (
    f"{TEN}.map(a, {TEN}.map(b, {TEN}.map(c, {TEN}.map(d, {TEN}.map(e, {TEN}.map(f, "
    "a + b + c + d + e + f)))))).size() > 0"
)
"""A million-element nested comprehension: minutes of CPU without a budget."""


def check(check_id: str, expression: str) -> Check:
    return Check(
        id=check_id,
        title=check_id,
        points=1,
        concept="budget",
        expression=expression,
        message="m",
        match=Match(kind="Deployment"),
    )


@pytest.fixture(scope="module")
def scenario():
    return Course(REPO).scenario("gpu-limits")


def with_checks(scenario, *extra: Check):
    return dataclasses.replace(scenario, checks=(*extra, *scenario.checks))


def test_a_runaway_check_is_stopped_and_the_others_are_graded(scenario):
    grader = Grader(with_checks(scenario, check("runaway", RUNAWAY)))
    started = time.monotonic()
    report = grader.grade_text(scenario.answer_text(), "a.yaml")
    elapsed = time.monotonic() - started
    runaway, *others = report.checks
    assert runaway.status == "error"
    assert "exceeded the evaluation budget" in runaway.message
    assert all(c.status == "pass" for c in others), report.to_json()
    assert not report.internal_errors
    assert elapsed < 30  # a 1 s CPU budget; the rest is this machine's load
    # The worker was replaced: the next answer is graded normally.
    again = Grader(scenario).grade_text(scenario.answer_text(), "b.yaml")
    assert again.passed


def test_grading_from_a_thread_never_freezes_the_caller(scenario):
    """What the terminal app does: grade in a thread worker while its event loop runs."""
    grader = Grader(with_checks(scenario, check("runaway", RUNAWAY)))
    done = threading.Event()
    reports = []

    def grade() -> None:
        reports.append(grader.grade_text(scenario.answer_text(), "a.yaml"))
        done.set()

    worker = threading.Thread(target=grade)
    worker.start()
    worst = 0.0
    while not done.is_set():
        before = time.monotonic()
        time.sleep(0.02)
        worst = max(worst, time.monotonic() - before)
    worker.join()
    # In-process CEL holds the GIL for the whole evaluation (over a second): here the
    # caller's loop only waits for its own sleeps.
    assert worst < 0.5, worst
    assert reports[0].checks[0].status == "error"


def test_a_map_sure_to_overrun_is_not_run(scenario):
    doc = yaml.safe_load(scenario.answer_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": f"V{i}", "value": "x"} for i in range(6000)]
    text = json.dumps(doc)
    grader = Grader(
        with_checks(
            scenario, check("map", "podSpec(object).containers[0].env.map(e, e.name).size() > 0")
        )
    )
    started = time.monotonic()
    report = grader.grade_text(text, "a.yaml")
    assert report.checks[0].status == "error"
    assert "was not run" in report.checks[0].message
    assert "exceeded the evaluation budget" in report.checks[0].message
    assert time.monotonic() - started < 15


def test_a_risky_filter_runs_in_a_throwaway_fork(scenario):
    """A filter over a long list may be cheap (it keeps nothing) or not (it keeps all):
    either way the worker and the other checks are unharmed."""
    doc = yaml.safe_load(scenario.answer_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": f"V{i}", "value": "x"} for i in range(4000)]
    text = json.dumps(doc)
    env = "podSpec(object).containers[0].env"
    grader = Grader(
        with_checks(
            scenario,
            check("keeps-nothing", f"{env}.filter(e, e.name == 'V7').size() == 1"),
            check("keeps-all", f"{env}.filter(e, true).filter(e, true).size() > 0"),
        )
    )
    report = grader.grade_text(text, "a.yaml")
    statuses = {c.id: c.status for c in report.checks}
    assert statuses["keeps-nothing"] == "pass"
    assert statuses["keeps-all"] == "error"
    assert "exceeded the evaluation budget" in report.checks[1].message
    assert all(statuses[c.id] == "pass" for c in scenario.checks)


def test_a_started_interpreter_worker_grades_the_same(scenario, monkeypatch):
    """The terminal app's case (a threaded caller): a new interpreter, not a fork."""
    monkeypatch.setattr(sandbox_worker, "can_fork", lambda: False)
    worker = sandbox_worker.Worker()
    try:
        grader = Grader(with_checks(scenario, check("runaway", RUNAWAY)))
        job = sandbox._Job(0, "grade", (scenario.answer_text(), "a.yaml"), "a.yaml")
        report = sandbox._attempt(worker, grader, job)
        assert not worker.forked
        assert report.checks[0].status == "error"
        assert all(c.status == "pass" for c in report.checks[1:])
    finally:
        worker.close()


def test_reports_come_back_in_input_order_from_several_workers(scenario):
    grader = Grader(scenario)
    starter = scenario.starter_text()
    answers = [(scenario.answer_text() if i % 3 else starter, f"f{i}") for i in range(12)]
    reports = list(grader.grade_many(answers, jobs=3))
    assert [r.file for r in reports] == [f for _, f in answers]
    assert [r.passed for r in reports] == [bool(i % 3) for i in range(12)]


_SEGFAULTING_BATCH = """
import json, os, signal, sys
from app.course.loader import Course
from app.grading.engine import Grader

real = Grader.validate

def crash_on_marker(self, docs):
    if any("crash-me" in str(d.data) for d in docs):
        os.kill(os.getpid(), signal.SIGSEGV)
    return real(self, docs)

Grader.validate = crash_on_marker
course = Course(sys.argv[1])
scenario = course.scenario("gpu-limits")
grader = Grader(scenario)
answer = scenario.answer_text()
answers = [(answer, "a"), (answer.replace("name: sentiment", "name: crash-me", 1), "b"),
           (answer, "c")]
for report in grader.grade_many(answers, jobs=2):
    print(json.dumps(report.to_json()))
"""


def test_a_worker_that_dies_costs_one_answer_not_the_class():
    result = subprocess.run(
        [sys.executable, "-c", _SEGFAULTING_BATCH, str(REPO)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in reports] == ["a", "b", "c"]
    assert [r["passed"] for r in reports] == [True, False, True]
    (error,) = reports[1]["errors"]
    assert error["source"] == "internal" and "SIGSEGV" in error["message"]


def _runaway_pack(tmp_path: Path) -> Path:
    """A copy of the course's gpu-limits scenario with one runaway check added."""
    import shutil

    pack = tmp_path / "pack"
    for part in ("course.yaml", "lessons", "profiles"):
        source = REPO / part
        target = pack / part
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    shutil.copytree(REPO / "scenarios/gpu-limits", pack / "scenarios/gpu-limits")
    shutil.copytree(REPO / "answers/gpu-limits", pack / "answers/gpu-limits")
    path = pack / "scenarios/gpu-limits/scenario.yaml"
    data = yaml.safe_load(path.read_text())
    data["checks"].insert(
        0,
        {
            "id": "runaway",
            "title": "Runaway",
            "points": 1,
            "concept": "budget",
            "match": {"kind": "Deployment"},
            "expression": RUNAWAY,
            "message": "A check that never ends on its own.",
            "wrongAnswers": [],
        },
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return pack


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def test_ctrl_c_stops_a_runaway_check_at_once_and_leaves_no_process(tmp_path):
    pack = _runaway_pack(tmp_path)
    answer = pack / "answers/gpu-limits/answer.yaml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "--course",
            str(pack),
            "check",
            str(answer),
            "-s",
            "gpu-limits",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    # Wait until the worker is evaluating (two processes in the group), then press Ctrl-C.
    deadline = time.monotonic() + 30
    while len(_group_alive(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_group_alive(process.pid)) >= 2, "the worker never started"
    time.sleep(0.2)
    pressed = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - pressed < 2
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    time.sleep(0.2)
    assert _group_alive(process.pid) == []


def test_the_cli_reports_the_budget_and_exits_1(tmp_path):
    pack = _runaway_pack(tmp_path)
    answer = pack / "answers/gpu-limits/answer.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--course",
            str(pack),
            "check",
            str(answer),
            "-s",
            "gpu-limits",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["checks"][0]["status"] == "error"
    assert "exceeded the evaluation budget" in report["checks"][0]["message"]
    assert report["score"] == 8  # every other check passed
