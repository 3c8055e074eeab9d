"""Benchmark the terminal app (not a test): start-up, keystroke-to-diagnostic, memory.

    .venv/bin/python bench/bench_tui.py [--runs 10] [--scenario serving-10k]

1. Cold start to first screen, whole process, in a pseudo-terminal (100x32):
   `kprep` with KPREP_EXIT_AFTER_MOUNT=1 (exits once the home screen is painted;
   the course is still being parsed in a worker) and =ready (exits once the
   tracks and scenarios are on screen), against a bare Textual "hello" app that
   exits after its first paint, started the same way (the venv's Python), runs
   alternated. Reports medians and the median of per-round ratios.
2. Debounce to diagnostics and checks painted, in-process (headless, run_test): a
   key sent the way the terminal driver sends it, that breaks (or mends) the YAML;
   after the app's own 0.3 s debounce fires, the time until that text's
   diagnostics, check results and gutter marks are painted (the pipeline: worker,
   grade, message, widgets, repaint), its CPU time (all threads; steadier than wall
   time on a shared machine), and the grade alone.
3. RSS of a process that opened a scenario (grader built, first grade shown).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
KPREP = str(Path(PYTHON).with_name("kprep"))

HELLO = textwrap.dedent("""
    from textual.app import App
    from textual.widgets import Static

    class Hello(App):
        def compose(self):
            yield Static("hello")

        def on_mount(self):
            self.call_after_refresh(self.exit)

    Hello().run()
