"""The parent's handle on one grading worker process: starting it (forked when the
caller has one thread, a new interpreter otherwise), sending it jobs, reading its
replies, and telling how it died (its CPU or memory budget, a crash, silence).

What runs inside the worker is `app.grading.sandbox_child`; the jobs it is given and
the public entry points are `app.grading.sandbox`.
"""

from __future__ import annotations

import atexit
import contextlib
import mmap
import os
import pickle
import signal
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.grading.celenv import EVAL_BUDGET_SECONDS
from app.grading.sandbox_child import (
    CHECK_SLOT,
    MEMORY_BUDGET_BYTES,
    NO_CHECK,
    read_frame,
    serve,
    write_frame,
)

if TYPE_CHECKING:
    import subprocess

    from app.grading.engine import Grader

JOB_WALL_SECONDS = 60.0
"""A worker silent this long on one answer is killed (a last resort: the CPU budget
stops runaway checks long before)."""
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


class WorkerDied(Exception):
    """The worker process ended while answering; `check_key` is what it was evaluating."""

    def __init__(self, how: str, check_key: int, budget: str | None) -> None:
        super().__init__(how)
        self.how = how
        self.check_key = check_key
        self.budget = budget
        """How the budget was exceeded ("1 s of CPU time"...), or None for a plain crash."""


_PARENT_FDS: set[int] = set()
"""Every pipe end a parent holds for its workers; a forked worker closes them, so that
a worker's pipe reaches EOF when its own parent closes it."""
GRADERS: weakref.WeakValueDictionary[int, Grader] = weakref.WeakValueDictionary()
"""Graders of this process by token; a forked worker inherits them ready to use."""
_LIVE_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()


def supported() -> bool:
    return os.name == "posix" and hasattr(signal, "setitimer") and hasattr(os, "fork")


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def can_fork() -> bool:
    """Forking copies only the calling thread: safe only when it is the only one."""
    return supported() and _thread_count() == 1


def _shared_page_fd() -> int:
    """A file descriptor for one page the worker shares with its parent (a fork inherits
    it; a new interpreter is handed it): memfd where there is one, else a deleted file."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("kprep-worker-slot")
    else:
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
        CHECK_SLOT.pack_into(self.slot, 0, NO_CHECK)
        child_requests, parent_requests = os.pipe()
        parent_replies, child_replies = os.pipe()
        if can_fork():
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
                serve(child_requests, child_replies, slot, dict(GRADERS.items()))
            except BaseException:  # noqa: BLE001 - a worker never unwinds into the parent's code
                code = 1
            finally:
                os._exit(code)
        self.pid = pid
        self.forked = True
        self.known = set(GRADERS.keys())

    def _spawn(self, child_requests: int, child_replies: int) -> None:
        import subprocess  # deferred: start-up cost, the command line forks instead

        slot_fd = self._slot_fd
        code = (
            f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
            "from app.grading.sandbox_child import spawned_main; spawned_main()"
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
            write_frame(self.requests, (job_id, grader.token, spec, operation, arguments))
        except OSError as exc:  # the worker is already gone
            raise self._died() from exc
        self.known.add(grader.token)

    def receive(self, deadline: float | None) -> tuple[int, str, Any]:
        """The next reply; raises WorkerDied (the worker is then reaped)."""
        try:
            reply: tuple[int, str, Any] = read_frame(self.replies, deadline)
        except TimeoutError:
            self.kill()
            raise self._died(wall=True) from None
        except (EOFError, OSError, pickle.UnpicklingError):
            raise self._died() from None
        return reply

    def _died(self, wall: bool = False) -> WorkerDied:
        assert self.slot is not None
        key = CHECK_SLOT.unpack_from(self.slot, 0)[0]
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
            import subprocess  # deferred: start-up cost, only spawned workers need it

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
