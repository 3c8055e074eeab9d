import pytest

from app.grading.celenv import (
    CelCompileError,
    CelRuntimeError,
    Program,
)
from app.grading.celhelpers import pod_gpus
from app.k8s.scheduling import node_selector_matches, selector_matches, tolerates

TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def run(expr, **variables):
    return Program(expr).evaluate(variables)


def test_quantity_library():
    assert run("quantity('8Gi').isGreaterThan(quantity('4Gi'))") is True
    assert run("quantity('1') == quantity('1000m')") is True
    assert run("quantity('1500m').isInteger()") is False
    assert run("quantity('2').add(quantity('500m')).asApproximateFloat()") == 2.5
    assert run("quantity('1Gi').compareTo(quantity('1G'))") == 1
    assert run("isQuantity('12x')") is False


@pytest.mark.parametrize(
    "toleration,expected",
    [
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}, True),
        ({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Equal", "effect": "NoSchedule"}, False),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "gpu", "operator": "Exists"}, False),
    ],
)
def test_tolerates_follows_the_scheduler(toleration, expected):
    assert tolerates([toleration], TAINT) is expected


def test_selectors():
    labels = {"app": "m", "tier": "gpu"}
    assert selector_matches({"matchLabels": {"app": "m"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "x"}}, labels)
    assert selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["gpu"]}]}, labels
    )
    assert selector_matches({}, labels)
    spec = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "gpu-type", "operator": "In", "values": ["a100"]}
                            ]
                        }
                    ]
                }
            }
        }
    }
    assert node_selector_matches(spec, {"gpu-type": "a100"})
    assert not node_selector_matches(spec, {"gpu-type": "t4"})
    assert not node_selector_matches({"nodeSelector": {"gpu-type": "a100"}}, {})


def test_pod_gpus_counts_every_vendor():
    spec = {
        "containers": [
            {"resources": {"limits": {"nvidia.com/gpu": 2}}},
            {"resources": {"limits": {"amd.com/gpu": "1"}}},
        ]
    }
    assert pod_gpus(spec) == 3


def test_errors_are_typed():
    with pytest.raises(CelCompileError):
        Program("a.(")
    with pytest.raises(CelRuntimeError, match="no such key"):
        run("o.spec.missing", o={"spec": {}})


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("'10%'.replace('%', '')", "10"),
        ("int('25%'.replace('%', ''))", 25),
        ("'a,b,c'.split(',')", ["a", "b", "c"]),
        ("'a,b,c'.split(',', 2)", ["a", "b,c"]),
        ("'hello'.substring(1, 3)", "el"),
        ("'hello'.substring(2)", "llo"),
        ("'  x '.trim()", "x"),
        ("'NVIDIA.com/GPU'.lowerAscii()", "nvidia.com/gpu"),
        ("'nvidia.com/mig-1g.5gb'.indexOf('mig-')", 11),
        ("'a/b/c'.lastIndexOf('/')", 3),
        ("['a', 'b'].join('-')", "a-b"),
        ("[1, 2, 3].sum()", 6),
        ("[quantity('1Gi'), quantity('1Gi')].sum() == quantity('2Gi')", True),
    ],
)
def test_kubernetes_strings_and_lists_extensions(expr, expected):
    assert run(expr) == expected


def test_substring_out_of_range_is_an_error():
    with pytest.raises(CelRuntimeError):
        run("'abc'.substring(2, 9)")


def test_empty_node_selector_term_matches_no_node():
    def spec(term):
        return {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
                }
            }
        }

    labels = {"gpu-type": "a100", "kubernetes.io/hostname": "gpu-a100-0"}
    assert not node_selector_matches(spec({}), labels)
    assert node_selector_matches(
        spec(
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu-a100-0"]}]}
        ),
        labels,
    )
    assert not node_selector_matches(
        spec({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu-t4-0"]}]}),
        labels,
    )


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("scaledValue(3, 6, true)", 3),
        ("scaledValue('25%', 6, true)", 2),
        ("scaledValue('25%', 6, false)", 1),
        ("scaledValue('90%', 6, true)", 6),
    ],
)
def test_scaled_value_matches_kubernetes_int_or_percent(expr, expected):
    assert run(expr) == expected


def test_helpers_are_total_over_wrong_types():
    """A value of the wrong type is the schema step's to report, at its line; the helper
    answers as if the field were absent instead of failing the check with an error."""
    assert run("scaledValue('ten', 6, true)") == 0
    assert run("scaledValue('25%', 'six', true)") == 0
    assert (
        run("resourceValue({'limits': {'nvidia.com/gpu': [1]}}, 'nvidia.com/gpu') == quantity('0')")
        is True
    )
    assert (
        run("podGpus({'containers': [{'resources': {'limits': {'nvidia.com/gpu': 'x'}}}]}) == 0")
        is True
    )
    assert run("x.lowerAscii() == '' && x.charAt(0) == '' && x.indexOf('a') == -1", x=5) is True
    assert run("x.split(',') == [] && x.join() == '' && x.trim() == ''", x=5) is True
    with pytest.raises(CelRuntimeError):
        run("[1, 'a'].sum() > 0")


def test_the_readme_helper_table_is_generated_from_the_registry():
    from pathlib import Path

    from app.grading.celhelpers import FUNCTIONS, HELPERS, helper_table_markdown

    readme = (Path(__file__).resolve().parents[2] / "scenarios" / "README.md").read_text()
    start = readme.index("<!-- cel-helpers:start -->\n") + len("<!-- cel-helpers:start -->\n")
    end = readme.index("<!-- cel-helpers:end -->")
    assert readme[start:end] == helper_table_markdown(), (
        "scenarios/README.md's helper table is stale: paste `python -m app.grading.celenv`"
    )
    assert set(FUNCTIONS) == set(HELPERS)
    for name in HELPERS:
        assert f"`{HELPERS[name].signature}`" in readme
