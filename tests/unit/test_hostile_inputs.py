"""Answers written as a hostile user would: every one gets a report, never a traceback.

Each class here crashed or hung the grader before (issue 11): YAML values that are
not JSON types, non-finite quantities, a scalar where the API wants a list or a
map, files that are not regular files, one crash in a batch, control characters
in JUnit, a huge answer.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from xml.etree import ElementTree as ET

import pytest
import yaml

from app.grading.engine import Grader
from app.k8s.quantity import QuantityError, parse_quantity
from app.yamlmap import UnreadableFile, load_documents, read_regular_file
from tests.conftest import REPO

ANSWER = REPO / "answers/gpu-limits/answer.yaml"
ANSWER_TEXT = ANSWER.read_text()


def kprep(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def grader():
    from app.course.loader import Course

    course = Course(REPO)
    return Grader(course.scenario("gpu-limits"), crd_dir=course.crd_dir)


def with_metadata(extra: str) -> str:
    """The reference answer with `extra` (YAML lines, 2-space indented) under metadata."""
    return ANSWER_TEXT.replace("metadata:\n", "metadata:\n" + extra, 1)


def no_internal(report) -> None:
    assert not report.internal_errors, report.internal_errors
    report.to_json()


# -- YAML's own types become what kubectl would send --------------------------------------


@pytest.mark.parametrize(
    "annotation,expected",
    [
        ("built: 2024-01-02", "2024-01-02"),
        ("built: 2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("built: !!timestamp 2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10 -5"),
        ("built: !!binary aGVsbG8=", "hello"),
    ],
)
def test_dates_and_binary_become_strings_and_the_answer_still_passes(grader, annotation, expected):
    text = with_metadata(f"  annotations:\n    {annotation}\n")
    (doc,) = load_documents(text).documents
    assert doc.data["metadata"]["annotations"]["built"] == expected
    report = grader.grade_text(text, "a.yaml")
    no_internal(report)
    assert report.passed, report.to_json()


def test_a_set_is_a_mapping_of_nulls_and_pairs_a_list_of_mappings():
    data = load_documents("a: !!set {x, y}\nb: !!omap [{k: 1}, {j: 2}]\n").documents[0].data
    assert data == {"a": {"x": None, "y": None}, "b": [{"k": 1}, {"j": 2}]}


@pytest.mark.parametrize(
    "value,needle",
    [
        ('!!int ""', "as an integer"),
        ('!!float ""', "as a number"),
        ("!!bool maybe", "true or false"),
        ("!!timestamp yesterday", "as a timestamp"),
        ("!!binary '%%%'", "not valid base64"),
        ("!!binary /w==", "not UTF-8"),
        (".inf", "not a finite number"),
        ("-.inf", "not a finite number"),
        (".nan", "not a finite number"),
        ("1.0e+309", "not a finite number"),
    ],
)
def test_values_kubectl_refuses_are_errors_at_their_line(grader, value, needle):
    text = ANSWER_TEXT.replace("replicas: 2", f"replicas: {value}")
    assert text != ANSWER_TEXT
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.strip().startswith("repl"))
    report = grader.grade_text(text, "a.yaml")
    no_internal(report)
    (error,) = report.errors
    assert error.source == "yaml" and error.line == line and needle in error.message
    assert {c.status for c in report.checks} == {"skip"}


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_the_quantity_parser_rejects_non_finite_numbers(value):
    with pytest.raises(QuantityError, match="regular expression"):
        parse_quantity(value)


@pytest.mark.parametrize("text", ["inf", "nan", "Infinity", "+Inf"])
def test_non_finite_spellings_are_not_quantities(text):
    with pytest.raises(QuantityError, match="regular expression"):
        parse_quantity(text)


def test_quoted_non_finite_quantities_are_validation_errors(grader):
    text = ANSWER_TEXT.replace("memory: 8Gi", 'memory: ".inf"')
    assert text != ANSWER_TEXT
    report = grader.grade_text(text, "a.yaml")
    no_internal(report)
    assert any(
        e.source == "validation" and "regular expression" in e.message for e in report.errors
    )


# -- a scalar where the API wants a list or a map -----------------------------------------

HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: sentiment}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: sentiment}
  minReplicas: 1
  maxReplicas: 4
  metrics: 80
"""


