"""End to end: the real `kprep practice gpu-limits` in a real terminal (tmux).

Types into the editor with send-keys, grades with ctrl+r, reads the result off
the screen with capture-pane, quits with ctrl+c and checks the draft on disk.
Fails (never skips) when tmux is missing.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


def _tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.fail("tmux is required for the end-to-end test (apt-get install tmux)")
    return tmux


def _wait_for(what: str, probe: Callable[[], str], timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = probe()
        if what in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{what!r} never appeared on screen:\n{screen}")


def test_practice_grade_and_quit_in_tmux(tmp_path: Path) -> None:
    tmux = _tmux()
    home = tmp_path / "home"
    kprep = Path(sys.executable).with_name("kprep")
    session = f"kprep-e2e-{os.getpid()}"
    # -u: pytest children inherit COLUMNS=80/LINES=24, which Textual would obey.
    command = (
        f"env -u COLUMNS -u LINES KPREP_HOME={shlex.quote(str(home))} TERM=xterm-256color "
        f"{shlex.quote(str(kprep))} --course {shlex.quote(str(REPO))} "
        "practice gpu-limits"
    )

    # A private tmux server (-L) with no config (-f /dev/null): the developer's tmux and
    # its sizing rules stay out of the test.
    base = [tmux, "-L", session, "-f", "/dev/null"]

    def tmux_run(*args: str) -> str:
        done = subprocess.run([*base, *args], capture_output=True, text=True, check=False)
        return done.stdout

    def screen() -> str:
        return tmux_run("capture-pane", "-p", "-t", session)

    subprocess.run(
        [*base, "new-session", "-d", "-s", session, "-x", "100", "-y", "32", command], check=True
    )
    try:
        _wait_for("gpu-limits · serving", screen)
        _wait_for("Problems", screen)  # grading as you type has run on the starter
        tmux_run("send-keys", "-t", session, "-l", "# e2e edit")
        tmux_run("send-keys", "-t", session, "Enter")
        tmux_run("send-keys", "-t", session, "C-r")
        shown = _wait_for("Checks 1/5 · score 1/8", screen)
        assert "✗ The GPU is set in limits" in shown or "✓ CPU request of 2" in shown, shown
        tmux_run("send-keys", "-t", session, "C-c")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if (
                subprocess.run(
                    [*base, "has-session", "-t", session], capture_output=True, check=False
                ).returncode
                != 0
            ):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"kprep did not exit on ctrl+c:\n{screen()}")
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True, check=False)
    draft = home / "data" / "workspace" / "gpu-limits.yaml"
    assert draft.read_text(encoding="utf-8").startswith("# e2e edit\n")
