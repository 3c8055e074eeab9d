"""Host processes the kwok provider runs: is a port free, is a pid alive, what command
line does it run (pids get reused, so ownership is checked by command line)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def alive(pid: int) -> bool:
    """Whether `pid` runs: exists, and is not a zombie (exited, not yet reaped by its
    parent, which may be this process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
    return True


def command_line(pid: int) -> str | None:
    """A process's command line; None when it cannot be read."""
    try:
        return (
            Path(f"/proc/{pid}/cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode("utf-8", "replace")
        )
    except OSError:
        pass
    try:
        result = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def runs_under(pid: int, folder: Path) -> bool:
    """Whether `pid` is alive and its command line names `folder` (pids get reused; a
    command line that cannot be read counts as ours)."""
    if not alive(pid):
        return False
    command = command_line(pid)
    return command is None or str(folder) in command


def pid_files(folder: Path) -> dict[str, int]:
    """Name -> pid of every `<name>.pid` file in `folder` that holds a number."""
    found: dict[str, int] = {}
    for pid_file in sorted(folder.glob("*.pid")) if folder.is_dir() else []:
        try:
            found[pid_file.stem] = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
    return found


def terminate(pids: list[int], grace_seconds: float) -> None:
    """SIGTERM each pid, then SIGKILL whatever is still alive after `grace_seconds`."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    remaining = pids
    while remaining and time.monotonic() < deadline:
        time.sleep(0.05)
        remaining = [pid for pid in remaining if alive(pid)]
    for pid in remaining:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
