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

import atexit
import contextlib
import itertools
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.grading.celenv import BUDGET_MESSAGE, EVAL_BUDGET_SECONDS

if TYPE_CHECKING:
    import subprocess

    from app.grading.engine import Grader
    from app.grading.report import CheckResult, Report
    from app.yamlmap import Document

MEMORY_BUDGET_BYTES = 2 * 1024**3
"""Address space a worker may add to what it had at start."""
JOB_WALL_SECONDS = 60.0
"""A worker silent this long on one answer is killed (a last resort: the CPU budget
stops runaway checks long before)."""
_NO_CHECK = -1
_SLOT = struct.Struct("<q")
_HEADER = struct.Struct("<Q")
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


class WorkerDied(Exception):
    """The worker process ended while answering; `check_key` is what it was evaluating."""

    def __init__(self, how: str, check_key: int, budget: str | None) -> None:
        super().__init__(how)
        self.how = how
        self.check_key = check_key
        self.budget = budget
        """How the budget was exceeded ("1 s of CPU time"...), or None for a plain crash."""


# -- framing ------------------------------------------------------------------------------


def _write_frame(fd: int, message: Any) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(_HEADER.pack(len(body)) + body)
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    """`size` bytes, None at EOF; TimeoutError past `deadline` (monotonic)."""
    chunks: list[bytes] = []
    while size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None = None) -> Any:
    """The next message, or raises EOFError / TimeoutError."""
    header = _read_exact(fd, _HEADER.size, deadline)
    if header is None:
        raise EOFError
    body = _read_exact(fd, _HEADER.unpack(header)[0], deadline)
    if body is None:
        raise EOFError
    return pickle.loads(body)


# -- the worker side ----------------------------------------------------------------------


class _BudgetGuard:
    """Runs each evaluation under the CPU timer, naming its check in the shared page.

    A risky evaluation (its worst-case estimate exceeds RISKY_SECONDS: a `filter`
    over a long list, say) runs in a fork of the worker, so that overrunning costs
    only that fork, not the worker and the re-grade of the whole answer.
    """

    def __init__(self, slot: mmap.mmap) -> None:
        self.slot = slot

    def run(self, key: int, evaluate: Callable[[], Any], risky: bool) -> Any:
        if risky:
            return self._run_forked(evaluate)
        _SLOT.pack_into(self.slot, 0, key)
        signal.setitimer(signal.ITIMER_PROF, EVAL_BUDGET_SECONDS)
        try:
            return evaluate()
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            _SLOT.pack_into(self.slot, 0, _NO_CHECK)

    def _run_forked(self, evaluate: Callable[[], Any]) -> Any:
        from app.grading.celenv import CelBudgetError, CelRuntimeError

        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:  # a throwaway copy: it answers once, or the timer kills it
            try:
                os.close(readable)
                signal.setitimer(signal.ITIMER_PROF, EVAL_BUDGET_SECONDS)
                try:
                    outcome: tuple[str, Any] = ("ok", evaluate())
                except CelRuntimeError as exc:
                    outcome = ("raise", exc)
                except Exception as exc:  # noqa: BLE001 - carried to the worker as it is
                    outcome = ("raise", CelRuntimeError(f"{type(exc).__name__}: {exc}"))
                _write_frame(writable, outcome)
            finally:
                os._exit(0)
        os.close(writable)
        try:
            kind, value = _read_frame(readable)
        except (EOFError, pickle.UnpicklingError):
            kind, value = "died", None
        finally:
            os.close(readable)
            _, status = os.waitpid(pid, 0)
        if kind == "ok":
            return value
        if kind == "raise":
            raise value
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGPROF:
            how = f"{EVAL_BUDGET_SECONDS:g} s of CPU time"
        else:
            how = f"{MEMORY_BUDGET_BYTES // 1024**3} GiB of memory, or crashed"
        raise CelBudgetError(
            f"was stopped: it {BUDGET_MESSAGE} ({how}). Checks must stay cheap: avoid "
            "nested comprehensions over large lists"
        )


