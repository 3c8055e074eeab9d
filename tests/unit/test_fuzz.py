"""Property: the grader never raises, whatever text or bytes it is given.

Derandomized (the same examples on every run) with fixed example counts, so CI
spends a bounded time here (about two minutes on 2 cores); `make check-fast` runs a
tenth of them (`tests.conftest.examples`, HYPOTHESIS_PROFILE=fast). The mutation tests
take every scenario's reference answer and replace one subtree with a value of
another type, a YAML tag or an extreme number: the report must come back, with
no `internal` error, and render in every format. What they found is kept below
as plain regression cases, so it stays fixed even if the search changes.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.course.loader import Course
from app.grading import render
from app.grading.engine import Grader
from app.grading.report import Report
from tests.conftest import REPO, examples

YAMLISH = st.text(
    alphabet=st.sampled_from(list("abk:- \n\t[]{}&*!|>'\"#%@`,?.0123456789")), max_size=300
)
FIXTURE_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
PROPERTY: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": FIXTURE_OK,
    "derandomize": True,
}
"""Every property's settings but its example count (`examples`)."""
COURSE = Course(REPO)
SCENARIOS = COURSE.scenario_ids()
_GRADERS: dict[str, Grader] = {}
MARKER = "kprep-fuzz-marker"


def grader_for(scenario_id: str) -> Grader:
    """In-process graders: an exception surfaces as an `internal` error at once."""
    if scenario_id not in _GRADERS:
        _GRADERS[scenario_id] = Grader(
            COURSE.scenario(scenario_id), crd_dir=COURSE.crd_dir, isolate=False
        )
    return _GRADERS[scenario_id]


def assert_sound(report: Report) -> None:
    """A report came back, the grader did not fail, and every format renders it."""
    assert not report.internal_errors, [e.message for e in report.internal_errors]
    failed = [c.message for c in report.checks if "the grader failed" in c.message]
    assert not failed, failed
    json.loads(json.dumps(report.to_json()))
    out = io.StringIO()
    render.render_junit([report], out)
    ET.fromstring(out.getvalue().split("\n", 1)[1])
    from rich.console import Console

    render.render_text([report], Console(file=io.StringIO(), width=120))


@pytest.fixture(scope="module")
def grader():
    return grader_for("gpu-limits")


@settings(max_examples=examples(300), **PROPERTY)
@given(text=st.one_of(st.text(max_size=400), YAMLISH))
def test_grade_text_never_raises(grader, text):
    report = grader.grade_text_here(text, "fuzz.yaml")
    assert_sound(report)
    assert report.passed is False or not report.errors


@settings(max_examples=examples(150), **PROPERTY)
@given(raw=st.binary(max_size=300))
def test_grade_bytes_never_raises(grader, raw):
    assert_sound(grader.grade_bytes_here(raw, "fuzz.yaml"))


