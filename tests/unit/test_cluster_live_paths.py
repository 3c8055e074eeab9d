"""API server errors -> diagnostics at the right line (no cluster needed)."""

from __future__ import annotations

from app.cluster.kube import ApiError, _parse_warnings
from app.live.apierrors import (
    api_diagnostics,
    api_field_path,
    is_answer_error,
    warning_diagnostics,
)
from app.live.attempt import new_namespace_name
from app.yamlmap import load_documents

ANSWER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: model-serving
spec:
  template:
    spec:
      containers:
        - name: model-server
          image: model-serving:v1.2.3
          resources:
            requests:
              cpu: "1"
              nvidia.com/gpu: 2
            limits:
              nvidia.com/gpu: 1
"""


def doc():
    return load_documents(ANSWER).documents[0]


def test_field_paths_with_bracketed_keys() -> None:
    assert api_field_path(
        "spec.template.spec.containers[0].resources.requests[nvidia.com/gpu]"
    ) == ("spec", "template", "spec", "containers", 0, "resources", "requests", "nvidia.com/gpu")
    assert api_field_path(".spec.replicas") == ("spec", "replicas")


def test_cause_on_the_map_points_at_the_key_the_message_names() -> None:
    error = ApiError(
        422,
        {
            "kind": "Status",
            "reason": "Invalid",
            "details": {
                "causes": [
                    {
                        "reason": "FieldValueInvalid",
                        "message": 'Invalid value: "2": must be equal to nvidia.com/gpu limit of 1',
                        "field": "spec.template.spec.containers[0].resources.requests",
                    }
                ]
            },
        },
    )
    (diagnostic,) = api_diagnostics(doc(), error)
    assert diagnostic.source == "apiserver"
    assert diagnostic.line == 14  # the nvidia.com/gpu request, not the requests map
    assert "must be equal to nvidia.com/gpu limit of 1" in diagnostic.message


def test_typed_patch_errors_are_the_answers_fault() -> None:
    error = ApiError(
        500,
        {
            "reason": "InternalError",
            "message": (
                "failed to create typed patch object (ns/model-serving; apps/v1, Kind=Deployment): "
                ".spec.template.spec.containers[0].resourcez: field not declared in schema"
            ),
        },
    )
    assert is_answer_error(error)
    assert not is_answer_error(ApiError(500, {"message": "etcdserver: request timed out"}))
    (diagnostic,) = api_diagnostics(doc(), error)
    assert diagnostic.line == 9  # nearest existing parent: the container
    assert "unknown field" in diagnostic.message and "typed patch" not in diagnostic.message


def test_strict_decoding_error_is_located() -> None:
    text = ANSWER.replace(
        "          image:", "          imagePullPolicyy: Always\n          image:"
    )
    document = load_documents(text).documents[0]
    error = ApiError(
        400,
        {
            "reason": "BadRequest",
            "message": (
                'Deployment in version "v1" cannot be handled as a Deployment: '
                "strict decoding error: "
                'unknown field "spec.template.spec.containers[0].imagePullPolicyy"'
            ),
        },
    )
    (diagnostic,) = api_diagnostics(document, error)
    assert diagnostic.line == 10


def test_warnings_become_warning_diagnostics() -> None:
    texts = _parse_warnings(
        [
            '299 - "spec.template.spec.containers[0].resources.requests[cpu]: '
            'fractional byte value \\"1.5\\" is invalid"'
        ]
    )
    assert texts == [
        "spec.template.spec.containers[0].resources.requests[cpu]: fractional "
        'byte value "1.5" is invalid'
    ]
    (diagnostic,) = warning_diagnostics(doc(), texts)
    assert diagnostic.severity == "warning" and diagnostic.line == 13


def test_namespace_names_are_dns_labels() -> None:
    name = new_namespace_name("A_very_long_scenario_id_" * 4)
    assert len(name) <= 63 and name.startswith("kprep-")
    assert all(c.isalnum() or c == "-" for c in name) and name == name.lower()
