"""End to end in a real terminal (tmux): YAML indentation as typed, a burst of keys
applied in order, a hint scrolled into view, and SIGTERM / a closed terminal saving the
draft and leaving the terminal as it was.

Each test runs the real `kprep practice gpu-limits` on a private tmux server. Fails
(never skips) when tmux is missing.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.e2e.test_tmux import _tmux, _wait_for

pytestmark = pytest.mark.e2e


class Terminal:
    """One tmux session running kprep, and ways to type into it and read it."""

    def __init__(
        self, tmp_path: Path, size: tuple[int, int], keep_shell: bool, scenario: str
    ) -> None:
        self.home = tmp_path / "home"
        self.scenario = scenario
        self.session = f"kprep-e2e-{os.getpid()}-{tmp_path.name}"
        self.base = [_tmux(), "-L", self.session, "-f", "/dev/null"]
        kprep = Path(sys.executable).with_name("kprep")
        command = (
            f"env -u COLUMNS -u LINES KPREP_HOME={shlex.quote(str(self.home))} "
            f"TERM=xterm-256color {shlex.quote(str(kprep))} --course {shlex.quote(str(REPO))} "
            f"practice {scenario}"
        )
        if keep_shell:
            # The shell outlives kprep, so the terminal kprep leaves behind can be read.
            command = f"sh -c {shlex.quote(command + '; echo EXIT=$?; sleep 120')}"
        width, height = size
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", self.session, "-x", str(width), "-y",
             str(height), command],
            check=True,
        )  # fmt: skip

    def run(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, check=False)
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def literal(self, text: str) -> None:
        """Send `text` as typed characters, all at once (`--`: a leading `-` is text)."""
        self.run("send-keys", "-t", self.session, "-l", "--", text)

    def type(self, text: str) -> None:
        """Type `text` one key at a time, as a person would (Enter for newlines)."""
        for char in text:
            if char == "\n":
                self.keys("Enter")
            else:
                self.literal(char)
            time.sleep(0.02)

    def wait_for(self, what: str, timeout: float = 40.0) -> str:
        return _wait_for(what, self.screen, timeout)

    def kprep_pid(self) -> int:
        """kprep's process id: the pane's process, or its child when a shell runs it."""
        pane = int(self.run("display-message", "-p", "-t", self.session, "#{pane_pid}"))
        children = subprocess.run(
            ["pgrep", "-P", str(pane)], capture_output=True, text=True, check=False
        ).stdout.split()
        for child in children:
            if "kprep" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
                return int(child)
        return pane

    def draft(self) -> str:
        path = self.home / "data" / "workspace" / f"{self.scenario}.yaml"
        return path.read_text(encoding="utf-8")

    def close(self) -> None:
        self.run("kill-server")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    made: list[Terminal] = []

    def start(
        size: tuple[int, int] = (100, 32),
        keep_shell: bool = False,
        scenario: str = "gpu-limits",
        draft: str | None = None,
    ) -> Terminal:
        if draft is not None:
            workspace = tmp_path / "home" / "data" / "workspace"
            workspace.mkdir(parents=True, exist_ok=True)
            (workspace / f"{scenario}.yaml").write_text(draft, encoding="utf-8")
        made.append(Terminal(tmp_path, size, keep_shell, scenario))
        made[-1].wait_for(f"{scenario} · serving")
        made[-1].wait_for("Problems")  # graded once: the app is ready for keys
        return made[-1]

    yield start  # type: ignore[misc]
    for term in made:
        term.close()


def _wait_gone(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return
        except OSError:
            return
        time.sleep(0.1)
    raise AssertionError(f"kprep (pid {pid}) did not exit")


def test_enter_indents_as_yaml_nests(terminal) -> None:
    term = terminal()
    term.keys("Enter", "Up")  # a fresh first line above the starter
    term.type("extra:\n- name: a\nimage: b\nports:\n- 80")
    term.wait_for("- 80")
    term.keys("C-q")
    _wait_gone(term.kprep_pid())
    assert term.draft().startswith(
        "extra:\n  - name: a\n    image: b\n    ports:\n      - 80\napiVersion: apps/v1\n"
    )


def test_a_burst_of_keys_arrives_in_order(terminal) -> None:
    term = terminal()
    term.keys("Enter", "Up")
    # One send-keys call: tmux writes every key at once, as key repeat or a paste
    # without bracketed paste does. Typed in order this spells the words below.
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    burst: list[str] = []
    for word in words:
        # A typo at the end mended at once, the cursor wandering, then a space.
        burst += [word[:-1] + "x", "BSpace", word[-1], "Left", "Left", "Right", "Right", "Space"]
    term.keys(*burst)
    term.wait_for("golf hotel·")  # the line's end (it is wider than the view); the space shown
    term.keys("C-q")
    _wait_gone(term.kprep_pid())
    assert term.draft().splitlines()[0] == " ".join(words) + " "


def test_a_hint_is_scrolled_into_view(terminal) -> None:
    hint = yaml.safe_load((REPO / "scenarios/gpu-limits/scenario.yaml").read_text())["hints"][0]
    term = terminal(size=(80, 24))
    before = term.screen()
    assert "Hint 1/3" not in before
    term.keys("C-g")
    shown = term.wait_for("Hint 1/3")
    last_words = hint["text"].rstrip("?.").split()[-2:]
    for word in last_words:
        assert word in shown, shown  # the hint's end is on screen, not below the fold


@pytest.mark.parametrize("how", ["SIGTERM", "closed terminal"])
def test_sigterm_and_a_closed_terminal_save_the_draft(terminal, how) -> None:
    term = terminal(keep_shell=how == "SIGTERM")
    term.keys("Enter", "Up")
    term.type("# saved on the way out")
    term.wait_for("# saved on the way out")
    pid = term.kprep_pid()
    if how == "SIGTERM":
        os.kill(pid, 15)
        shown = term.wait_for("EXIT=143")
        _wait_gone(pid)
        # The terminal is as kprep found it: main screen, no mouse reporting, a cursor.
        state = term.run(
            "display-message", "-p", "-t", term.session,
            "#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag}",
        ).split()  # fmt: skip
        assert state == ["0", "0", "0", "1"], state
        assert "kprep: saved gpu-limits" in shown
    else:
        term.run("kill-server")  # the terminal window goes away: kprep gets SIGHUP
        _wait_gone(pid)
    assert term.draft().startswith("# saved on the way out\n")


def test_the_serving_10k_answer_types_without_fixing_indentation(terminal) -> None:
    """Type the reference answer line by line the way a candidate would: Enter gives the
    indentation, backspace steps out of a block (a level per press); no line needs spaces
    typed by hand. Checks as you type show it passing before ctrl+r."""
    from app.tui.widgets.yaml_text import leading_spaces, newline_indent

    answer = (REPO / "answers/serving-10k/answer.yaml").read_text(encoding="utf-8")
    term = terminal(size=(120, 40), scenario="serving-10k", draft="")
    previous = ""
    for number, line in enumerate(answer.splitlines()):
        if number:
            term.keys("Enter")
        if line.strip():
            indent = newline_indent(previous) if number else 0
            target = leading_spaces(line)
            assert target <= indent, f"line {number + 1} would need spaces typed by hand"
            if target < indent:
                term.keys(*["BSpace"] * ((indent - target) // 2))
            term.literal(line.strip())
        previous = line if line.strip() else ""
    term.wait_for("all checks pass", timeout=20)
    term.keys("C-q")
    _wait_gone(term.kprep_pid())
    assert term.draft() == answer.rstrip("\n")