def _limit_memory() -> None:
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        return  # not Linux: the CPU budget still applies
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = current + MEMORY_BUDGET_BYTES
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft > wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _serve(requests: int, replies: int, slot: mmap.mmap, graders: dict[int, Grader]) -> None:
    """The worker's loop: answer requests until the parent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    # The interpreter prints every failing helper call to stderr; a check error already says it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    _limit_memory()
    guard = _BudgetGuard(slot)
    while True:
        try:
            request = _read_frame(requests)
        except EOFError:
            return
        job_id, token, spec, operation, arguments = request
        try:
            grader = graders.get(token)
            if grader is None:
                grader = spec()
                graders[token] = grader
            grader.evaluation_guard = guard
            _SLOT.pack_into(slot, 0, _NO_CHECK)
            if operation == "grade":
                content, file, over_budget = arguments
                result: Any = grader.grade_anything_here(content, file, over_budget)
            else:
                docs, keys, extra, over_budget = arguments
                result = grader.run_checks_here(docs, keys, extra, over_budget)
            reply: tuple[Any, ...] = (job_id, "ok", result)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, never fatal here
            reply = (job_id, "failed", f"{type(exc).__name__}: {exc}")
        _write_frame(replies, reply)


def _spawned_main() -> None:
    """Entry point of a worker started as a new interpreter (argv: three fds)."""
    requests, replies, slot_fd = (int(arg) for arg in sys.argv[1:4])
    slot = mmap.mmap(slot_fd, mmap.PAGESIZE)
    _serve(requests, replies, slot, {})


# -- the parent side ----------------------------------------------------------------------

_PARENT_FDS: set[int] = set()
"""Every pipe end a parent holds for its workers; a forked worker closes them, so that
a worker's pipe reaches EOF when its own parent closes it."""
_GRADERS: weakref.WeakValueDictionary[int, Grader] = weakref.WeakValueDictionary()
"""Graders of this process by token; a forked worker inherits them ready to use."""
_LIVE_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()


def register(grader: Grader) -> None:
    """Called by every isolating Grader: remembered for forks, and the shared worker is
    started in the background when that means a new interpreter."""
    _GRADERS[grader.token] = grader
    if not _can_fork() and _supported():
        shared = _shared()
        # Never wait here: a grade in flight holds the lock, and its worker is started.
        if shared.lock.acquire(blocking=False):
            try:
                shared.worker.ensure_started()
            except OSError:
                pass  # the first grade tries again and reports what fails
            finally:
                shared.lock.release()


def _supported() -> bool:
    return os.name == "posix" and hasattr(signal, "setitimer") and hasattr(os, "fork")


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _can_fork() -> bool:
    """Forking copies only the calling thread: safe only when it is the only one."""
    return _supported() and _thread_count() == 1


