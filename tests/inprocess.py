"""`kprep` run inside the test process, for tests about what a command prints and the
exit code it returns rather than about the process boundary.

A `python -m app ...` subprocess spends about 0.3 s starting Python and importing the
command line before it does anything; in-process the imports are paid once per test
process. `run_kprep` goes through the same entry point (`app.cli.main`, with its exit
codes and error printing) with click's test isolation of stdin, stdout and stderr, and
returns what `subprocess.run(..., capture_output=True, text=True)` would. Tests about
start-up (what a command imports, signals, a crashing interpreter) keep a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner


def run_kprep(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`kprep *args` in this process, as a finished process: return code, stdout, stderr."""
    from app.cli import main

    argv = ["kprep", *args]
    code = 0
    previous_argv, previous_cwd = sys.argv, Path.cwd()
    with CliRunner().isolation() as (stdout, stderr, _output):
        sys.argv = argv
        try:
            if cwd is not None:
                os.chdir(cwd)
            main()
        except SystemExit as exit_:
            if isinstance(exit_.code, int):
                code = exit_.code
            elif exit_.code is not None:
                print(exit_.code, file=sys.stderr)
                code = 1
        finally:
            sys.argv = previous_argv
            os.chdir(previous_cwd)
        sys.stdout.flush()
        sys.stderr.flush()
        out = stdout.getvalue().decode("utf-8", "backslashreplace")
        err = stderr.getvalue().decode("utf-8", "backslashreplace")
    return subprocess.CompletedProcess(argv, code, out, err)
