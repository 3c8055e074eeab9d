"""What the command line prints and writes beside it: report files next to the text
report, placement grouped, advice once, ids never cut."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from rich.console import Console

from app.grading.render import group_placement, render_text
from app.grading.report import CheckResult, Placement, Report
from tests.conftest import REPO

STARTER = REPO / "scenarios/gpu-limits/starter.yaml"


def kprep(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env=env,
    )


def test_json_and_junit_files_beside_the_text_report(tmp_path: Path) -> None:
    json_file, junit_file = tmp_path / "out.jsonl", tmp_path / "out.xml"
    result = kprep(
        "check", str(STARTER), "-s", "gpu-limits", "--json", str(json_file),
        "--junit", str(junit_file),
    )  # fmt: skip
    assert result.returncode == 1
    assert "fail gpu-in-limits" in result.stdout and "FAILED" in result.stdout  # text still
    report = json.loads(json_file.read_text().splitlines()[0])
    assert report["scenario"] == "gpu-limits" and report["passed"] is False
    suite = ET.fromstring(junit_file.read_text().split("\n", 1)[1]).find("testsuite")
    assert suite is not None
    assert "gpu-in-limits" in [case.get("name") for case in suite.iter("testcase")]


def test_an_unwritable_report_file_is_a_usage_error(tmp_path: Path) -> None:
    blocked = tmp_path / "no-such-folder" / "out.xml"
    result = kprep("check", str(STARTER), "-s", "gpu-limits", "--junit", str(blocked))
    assert result.returncode == 2
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr
    assert "FAILED" in result.stdout  # the text report is printed all the same


def test_scenarios_list_never_cuts_an_id() -> None:
    ids = sorted(p.name for p in (REPO / "scenarios").iterdir() if (p / "scenario.yaml").exists())
    for columns in (80, 60):
        result = kprep("scenarios", "list", columns=columns)
        assert result.returncode == 0, result.stderr
        words = set(result.stdout.split())
        assert [i for i in ids if i not in words] == [], f"cut at {columns} columns"


def _live_report() -> Report:
    advice = "your pods don't tolerate the GPU nodes' taint nvidia.com/gpu=present:NoSchedule"
    pending = "0/8 nodes are available: 4 node(s) had untolerated taint"
    report = Report("serving-10k", "a.yaml", mode="live", max_score=3)
    report.checks = [
        CheckResult("all-scheduled", "All pods scheduled", "fail", 0, 1, "c", advice=advice),
        CheckResult("spread", "Spread over zones", "fail", 0, 1, "c", advice=advice),
        CheckResult("gpus", "One GPU each", "pass", 1, 1, "c"),
    ]
    report.placement = [
        Placement("web-a", "gpu-1", "Running"),
        Placement("web-b", "gpu-1", "Running"),
        *(Placement(f"web-p{n}", None, "Pending", pending) for n in range(13)),
        Placement("web-c", "gpu-2", "Running"),
    ]
    return report


def test_live_text_groups_pods_and_gives_advice_once() -> None:
    out = io.StringIO()
    render_text([_live_report()], Console(file=out, width=300, soft_wrap=True))
    text = out.getvalue()
    assert "13 pods Pending, not scheduled: 0/8 nodes are available" in text
    assert "(web-p0, web-p1, web-p2 and 10 more)" in text
    assert text.count("untolerated taint") == 1  # the reason once, not once per pod
    assert text.count("cluster: your pods don't tolerate") == 1  # advice once, two checks
    assert "2 pods -> gpu-1 (Running): web-a, web-b" in text
    assert "pod web-c -> gpu-2 (Running)" in text


def test_group_placement_keeps_first_appearance_order() -> None:
    groups = group_placement(_live_report().placement or [])
    assert [(g.node, len(g.pods)) for g in groups] == [("gpu-1", 2), (None, 13), ("gpu-2", 1)]