def _shared_page_fd() -> int:
    """A file descriptor for one page the worker shares with its parent (a fork inherits
    it; a new interpreter is handed it): memfd where there is one, else a deleted file."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("kprep-worker-slot")
    else:
        import tempfile

        fd, name = tempfile.mkstemp(prefix="kprep-worker-slot-")
        os.unlink(name)
    os.ftruncate(fd, mmap.PAGESIZE)
    return fd


class Worker:
    """One worker process and its pipes; restarted on demand after it dies."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.requests = -1
        self.replies = -1
        self._slot_fd = -1
        self.slot: mmap.mmap | None = None
        self.known: set[int] = set()
        """Tokens of the graders this incarnation already holds."""
        self.forked = False
        _LIVE_WORKERS.add(self)

    @property
    def alive(self) -> bool:
        return self.pid is not None

    def ensure_started(self) -> None:
        if self.pid is not None:
            return
        if self.slot is None:
            self._slot_fd = _shared_page_fd()
            self.slot = mmap.mmap(self._slot_fd, mmap.PAGESIZE)
        _SLOT.pack_into(self.slot, 0, _NO_CHECK)
        child_requests, parent_requests = os.pipe()
        parent_replies, child_replies = os.pipe()
        if _can_fork():
            self._fork(child_requests, child_replies, parent_requests, parent_replies)
        else:
            self._spawn(child_requests, child_replies)
        os.close(child_requests)
        os.close(child_replies)
        self.requests, self.replies = parent_requests, parent_replies
        _PARENT_FDS.update((parent_requests, parent_replies))

    def _fork(self, child_requests: int, child_replies: int, *parent_ends: int) -> None:
        slot = self.slot
        assert slot is not None
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                for fd in (*_PARENT_FDS, *parent_ends):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                _serve(child_requests, child_replies, slot, dict(_GRADERS.items()))
            except BaseException:  # noqa: BLE001 - a worker never unwinds into the parent's code
                code = 1
            finally:
                os._exit(code)
        self.pid = pid
        self.forked = True
        self.known = set(_GRADERS.keys())

    def _spawn(self, child_requests: int, child_replies: int) -> None:
        import subprocess

        slot_fd = self._slot_fd
        code = (
            f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
            "from app.grading.sandbox import _spawned_main; _spawned_main()"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, str(child_requests), str(child_replies), str(slot_fd)],
            pass_fds=(child_requests, child_replies, slot_fd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl-C goes to the parent, which decides
        )
        self.pid = self._process.pid
        self.forked = False
        self.known = set()

    def send(self, job_id: int, grader: Grader, operation: str, arguments: tuple[Any, ...]) -> None:
        self.ensure_started()
        spec = None if grader.token in self.known else grader.worker_spec()
        try:
            _write_frame(self.requests, (job_id, grader.token, spec, operation, arguments))
        except OSError as exc:  # the worker is already gone
            raise self._died() from exc
        self.known.add(grader.token)

    def receive(self, deadline: float | None) -> tuple[int, str, Any]:
        """The next reply; raises WorkerDied (the worker is then reaped)."""
        try:
            reply: tuple[int, str, Any] = _read_frame(self.replies, deadline)
        except TimeoutError:
            self.kill()
            raise self._died(wall=True) from None
        except (EOFError, OSError, pickle.UnpicklingError):
            raise self._died() from None
        return reply

    def _died(self, wall: bool = False) -> WorkerDied:
        assert self.slot is not None
        key = _SLOT.unpack_from(self.slot, 0)[0]
        status = self._reap()
        budget: str | None = None
        if wall:
            how = f"was silent for {JOB_WALL_SECONDS:.0f} s and was stopped"
            budget = f"{JOB_WALL_SECONDS:.0f} s of wall time"
        elif status is not None and status < 0 and -status == signal.SIGPROF:
            how = "was stopped by its CPU budget"
            budget = f"{EVAL_BUDGET_SECONDS:g} s of CPU time"
        elif status is not None and status < 0:
            name = signal.Signals(-status).name if -status in signal.valid_signals() else -status
            how = f"died of signal {name}"
            if -status in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGKILL):
                budget = f"{MEMORY_BUDGET_BYTES // 1024**3} GiB of memory, or crashed"
        else:
            how = f"exited with status {status}"
        return WorkerDied(how, key, budget)

    def _reap(self) -> int | None:
        """Close the pipes and collect the exit status (negative: the signal)."""
        for fd in (self.requests, self.replies):
            if fd >= 0:
                _PARENT_FDS.discard(fd)
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.requests = self.replies = -1
        pid, process = self.pid, self._process
        self.pid, self._process = None, None
        self.known = set()
        if process is not None:
            import subprocess

            try:
                return process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                return process.wait()
        if pid is None:
            return None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return None
        if os.WIFSIGNALED(status):
            return -os.WTERMSIG(status)
        return os.WEXITSTATUS(status)

    def kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop the worker (killed: it may be deep in an evaluation) and reap it."""
        if self.pid is not None:
            self.kill()
            self._reap()
        if self.slot is not None:
            self.slot.close()
            self.slot = None
        if self._slot_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._slot_fd)
            self._slot_fd = -1


@atexit.register
def _stop_all() -> None:
    for worker in list(_LIVE_WORKERS):
        worker.close()


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
    if not _supported():
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
    if not _supported():
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
    from app.grading.report import Report

    if not _supported():
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
