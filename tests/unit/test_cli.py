"""The command line contract: formats, exit codes, several files, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import REPO

ANSWER = REPO / "answers/gpu-limits/answer.yaml"
STARTER = REPO / "scenarios/gpu-limits/starter.yaml"


def kprep(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_text_output_like_a_compiler():
    result = kprep("check", str(STARTER), "--scenario", "gpu-limits")
    assert result.returncode == 1
    assert f"{STARTER}:28:15: error[validation]" in result.stdout
    assert "fail gpu-in-limits" in result.stdout
    assert "1/8 points" in result.stdout and "FAILED" in result.stdout
    assert "Traceback" not in result.stderr


def test_passing_answer_exits_zero():
    result = kprep("check", str(ANSWER), "-s", "gpu-limits")
    assert result.returncode == 0, result.stdout
    assert "PASSED" in result.stdout


def test_json_one_line_per_file_for_a_class(tmp_path):
    files = []
    for i in range(3):
        path = tmp_path / f"student{i}.yaml"
        path.write_text((ANSWER if i % 2 == 0 else STARTER).read_text())
        files.append(str(path))
    result = kprep("check", *files, "-s", "gpu-limits", "--format", "json")
    assert result.returncode == 1  # one student falls short
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in reports] == files
    assert [r["passed"] for r in reports] == [True, False, True]
    assert reports[1]["score"] == 1 and reports[1]["max_score"] == 8


def test_junit_is_valid_xml_with_a_case_per_check():
    result = kprep("check", str(STARTER), "-s", "gpu-limits", "--format", "junit")
    root = ET.fromstring(result.stdout.split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names[0] == "valid-manifests" and "gpu-in-limits" in names
    assert int(suite.get("failures", "0")) >= 4


@pytest.mark.parametrize(
    "args,needle",
    [
        (["check", str(ANSWER), "-s", "no-such-scenario"], "unknown scenario 'no-such-scenario'"),
        (["check", "/nonexistent/answer.yaml", "-s", "gpu-limits"], "cannot read"),
        (["check", str(ANSWER), "-s", "gpu-limits", "--format", "xml"], "Invalid value"),
        (["check", str(ANSWER)], "Missing option"),
        (["check", str(ANSWER), "-s", "gpu-limits", "--keep"], "only make sense with --live"),
        (
            ["check", str(ANSWER), "-s", "gpu-limits", "--live", "--context", "x"],
            "--allow-foreign-cluster",
        ),
    ],
)
def test_usage_errors_exit_2(args, needle):
    result = kprep(*args)
    assert result.returncode == 2, result
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_directory_as_file_is_a_usage_error():
    result = kprep("check", str(REPO / "answers"), "-s", "gpu-limits")
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_course_option_and_env(tmp_path):
    result = kprep("--course", str(tmp_path), "scenarios", "list")
    assert result.returncode == 2 and "not a course folder" in result.stderr


def test_scenarios_list_json():
    result = kprep("scenarios", "list", "--format", "json")
    assert result.returncode == 0
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert "gpu-limits" in ids


def test_version_is_the_package_s_without_reading_installed_metadata():
    import tomllib

    import app

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert app.__version__ == declared
    result = kprep("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"kprep, version {declared}"
