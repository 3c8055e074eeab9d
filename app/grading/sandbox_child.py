"""Inside a grading worker process: the message framing both ends share, the CPU and
memory budget every check's CEL evaluation runs under, and the worker's request loop.

See `app.grading.sandbox` for why grading runs in workers and how the parent bounds
them; the parent's handle on one worker is `app.grading.sandbox_worker.Worker`.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.grading.celenv import (
    BUDGET_MESSAGE,
    EVAL_BUDGET_SECONDS,
    CelBudgetError,
    CelRuntimeError,
)

if TYPE_CHECKING:
    from app.grading.engine import Grader

try:
    import resource
except ImportError:  # not Unix
    resource = None  # type: ignore[assignment]

MEMORY_BUDGET_BYTES = 2 * 1024**3
"""Address space a worker may add to what it had at start."""
NO_CHECK = -1
"""What the shared page holds while no check is being evaluated."""
CHECK_SLOT = struct.Struct("<q")
"""The shared page's layout: the key of the check being evaluated, read by the parent
when the worker dies."""
_HEADER = struct.Struct("<Q")


# -- framing ------------------------------------------------------------------------------


def write_frame(fd: int, message: Any) -> None:
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


def read_frame(fd: int, deadline: float | None = None) -> Any:
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
        CHECK_SLOT.pack_into(self.slot, 0, key)
        signal.setitimer(signal.ITIMER_PROF, EVAL_BUDGET_SECONDS)
        try:
            return evaluate()
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            CHECK_SLOT.pack_into(self.slot, 0, NO_CHECK)

    def _run_forked(self, evaluate: Callable[[], Any]) -> Any:
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
                write_frame(writable, outcome)
            finally:
                os._exit(0)
        os.close(writable)
        try:
            kind, value = read_frame(readable)
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
    if resource is None:
        return  # not Unix: the CPU budget still applies
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # not Linux: the CPU budget still applies
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = current + MEMORY_BUDGET_BYTES
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft > wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def serve(requests: int, replies: int, slot: mmap.mmap, graders: dict[int, Grader]) -> None:
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
            request = read_frame(requests)
        except EOFError:
            return
        job_id, token, spec, operation, arguments = request
        try:
            grader = graders.get(token)
            if grader is None:
                grader = spec()
                graders[token] = grader
            grader.evaluation_guard = guard
            CHECK_SLOT.pack_into(slot, 0, NO_CHECK)
            if operation == "grade":
                content, file, over_budget = arguments
                result: Any = grader.grade_anything_here(content, file, over_budget)
            else:
                docs, keys, extra, over_budget = arguments
                result = grader.run_checks_here(docs, keys, extra, over_budget)
            reply: tuple[Any, ...] = (job_id, "ok", result)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, never fatal here
            reply = (job_id, "failed", f"{type(exc).__name__}: {exc}")
        write_frame(replies, reply)


def spawned_main() -> None:
    """Entry point of a worker started as a new interpreter (argv: three fds)."""
    requests, replies, slot_fd = (int(arg) for arg in sys.argv[1:4])
    slot = mmap.mmap(slot_fd, mmap.PAGESIZE)
    serve(requests, replies, slot, {})