""")


def run_in_pty(argv: list[str], env: dict[str, str], timeout: float = 60.0) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `argv` attached to a 100x32 pseudo-terminal.

    CPU time (user + system, from wait4) is reported beside wall time because the
    machine is shared: wall time swings with other people's load, CPU time much less.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 32, 100, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    deadline = started + timeout
    status, usage = 0, None
    try:
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.02)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(master, 65536)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
        else:
            process.kill()
            raise RuntimeError(f"{argv} did not exit within {timeout} s")
    finally:
        os.close(master)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{argv} exited {process.returncode}")
    assert usage is not None
    return elapsed, usage.ru_utime + usage.ru_stime


def bench_start(runs: int) -> dict[str, float]:
    """Alternating runs: hello, kprep to first paint, kprep to the course on screen."""
    home = tempfile.mkdtemp(prefix="kprep-bench-")
    env = {**os.environ, "KPREP_HOME": home, "TERM": "xterm-256color", "KPREP_COURSE": str(REPO)}
    painted = {**env, "KPREP_EXIT_AFTER_MOUNT": "1"}
    ready = {**env, "KPREP_EXIT_AFTER_MOUNT": "ready"}
    hello_file = Path(home) / "hello.py"
    hello_file.write_text(HELLO)
    # Warm the OS file cache and the bytecode caches once for each.
    run_in_pty([KPREP], ready)
    run_in_pty([PYTHON, str(hello_file)], env)
    rounds: list[tuple[tuple[float, float], ...]] = []
    for _ in range(runs):
        rounds.append(
            (
                run_in_pty([PYTHON, str(hello_file)], env),
                run_in_pty([KPREP], painted),
                run_in_pty([KPREP], ready),
            )
        )
    results: dict[str, float] = {}
    for index, name in ((0, "hello"), (1, "kprep_first_paint"), (2, "kprep_course_shown")):
        results[f"{name}_wall_median_s"] = statistics.median(r[index][0] for r in rounds)
        results[f"{name}_cpu_median_s"] = statistics.median(r[index][1] for r in rounds)
    for index, name in ((1, "first_paint"), (2, "course_shown")):
        results[f"ratio_{name}_wall"] = statistics.median(r[index][0] / r[0][0] for r in rounds)
        results[f"ratio_{name}_cpu"] = statistics.median(r[index][1] / r[0][1] for r in rounds)
    return results


async def _keystroke(scenario_id: str, samples: int) -> dict[str, float]:
    from textual import events

    from app.settings import Settings
    from app.tui.app import KprepApp, Start

    app = KprepApp(
        course_dir=REPO,
        start=Start("scenario", scenario_id),
        settings=Settings(),
        cursor_blink=False,
    )
    latencies, grades, cpu = [], [], []
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.screen
        while screen.grading.grader is None or screen.shown_version < 0:
            await pilot.pause(0.01)
        screen.editor.move_cursor((0, 0))
        checks_seen = 0
        for index in range(samples):
            before = screen.version
            # Indent line 1 (a YAML error), then take the space back. The key goes in the way
            # the terminal driver sends it; Pilot.press would add its own idle waits.
            key, char = ("space", " ") if index % 2 == 0 else ("backspace", None)
            event = events.Key(key, char)
            event.set_sender(app)
            app._driver.send_message(event)  # type: ignore[union-attr]
            fired = screen.grading.fired_at
            while screen.grading.fired_at == fired:  # the debounce has not fired yet
                await asyncio.sleep(0.0005)
            started, started_cpu = screen.grading.fired_at, time.process_time()
            while screen.shown_version != screen.version or screen.version == before:
                await asyncio.sleep(0.0005)
            painted = asyncio.Event()
            screen.call_after_refresh(painted.set)  # diagnostics and checks are on the terminal
            await painted.wait()
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            grades.append(screen.grading.last_grade_ms)
            checks_seen += bool(screen.results.checks)
            await pilot.pause(0.02)
        await pilot.press("ctrl+q")
    assert checks_seen == samples, "checks as you type were not on screen"
    return {
        "debounce_to_painted_median_ms": statistics.median(latencies),
        "debounce_to_painted_p90_ms": sorted(latencies)[int(len(latencies) * 0.9)],
        "debounce_to_painted_cpu_median_ms": statistics.median(cpu),
        "grade_median_ms": statistics.median(grades),
        "debounce_ms": 300.0,
    }


def bench_keystroke(scenario_id: str, samples: int) -> dict[str, float]:
    os.environ["KPREP_HOME"] = tempfile.mkdtemp(prefix="kprep-bench-")
    return asyncio.run(_keystroke(scenario_id, samples))


MEMORY = textwrap.dedent("""
    import asyncio, os, sys, tempfile
    os.environ["KPREP_HOME"] = tempfile.mkdtemp()
    from app.settings import Settings
    from app.tui.app import KprepApp, Start

    async def main():
        app = KprepApp(course_dir=sys.argv[1], start=Start("scenario", sys.argv[2]),
                       settings=Settings(), cursor_blink=False)
        async with app.run_test(size=(100, 32)) as pilot:
            screen = app.screen
            while screen.grading.grader is None or screen.shown_version < 0:
                await pilot.pause(0.01)
            await pilot.press("space")
            while screen.shown_version != screen.version:
                await pilot.pause(0.01)
            status = open("/proc/self/status").read().split("\\n")
            rss = next(l for l in status if l.startswith("VmRSS")).split()[1]
            peak = next(l for l in status if l.startswith("VmHWM")).split()[1]
            print(int(rss) / 1024, int(peak) / 1024)

    asyncio.run(main())
""")


def bench_memory(scenario_id: str) -> dict[str, float]:
    out = subprocess.run(
        [PYTHON, "-c", MEMORY, str(REPO), scenario_id],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    rss, peak = (float(v) for v in out.stdout.split())
    return {"rss_mb": rss, "peak_rss_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--scenario", default="serving-10k")
    args = parser.parse_args()
    if not (REPO / "scenarios" / args.scenario).is_dir():
        args.scenario = "gpu-limits"
    results: dict[str, float | str] = {"scenario": args.scenario}
    results.update(bench_start(args.runs))
    results.update(bench_keystroke(args.scenario, args.samples))
    results.update(bench_memory(args.scenario))
    width = max(len(k) for k in results)
    for key, value in results.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    print("goals: start ratio <= 1.5, debounce to painted < 100 ms, RSS < 150 MB")


if __name__ == "__main__":
    main()
