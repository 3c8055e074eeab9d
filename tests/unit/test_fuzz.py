"""Property: the grader never raises, whatever text or bytes it is given."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.grading.engine import Grader

YAMLISH = st.text(
    alphabet=st.sampled_from(list("abk:- \n\t[]{}&*!|>'\"#%@`,?.0123456789")), max_size=300
)
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module")
def grader():
    from app.course.loader import Course
    from tests.conftest import REPO

    return Grader(Course(REPO).scenario("gpu-limits"))


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURE_OK)
@given(text=st.one_of(st.text(max_size=400), YAMLISH))
def test_grade_text_never_raises(grader, text):
    report = grader.grade_text(text, "fuzz.yaml")
    report.to_json()
    assert report.passed is False or not report.errors


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(raw=st.binary(max_size=300))
def test_grade_bytes_never_raises(grader, raw):
    grader.grade_bytes(raw, "fuzz.yaml").to_json()


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURE_OK)
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
    import yaml

    doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": data}
    grader.grade_text(yaml.safe_dump(doc), "fuzz.yaml").to_json()
