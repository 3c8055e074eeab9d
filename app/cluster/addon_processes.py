"""The add-ons as host processes: start detached, find again by pid file, probe, stop.

Each process runs in its own session (it outlives `kprep cluster up`), writes
to `STATE/addons/logs/<name>.log`, and has its pid in `STATE/addons/pids/<name>.pid`.
A pid counts as ours only while the process's command line names this
cluster's state folder (every add-on gets `--kubeconfig=STATE/...`), so a pid
reused by another program after a reboot is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from app.cluster.addon_config import AddonPaths, ProcessSpec
from app.cluster.host_processes import alive, runs_under, terminate


def free_ports(count: int) -> list[int]:
    """`count` distinct ports nothing listens on now (the kernel's ephemeral picks).

    kwokctl takes its own ports just below 32768; the kernel hands these out from
    the ephemeral range above it, so the two never collide.
    """
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for probe in sockets:
            probe.close()


def pid_file(paths: AddonPaths, name: str) -> Path:
    return paths.pids / f"{name}.pid"


def log_file(paths: AddonPaths, name: str) -> Path:
    return paths.logs / f"{name}.log"


def start(paths: AddonPaths, spec: ProcessSpec, binary: Path) -> int:
    """Start `spec` detached, logging to its log file; returns the pid (also in its pid file)."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.pids.mkdir(parents=True, exist_ok=True)
    log = log_file(paths, spec.name)
    with log.open("ab") as handle:
        handle.write(f"\n--- kprep starts {spec.name} at {time.ctime()}\n".encode())
        handle.flush()
        process = subprocess.Popen(
            [str(binary), *spec.args],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
        )
    pid_file(paths, spec.name).write_text(f"{process.pid}\n", encoding="utf-8")
    return process.pid


def read_pid(paths: AddonPaths, name: str) -> int | None:
    try:
        return int(pid_file(paths, name).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def running_pid(paths: AddonPaths, name: str) -> int | None:
    """The pid of add-on `name` when it runs and is this cluster's, else None."""
    pid = read_pid(paths, name)
    return pid if pid is not None and runs_under(pid, paths.root.parent) else None


def exited(paths: AddonPaths, name: str) -> bool:
    """Whether the process kprep started for `name` is gone (no ownership check: right
    after the fork its command line is still Python's, not the add-on's)."""
    pid = read_pid(paths, name)
    return pid is None or not alive(pid)


def stop(paths: AddonPaths, names: list[str], grace_seconds: float = 3.0) -> list[str]:
    """SIGTERM every running add-on of `names`, SIGKILL after the grace period.

    Returns the names that were running. Pid files are removed.
    """
    pids = {name: pid for name in names if (pid := running_pid(paths, name)) is not None}
    terminate(list(pids.values()), grace_seconds)
    for name in names:
        with contextlib.suppress(OSError):
            pid_file(paths, name).unlink()
    return sorted(pids)


def answers(url: str, ca_file: Path, timeout: float = 1.0) -> bool:
    """Whether GET `url` returns 200 (HTTPS verified against the serving CA)."""
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def log_tail(paths: AddonPaths, name: str, lines: int = 8) -> str:
    try:
        text = log_file(paths, name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:])