@pytest.mark.parametrize(
    "old,new,path",
    [
        ("- containerPort: 8080", "ports: 8080", "ports"),
        ("containers:", "volumes: 5\n      containers:", "volumes"),
        ("matchLabels:\n      app: sentiment", "matchLabels: app=web", "matchLabels"),
        ("resources:", "resources: 5\n          x:", "resources"),
    ],
)
def test_type_confusion_is_a_schema_error_at_its_line(grader, old, new, path):
    text = ANSWER_TEXT.replace(old, new, 1)
    if old.startswith("- containerPort"):
        text = ANSWER_TEXT.replace("ports:\n            - containerPort: 8080", new, 1)
    assert text != ANSWER_TEXT, old
    report = grader.grade_text(text, "a.yaml")
    no_internal(report)
    schema = [e for e in report.errors if e.source == "schema" and path in e.message]
    assert schema and schema[0].line is not None, report.to_json()
    assert not report.passed


def test_hpa_metrics_as_a_number_is_reported_not_raised(grader):
    report = grader.grade_text(ANSWER_TEXT + "---\n" + HPA, "a.yaml")
    no_internal(report)
    (error,) = [e for e in report.errors if "metrics" in e.message]
    assert error.source == "schema" and error.line == len(ANSWER_TEXT.splitlines()) + 9


def test_cel_helpers_are_total_over_wrong_types():
    from app.grading import celhelpers
    from app.k8s import pods, scheduling

    odd_values = [None, 5, "x", [], {}, [1], {"containers": 5}, {"containers": [5, None]}]
    for value in odd_values:
        assert celhelpers.pod_gpus(value) == 0
        assert isinstance(pods.pod_spec(value), dict)
        assert isinstance(pods.pod_template_labels(value), dict)
        assert scheduling.tolerates(value, {"key": "k"}) in (True, False)
        assert scheduling.selector_matches(value, value) in (True, False)
        assert scheduling.node_selector_matches(value, value) in (True, False)
        assert celhelpers.node_named(value, "n") == {}
        assert isinstance(pods.expected_pods({"kind": "Deployment", "spec": value}), int)


# -- files that are not regular files ------------------------------------------------------


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "answer.fifo"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    cases = {fifo: "FIFO", zero: "device", tmp_path: "directory"}
    for path, needle in cases.items():
        started = time.monotonic()
        with pytest.raises(UnreadableFile, match=needle):
            read_regular_file(path)
        assert time.monotonic() - started < 1


def test_reading_stops_after_the_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 5000)
    assert len(read_regular_file(big, limit=100)) == 101


def test_a_fifo_and_devices_in_a_class_exit_2_and_the_rest_is_graded(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for name, target in (("zero.yaml", "/dev/zero"), ("random.yaml", "/dev/urandom")):
        (tmp_path / name).symlink_to(target)
    files = [str(ANSWER), str(fifo), str(tmp_path / "zero.yaml"), str(tmp_path / "random.yaml")]
    result = kprep("check", *files, "-s", "gpu-limits", "--format", "json", timeout=30)
    assert result.returncode == 2, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in reports] == files
    assert reports[0]["passed"] is True
    assert "FIFO" in reports[1]["errors"][0]["message"]
    assert all("device" in r["errors"][0]["message"] for r in reports[2:])
    assert "Traceback" not in result.stderr


# -- one crash in a batch ------------------------------------------------------------------

_CRASHING_CLI = """
import sys
import app.grading.apirules as rules
import app.grading.validity as validity

real = validity.validate_object

def crash_on_marker(obj):
    if isinstance(obj, dict) and (obj.get("metadata") or {}).get("name") == "crash-me":
        raise ZeroDivisionError("simulated grader bug")
    return real(obj)

validity.validate_object = crash_on_marker
from app.cli import main
sys.argv = ["kprep", *sys.argv[1:]]
main()
"""


