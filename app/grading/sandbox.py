"""Grading in worker processes: a budget for every check's CEL, and one answer's
crash never another's.

The CEL interpreter is native code that holds the GIL while it runs: a Python
thread can neither interrupt it nor run beside it, and Ctrl-C waits for it. So
`Grader` hands answers to a worker process (a persistent child that keeps its
own copy of every grader it has been shown) and bounds it from outside:

- Before each check's evaluation the worker writes the check's key into a page
  it shares with the parent and arms a CPU-time timer (`ITIMER_PROF`) of
  `EVAL_BUDGET_SECONDS`; the timer's signal has its default action, so an
  evaluation that overruns kills the worker whatever the interpreter is doing.
  The parent sees the worker die, reads the page, and grades the same answer
  again in a fresh worker with that check reported as an `error` ("exceeded the
  evaluation budget"), like the API server's CEL cost limit. Its address space
  is capped too (`MEMORY_BUDGET_BYTES`), so a runaway `map` dies the same way.
- A worker that dies outside an evaluation (a native crash) gives that answer
  an `internal` error; the next answer gets a fresh worker. A Python exception
  never kills it (the engine turns it into an `internal` error).
- The parent only ever waits on a pipe, so Ctrl-C (and the terminal app's
  event loop) stays live. Workers ignore SIGINT; the parent kills them when it
  is interrupted, when it exits, and after `JOB_WALL_SECONDS` of silence.
- Workers are forked when the caller has a single thread (the command line: a
  fork costs a few milliseconds and shares every import) and started as a new
  interpreter otherwise (the terminal app grades from a thread, and forking a
  threaded process is unsafe); the first `Grader` starts one in the background.
- `grade_many` spreads a class's answers over one worker per core and yields
  the reports in input order.

Where none of this is possible (no fork, no `ITIMER_PROF`: not Linux or macOS),
answers are graded in-process without a budget, and each report says so.
"""

from __future__ import annotations

import itertools
import os
import select
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.grading.celenv import BUDGET_MESSAGE
from app.grading.report import Report
from app.grading.sandbox_worker import (
    GRADERS,
    JOB_WALL_SECONDS,
    Worker,
    WorkerDied,
    can_fork,
    supported,
)

if TYPE_CHECKING:
    from app.grading.engine import Grader
    from app.grading.report import CheckResult
    from app.yamlmap import Document


def register(grader: Grader) -> None:
    """Called by every isolating Grader: remembered for forks, and the shared worker is
    started in the background when that means a new interpreter."""
    GRADERS[grader.token] = grader
    if not can_fork() and supported():
        shared = _shared()
        # Never wait here: a grade in flight holds the lock, and its worker is started.
        if shared.lock.acquire(blocking=False):
            try:
                shared.worker.ensure_started()
            except OSError:
                pass  # the first grade tries again and reports what fails
            finally:
                shared.lock.release()


@dataclass
class _Job:
    """One answer (or one run of checks) and what earlier tries learned about it."""

    index: int
    operation: str
    """"grade" or "checks"."""
    arguments: tuple[Any, ...]
    file: str
    over_budget: dict[int, str] = field(default_factory=dict)

    def request(self) -> tuple[Any, ...]:
        return (*self.arguments, dict(self.over_budget))


class _Shared:
    """The process-wide worker single calls share (the terminal app, lint, live checks)."""

    def __init__(self) -> None:
        self.worker = Worker()
        self.lock = threading.Lock()
        self.pid = os.getpid()


_SHARED: _Shared | None = None
_SHARED_LOCK = threading.Lock()
_JOB_IDS = itertools.count(1)


def _shared() -> _Shared:
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED.pid != os.getpid():
            _SHARED = _Shared()
        return _SHARED


def _attempt(worker: Worker, grader: Grader, job: _Job) -> Any:
    """Run one job to its end on `worker`, retrying without each check that blew its
    budget; returns the result or raises WorkerDied for a crash outside any check."""
    while True:
        job_id = _submit(worker, grader, job)[0]
        try:
            while True:
                reply_id, status, result = worker.receive(time.monotonic() + JOB_WALL_SECONDS)
                if reply_id == job_id:
                    break
        except WorkerDied as death:
            if not _record_budget(grader, job, death):
                raise
            continue
        if status != "ok":
            raise RuntimeError(result)
        return result


def _record_budget(grader: Grader, job: _Job, death: WorkerDied) -> bool:
    """Mark the check a dead worker was evaluating; False when it was evaluating none
    (or the same check again: then something else is wrong)."""
    item = grader.check_by_key(death.check_key)
    if item is None or death.budget is None or death.check_key in job.over_budget:
        return False
    job.over_budget[death.check_key] = f"{BUDGET_MESSAGE} ({death.budget})"
    return True


