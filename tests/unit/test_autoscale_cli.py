"""`kprep autoscale` (simulated), the behaviour checks over a run's timeline, and
their lint: output formats, exit codes, bad input, checks that can fail."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.authoring.lint import lint_course
from app.autoscale.runs import RunRefused, prepare, scenario_setup, simulate_run
from app.course.loader import Course
from app.course.models import Check
from app.grading.autoscale_checks import AutoscaleGrader, autoscale_variables
from tests.conftest import REPO
from tests.inprocess import run_kprep

ML = REPO / "answers/hpa-ml-serving/answer.yaml"
ML_STARTER = REPO / "scenarios/hpa-ml-serving/starter.yaml"


def kprep(*args: str) -> subprocess.CompletedProcess[str]:
    """`kprep autoscale *args`, in this process (the process boundary is tested below)."""
    return run_kprep("autoscale", *args, cwd=REPO)


# --- the command -------------------------------------------------------------------


def test_json_is_the_issue_contract_with_checks():
    result = kprep(str(ML), "-s", "hpa-ml-serving", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"scenario", "file", "mode", "loadProfile", "timeScale", "timeline", "events"} <= set(
        data
    )
    assert (data["scenario"], data["mode"], data["loadProfile"], data["timeScale"]) == (
        "hpa-ml-serving",
        "simulated",
        "spike",
        1,
    )
    summary = data["summary"]
    assert {
        "peakReplicas",
        "secondsToScaleUp",
        "secondsToScaleDown",
        "timeAtMax",
        "unmetLoadSeconds",
    } <= set(summary)
    # The scenario's spike: 1,500 -> 10,000 req/s at 1/30 of 1,500 s, down at 300 s.
    assert (summary["loadRiseAt"], summary["loadDropAt"]) == (50, 300)
    point = data["timeline"][0]
    assert {"t", "load", "metrics", "desiredReplicas", "replicas"} <= set(point)
    assert [c["id"] for c in data["checks"]] == [
        "carries-the-spike",
        "peak-within-quota",
        "scale-down-waits",
        "no-flapping",
    ]
    assert all(c["status"] == "pass" for c in data["checks"])


def test_text_is_chart_summary_and_checks_and_a_failing_answer_exits_1():
    result = kprep(str(ML_STARTER), "-s", "hpa-ml-serving")
    assert result.returncode == 1
    out = result.stdout
    assert "spike · simulated" in out and "maxReplicas 50" in out
    # Its latency metric is misnamed (the adapter exports ..._seconds): only CPU acts.
    assert f"error: {ML_STARTER}:26:11: metric 'inference_latency_p99' is not served" in out
    assert "peak replicas      4 (maxReplicas 50)" in out
    assert f"{ML_STARTER}:12: fail peak-within-quota" in out  # the line of spec.maxReplicas
    assert "2/4 behaviour checks pass (simulated)" in out


def test_load_and_time_scale_flags():
    result = kprep(str(ML), "-s", "hpa-ml-serving", "--load", "ramp", "--time-scale", "15")
    assert result.returncode == 0, result.stderr
    assert "ramp · simulated · timeScale 15" in result.stdout
    # The checks judge the spike: under another load they are skipped, not passed.
    assert result.stdout.count(": skip ") == 4
    assert "judged under --load spike" in result.stdout


def test_a_load_file_runs_and_skips_the_checks(tmp_path):
    load = tmp_path / "load.csv"
    load.write_text("t,load\n0,1500\n60,1500\n60,9000\n600,9000\n")
    result = kprep(str(ML), "-s", "hpa-ml-serving", "--load", str(load), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["loadProfile"] == str(load)
    assert data["timeline"][-1]["t"] == 600
    assert {c["status"] for c in data["checks"]} == {"skip"}


@pytest.mark.parametrize(
    ("content", "code", "expected"),
    [
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
            "spec:\n  maxReplicas: 5\n",
            1,
            ":4:1: spec.scaleTargetRef: Required value: the object the HPA scales",
        ),
        ("kind: Deployment\nmetadata: {name: d}\n", 1, "no HorizontalPodAutoscaler"),
        ("a: [\n", 1, ":2: YAML syntax error"),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
            "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: x}\n"
            "  maxReplicas: 5\n",
            1,
            "the file has no Deployment for the HPA to scale",
        ),
    ],
)
def test_bad_answers_get_a_located_message_and_exit_1(tmp_path, content, code, expected):
    path = tmp_path / "answer.yaml"
    path.write_text(content)
    result = kprep(str(path), "-s", "hpa-ml-serving")
    assert result.returncode == code, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_metric_nobody_serves_is_named_at_its_line(tmp_path):
    path = tmp_path / "answer.yaml"
    path.write_text(ML.read_text().replace("inference_queue_depth", "gpu_duty_cycle"))
    result = kprep(str(path), "-s", "hpa-ml-serving")
    assert result.returncode == 1
    assert (
        f"error: {path}:21:11: metric 'gpu_duty_cycle' is not served by this scenario's "
        "metrics adapter" in result.stdout
    )
    assert "FailedGetPodsMetric" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--load", "tsunami"], "not a built-in load profile"),
        (["-s", "gpu-limits"], "has no autoscale block"),
        (["-s", "no-such-scenario"], "unknown scenario"),
        (["--time-scale", "0.5"], "0.5 is not in the range"),
    ],
)
def test_usage_errors_exit_2(args, expected):
    base = ["-s", "hpa-ml-serving"] if "-s" not in args else []
    result = kprep(str(ML), *base, *args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_load_file_names_each_bad_row(tmp_path):
    load = tmp_path / "bad.csv"
    load.write_text("t,load\n0,100\n10,abc\n20\n")
    result = kprep(str(ML), "-s", "hpa-ml-serving", "--load", str(load))
    assert result.returncode == 2
    assert f"{load}:3: load 'abc' is not a number" in result.stderr
    assert f"{load}:4: expected 2 fields" in result.stderr


def test_unreadable_file_exits_2(tmp_path):
    result = kprep(str(tmp_path / "missing.yaml"), "-s", "hpa-ml-serving")
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_the_scenarios_deployment_is_used_when_the_answer_has_none():
    result = kprep(
        str(REPO / "answers/hpa-behavior-defaults/answer.yaml"), "-s", "hpa-behavior-defaults"
    )
    assert result.returncode == 0, result.stdout
    assert "the run scales the scenario's Deployment 'model-serving'" in result.stdout


def test_the_command_loads_no_textual_or_kubernetes():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from app.cli import main_group\n"
        f"r = CliRunner().invoke(main_group, ['autoscale', '{ML}', '-s', 'hpa-ml-serving',"
        " '--format', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'kubernetes'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == ""


# --- the checks' variables and grading ---------------------------------------------


def _check(expression: str, **extra) -> Check:
    return Check("c", "a check", 1, "x", expression, "why it matters", **extra)


RUN = {
    "mode": "live",
    "loadProfile": "spike",
    "timeScale": 15,
    "capacityPerReplica": 100,
    "minReplicas": 2,
    "maxReplicas": 6,
    "timeline": [
        {"t": 0, "load": 100, "metrics": {}, "desiredReplicas": 0, "replicas": 2},
        {"t": 15, "load": 500, "metrics": {"q": 9.5}, "desiredReplicas": 5, "replicas": 2},
        {"t": 30, "load": 500, "metrics": {"q": 2}, "desiredReplicas": 5, "replicas": 5},
        {"t": 45, "load": 100, "metrics": {"q": 0}, "desiredReplicas": 3, "replicas": 5},
        {"t": 60, "load": 100, "metrics": {"q": 0}, "desiredReplicas": 3, "replicas": 3},
    ],
    "events": [{"t": 15, "type": "Normal", "reason": "SuccessfulRescale", "message": "m"}],
    "summary": {"peakReplicas": 5, "secondsToScaleUp": 15, "loadRiseAt": 15, "loadDropAt": 45},
}


def test_rescales_come_from_the_counts_the_syncs_saw():
    variables = autoscale_variables(RUN, {"k": 1})
    # desiredReplicas 0 at t=0 (a new HPA whose metrics failed) is not a rescale.
    assert variables["rescales"] == [
        {"t": 15.0, "from": 2, "to": 5},
        {"t": 45.0, "from": 5, "to": 3},
    ]
    assert variables["summary"]["secondsToScaleUp"] == 15.0
    assert isinstance(variables["summary"]["secondsToScaleUp"], float)
    assert variables["summary"]["secondsToScaleDown"] is None
    assert variables["timeline"][2]["readyReplicas"] == 5  # defaults to replicas
    assert variables["run"]["maxReplicas"] == 6 and variables["params"] == {"k": 1}


@pytest.mark.parametrize(
    ("expression", "status"),
    [
        ("rescales.size() == 2 && rescales[1].to == 3", "pass"),
        ("summary.loadDropAt - summary.loadRiseAt == 30.0", "pass"),
        ("timeline.exists(p, 'q' in p.metrics && p.metrics['q'] > 9.0)", "pass"),
        ("run.mode == 'live' && run.timeScale == 15.0 && params.k == 1", "pass"),
        ("summary.peakReplicas > run.maxReplicas", "fail"),
        ("summary.nope > 1", "error"),
        ("timeline.size()", "error"),
        ("timeline.(", "error"),
    ],
)
def test_each_check_passes_fails_or_errors(expression, status):
    grader = AutoscaleGrader([_check(expression)])
    [result] = grader.grade(RUN, {"k": 1}, grader.checks)
    assert result.status == status, result.message
    assert result.points == (1 if status == "pass" else 0)
    if status == "fail":
        assert result.message == "why it matters"


def test_checks_of_another_load_or_a_load_file_are_skipped():
    spike = _check("true")
    ramp = Check("r", "on a ramp", 1, "x", "true", "m", load="ramp")
    grader = AutoscaleGrader([spike, ramp])
    results = grader.grade_run(RUN, {}, builtin_load="spike", default_load="spike")
    assert [(r.id, r.status) for r in results] == [("c", "pass"), ("r", "skip")]
    results = grader.grade_run(RUN, {}, builtin_load=None, default_load="spike")
    assert {r.status for r in results} == {"skip"}


# --- the scenario format and lint --------------------------------------------------


def test_every_autoscaling_scenario_runs_its_reference_clean():
    course = Course(REPO)
    runnable = [s for s in course.load_all()[0] if s.autoscale is not None]
    assert {s.id for s in runnable} >= {
        "hpa-ml-serving",
        "hpa-behavior-defaults",
        "custom-metric-units",
        "pdb-with-hpa",
    }
    for scenario in runnable:
        setup = scenario_setup(scenario)
        prepared = prepare(scenario, scenario.answer_text(), "answer.yaml")
        assert prepared.unserved == [], scenario.id
        run = simulate_run(prepared, time_scale=setup.time_scale)
        assert run.summary.peak_replicas > run.min_replicas, scenario.id


def test_a_scenario_without_a_block_is_refused_by_name():
    scenario = Course(REPO).scenario("gpu-limits")
    with pytest.raises(RunRefused) as caught:
        scenario_setup(scenario)
    assert caught.value.culprit == "scenario"
    assert "has no autoscale block" in caught.value.messages[0]


@pytest.fixture
def autoscale_course(tmp_path: Path) -> Path:
    for folder in ("lessons", "profiles", "crds"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    shutil.copy(REPO / "course.yaml", tmp_path / "course.yaml")
    shutil.copytree(REPO / "scenarios/hpa-ml-serving", tmp_path / "scenarios/hpa-ml-serving")
    shutil.copytree(REPO / "answers/hpa-ml-serving", tmp_path / "answers/hpa-ml-serving")
    return tmp_path


def _edit(root: Path, change) -> list[str]:
    path = root / "scenarios/hpa-ml-serving/scenario.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return [str(p) for p in lint_course(Course(root)).problems]


def test_lint_passes_the_copy(autoscale_course):
    assert _edit(autoscale_course, lambda d: None) == []


def test_lint_catches_a_vacuous_behaviour_check(autoscale_course):
    def weaken(data):
        data["autoscaleChecks"][0]["expression"] = "summary.peakReplicas >= 1"

    found = _edit(autoscale_course, weaken)
    assert any(
        "autoscale check 'carries-the-spike' does not fail on its wrong answer "
        "'scale-up disabled' at timeScale 1" in p
        for p in found
    ), found


def test_lint_catches_a_check_the_reference_fails_and_bad_cel(autoscale_course):
    def breakit(data):
        data["autoscaleChecks"][1]["expression"] = "summary.peakReplicas < 5"
        data["autoscaleChecks"][2]["expression"] = "rescales.("
        data["autoscaleChecks"][3].pop("wrongAnswers")

    found = _edit(autoscale_course, breakit)
    assert any("answer fails autoscale check 'peak-within-quota' (fail)" in p for p in found)
    assert any("check 'scale-down-waits': CEL does not compile" in p for p in found)
    assert any("autoscale check 'no-flapping' has no wrongAnswers" in p for p in found)


def test_lint_catches_a_bad_block_and_an_unserved_reference_metric(autoscale_course):
    def breakit(data):
        data["autoscale"]["peak"] = 1000  # below the baseline of 1,500
        data["autoscale"]["podMetrics"] = {"inference_requests_in_flight": "inFlight"}

    found = _edit(autoscale_course, breakit)
    assert any("autoscale.peak: must be above baseline (1500)" in p for p in found), found

    def unserved(data):
        data["autoscale"]["peak"] = 10_000

    found = _edit(autoscale_course, unserved)
    assert any("metric 'inference_queue_depth' is not served" in p for p in found), found


def test_the_schema_refuses_checks_without_a_block(autoscale_course):
    def no_block(data):
        del data["autoscale"]

    found = _edit(autoscale_course, no_block)
    assert any("autoscale" in p and "required" in p for p in found), found


def test_the_schema_refuses_an_unknown_field(autoscale_course):
    def typo(data):
        data["autoscale"]["readySecs"] = 10

    found = _edit(autoscale_course, typo)
    assert any("readySecs" in p for p in found), found


def test_live_without_a_cluster_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("KPREP_HOME", str(tmp_path))
    result = kprep(str(ML), "-s", "hpa-ml-serving", "--live")
    assert result.returncode == 3, result.stderr
    assert "kprep cluster up" in result.stderr
    assert "Traceback" not in result.stderr