@settings(max_examples=examples(100), **PROPERTY)
@given(
    data=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_arbitrary_structures_never_raise(grader, data):
    doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": data}
    assert_sound(grader.grade_text_here(yaml.safe_dump(doc), "fuzz.yaml"))


# -- mutations of every reference answer ---------------------------------------------------

EXTREME_NUMBERS = st.sampled_from(
    [0, -1, 2**31, 2**63, -(2**63), 10**30, 10**400, 1e308, -0.0, 5e-324, 1.5, 0.5]
)
PLAIN_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    EXTREME_NUMBERS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", "app=web", "8080", "1Gi", "500m", "true", "null", "-", "*"]),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=6), st.one_of(st.none(), st.integers()), max_size=3),
)
YAML_SNIPPETS = st.sampled_from(
    [
        "2024-01-02",
        "2001-12-14t21:59:43.10-05:00",
        "!!timestamp 2001-12-14",
        "!!timestamp nope",
        "!!binary aGVsbG8=",
        "!!binary /w==",
        "!!binary '%%%'",
        "!!set {a, b}",
        "!!omap [{a: 1}, {b: 2}]",
        "!!pairs [{a: 1}]",
        '!!int ""',
        '!!float ""',
        "!!int 0x",
        "!!bool maybe",
        "!!null x",
        "!!str [1]",
        "!!map [1]",
        "!custom value",
        "!!python/name:os.system",
        ".inf",
        "-.inf",
        ".nan",
        "1.0e+309",
        "0x1F",
        "0o17",
        "1_000",
        "~",
        '"\\x01\\x1b[31m"',
        '"\\ud7ff\\ufffe"',
        "{? [1, 2] : x}",
        "{1: a, ~: b, true: c}",
        "[[[[[[[[[[]]]]]]]]]]",
        "&anchor {a: *anchor}",
        "|\n      multi\n      line",
    ]
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(doc)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


@st.composite
def mutated_answers(draw: st.DrawFn) -> tuple[str, str]:
    """(scenario id, a reference answer with one subtree replaced)."""
    scenario_id = draw(st.sampled_from(SCENARIOS))
    docs = [d for d in yaml.safe_load_all(COURSE.scenario(scenario_id).answer_text()) if d]
    index = draw(st.integers(0, len(docs) - 1))
    paths = _paths(docs[index])
    path = paths[draw(st.integers(0, len(paths) - 1))]
    if draw(st.booleans()):
        docs[index] = _replace(docs[index], path, draw(PLAIN_VALUES))
        return scenario_id, yaml.safe_dump_all(docs, sort_keys=False)
    docs[index] = _replace(docs[index], path, MARKER)
    text = yaml.safe_dump_all(docs, sort_keys=False, width=10**6)
    return scenario_id, text.replace(MARKER, draw(YAML_SNIPPETS), 1)


@settings(max_examples=examples(600), **PROPERTY)
@given(case=mutated_answers())
def test_every_reference_answer_survives_any_mutation(case):
    scenario_id, text = case
    assert_sound(grader_for(scenario_id).grade_text_here(text, "mutated.yaml"))


@settings(max_examples=examples(200), **PROPERTY)
@given(case=mutated_answers(), cut=st.integers(0, 400))
def test_truncated_mutations_survive(case, cut):
    scenario_id, text = case
    assert_sound(grader_for(scenario_id).grade_text_here(text[: len(text) - cut], "cut.yaml"))


# -- what the search found (kept whatever it finds next) -----------------------------------

FOUND = [
    # ValueError: Unsupported type 'date' / 'bytes' / 'set' in the schema step.
    ("gpu-limits", ("metadata",), "2024-01-02"),
    ("gpu-limits", ("metadata",), "!!binary aGVsbG8="),
    ("gpu-limits", ("metadata",), "!!set {a, b}"),
    # IndexError inside PyYAML's int and float constructors.
    ("gpu-limits", ("spec", "replicas"), '!!int ""'),
    ("gpu-limits", ("spec", "replicas"), '!!float ""'),
    # ValueError: Invalid literal for Fraction: 'inf' / 'nan' in the quantity parser.
    (
        "gpu-limits",
        ("spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"),
        ".inf",
    ),
    (
        "gpu-limits",
        ("spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"),
        ".nan",
    ),
    # KeyError in PyYAML's bool constructor, AttributeError in its timestamp constructor.
    ("gpu-limits", ("spec", "replicas"), "!!bool maybe"),
    ("gpu-limits", ("spec", "replicas"), "!!timestamp nope"),
    # TypeError: unhashable type (a volume's name made a set by a tag) in the pod rules.
    (
        "vllm-tensor-parallel",
        ("spec", "template", "spec", "volumes", 0, "name"),
        "!!set {a, b}",
    ),
]


@pytest.mark.parametrize("scenario_id,path,snippet", FOUND)
def test_what_the_search_found_stays_fixed(scenario_id, path, snippet):
    docs = [d for d in yaml.safe_load_all(COURSE.scenario(scenario_id).answer_text()) if d]
    docs[0] = _replace(docs[0], path, MARKER)
    text = yaml.safe_dump_all(docs, sort_keys=False).replace(MARKER, snippet, 1)
    assert_sound(grader_for(scenario_id).grade_text_here(text, "found.yaml"))