def _in_process(grader: Grader, content: bytes | str, file: str) -> Report:
    report = grader.grade_anything_here(content, file)
    report.notes.append(
        "checks ran without an evaluation budget: worker processes are not available here"
    )
    return report


def grade(grader: Grader, content: bytes | str, file: str) -> Report:
    """One answer in the shared worker."""
    if not supported():
        return _in_process(grader, content, file)
    shared = _shared()
    job = _Job(0, "grade", (content, file), file)
    with shared.lock:
        try:
            report: Report = _attempt(shared.worker, grader, job)
        except WorkerDied as death:
            return grader.internal_error_report(file, f"the grading process {death.how}")
        except (RuntimeError, OSError) as exc:
            return grader.internal_error_report(file, exc)
        except BaseException:
            shared.worker.close()  # Ctrl-C: the worker may be deep in an evaluation
            raise
    return report


def run_checks(
    grader: Grader,
    docs: Sequence[Document],
    keys: Sequence[int],
    extra: dict[str, Any] | None,
) -> list[CheckResult]:
    """Some of a grader's checks over already parsed documents (live verdicts)."""
    if not supported():
        return grader.run_checks_here(docs, keys, extra)
    shared = _shared()
    job = _Job(0, "checks", (list(docs), list(keys), extra), "<checks>")
    with shared.lock:
        try:
            results: list[CheckResult] = _attempt(shared.worker, grader, job)
        except (WorkerDied, RuntimeError, OSError) as exc:
            return grader.failed_checks(keys, str(exc))
        except BaseException:
            shared.worker.close()
            raise
    return results


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def grade_many(
    grader: Grader, answers: Iterable[tuple[bytes | str | Report, str]], jobs: int | None = None
) -> Iterator[Report]:
    """Grade many answers on `jobs` workers; reports come out in input order. A Report
    in place of content is passed through as it is."""
    if not supported():
        for content, file in answers:
            yield content if isinstance(content, Report) else _in_process(grader, content, file)
        return

    pending = iter(enumerate(answers))
    workers = [Worker() for _ in range(jobs or default_jobs())]
    running: dict[int, tuple[_Job, int, float]] = {}
    """worker index -> (job, request id, deadline)"""
    finished: dict[int, Report] = {}
    next_out = 0
    exhausted = False
    try:
        while True:
            for number, worker in enumerate(workers):
                if number in running or exhausted:
                    continue
                try:
                    index, (content, file) = next(pending)
                    while isinstance(content, Report):
                        finished[index] = content
                        index, (content, file) = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                job = _Job(index, "grade", (content, file), file)
                try:
                    running[number] = (job, *_submit(worker, grader, job))
                except WorkerDied as death:
                    finished[index] = grader.internal_error_report(
                        file, f"the grading process {death.how}"
                    )
            while next_out in finished:
                yield finished.pop(next_out)
                next_out += 1
            if not running:
                if exhausted:
                    return
                continue
            by_fd = {workers[n].replies: n for n in running}
            soonest = min(deadline for _, _, deadline in running.values())
            ready, _, _ = select.select(list(by_fd), [], [], max(0.0, soonest - time.monotonic()))
            now = time.monotonic()
            expired = [n for n, (_, _, deadline) in running.items() if deadline <= now]
            for number in {*(by_fd[fd] for fd in ready), *expired}:
                worker = workers[number]
                job, job_id, deadline = running.pop(number)
                try:
                    reply_id, status, result = worker.receive(deadline)
                except WorkerDied as death:
                    try:
                        if _record_budget(grader, job, death):
                            running[number] = (job, *_submit(worker, grader, job))
                            continue
                    except WorkerDied as again:
                        death = again
                    finished[job.index] = grader.internal_error_report(
                        job.file, f"the grading process {death.how}"
                    )
                    continue
                if reply_id != job_id:
                    running[number] = (job, job_id, deadline)  # a stale reply: keep waiting
                    continue
                finished[job.index] = (
                    result
                    if status == "ok"
                    else grader.internal_error_report(job.file, str(result))
                )
    finally:
        for worker in workers:
            worker.close()


def _submit(worker: Worker, grader: Grader, job: _Job) -> tuple[int, float]:
    """Send a job (to a fresh worker if this one turns out to have died since its last
    answer); returns its request id and deadline. Raises WorkerDied if that fails too."""
    job_id = next(_JOB_IDS)
    try:
        worker.send(job_id, grader, job.operation, job.request())
    except WorkerDied:
        worker.send(job_id, grader, job.operation, job.request())
    return job_id, time.monotonic() + JOB_WALL_SECONDS