def test_a_crash_inside_the_grader_costs_one_report_not_the_batch(tmp_path):
    crash = tmp_path / "crash.yaml"
    crash.write_text(ANSWER_TEXT.replace("name: sentiment", "name: crash-me", 1))
    files = [str(ANSWER), str(crash), str(ANSWER)]
    command = [sys.executable, "-c", _CRASHING_CLI, "check", *files, "-s", "gpu-limits"]
    result = subprocess.run(
        [*command, "--format", "json"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 1, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["passed"] for r in reports] == [True, False, True]
    (error,) = reports[1]["errors"]
    assert error["source"] == "internal"
    assert "ZeroDivisionError: simulated grader bug" in error["message"]
    assert "report it" in error["message"]
    junit = subprocess.run(
        [*command, "--format", "junit"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    root = ET.fromstring(junit.stdout.split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert len(suites) == 3
    assert suites[1].find("testcase/error") is not None
    assert suites[1].get("errors") == "1"


def test_exit_code_precedence_unreadable_beats_failing(tmp_path):
    starter = REPO / "scenarios/gpu-limits/starter.yaml"
    failing = kprep("check", str(ANSWER), str(starter), "-s", "gpu-limits")
    assert failing.returncode == 1
    unreadable = kprep("check", str(starter), str(tmp_path / "missing.yaml"), "-s", "gpu-limits")
    assert unreadable.returncode == 2
    assert "PASSED" not in unreadable.stdout and "FAILED" in unreadable.stdout


# -- output formats carry whatever the answer holds ----------------------------------------


def test_junit_stays_well_formed_with_control_characters(tmp_path):
    name = tmp_path / "stu\x01dent\x1b.yaml"
    name.write_text(
        "apiVersion: v1\nkind: ConfigMap\n"
        'metadata: {name: "a\\x01b\\x1bc", labels: {"k\\x02": v}}\n'
    )
    result = kprep("check", str(name), str(ANSWER), "-s", "gpu-limits", "--format", "junit")
    assert result.returncode == 1
    root = ET.fromstring(result.stdout.split("\n", 1)[1])  # raises if not well-formed
    text = ET.tostring(root, encoding="unicode")
    assert "\\x01" in text and "\x01" not in text and "\x1b" not in text


def test_text_output_shows_control_characters_instead_of_sending_them(tmp_path):
    answer = tmp_path / "a.yaml"
    answer.write_text('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "red\\e[31mtext"}\n')
    result = kprep("check", str(answer), "-s", "gpu-limits")
    assert "\x1b" not in result.stdout and "\\x1b[31mtext" in result.stdout


def test_a_file_name_that_is_not_utf8_is_printed_escaped(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"bad\xff.yaml")
    with open(path, "wb") as handle:
        handle.write(ANSWER.read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "app", "check", path, "-s", "gpu-limits", "--format", "json"],
        capture_output=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["file"].endswith("bad\\xff.yaml")


# -- size ----------------------------------------------------------------------------------


def _containers_answer(count: int) -> str:
    doc = yaml.safe_load(ANSWER_TEXT)
    container = doc["spec"]["template"]["spec"]["containers"][0]
    # Deep copies: safe_dump would write shared objects as anchors and aliases.
    containers = [dict(copy.deepcopy(container), name=f"c{i}") for i in range(count)]
    doc["spec"]["template"]["spec"]["containers"] = containers
    return json.dumps(doc, separators=(",", ":"))  # JSON is YAML, and the most compact


def test_a_5000_container_answer_is_graded_and_bounded(grader):
    text = _containers_answer(5000)
    assert len(text) < 1024 * 1024
    started = time.monotonic()
    report = grader.grade_text(text, "big.yaml")
    no_internal(report)
    # The quadratic `.map` check is refused by the estimate, not run for minutes.
    statuses = {c.id: c.status for c in report.checks}
    assert statuses["one-whole-gpu"] == "error"
    assert "exceeded the evaluation budget" in report.checks[1].message
    assert statuses["gpu-in-limits"] == "pass"
    # Not a speed test (bench/bench_check.py measures that): only "bounded", generous
    # enough for a machine whose load multiplies wall time several times over.
    assert time.monotonic() - started < 60


def test_a_large_file_without_aliases_is_not_an_alias_bomb():
    parsed = load_documents(_containers_answer(6000))
    assert not parsed.problems and parsed.documents
