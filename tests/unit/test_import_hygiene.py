"""`kprep check` must not load Textual (or the Kubernetes client): one engine, two front ends."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

HEADLESS = [
    "app.cli",
    "app.grading.engine",
    "app.authoring.lint",
    "app.course.loader",
    "app.grading.render",
    "app.cluster.profiles",
    "app.progress",
    "app.progress.export",
    "app.interview.session",
    "app.coach.coverage",
]


def test_check_path_loads_no_textual(tmp_path):
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from app.cli import main_group\n"
        f"r = CliRunner().invoke(main_group, ['check', '{REPO}/answers/gpu-limits/answer.yaml',"
        " '-s', 'gpu-limits', '--format', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'kubernetes'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == ""


def test_headless_modules_import_no_textual():
    for module in HEADLESS:
        code = (
            f"import sys, {module}\nprint(any(m.split('.')[0] == 'textual' for m in sys.modules))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
        )
        assert out.stdout.strip() == "False", module
