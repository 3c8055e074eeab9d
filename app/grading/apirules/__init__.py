"""Offline equivalents of the API server validations the course depends on.

Schemas cannot express these (they live in Go, in
k8s.io/kubernetes/pkg/apis/<group>/validation). Each rule keeps the API
server's meaning and close to its wording, so a candidate learns the message
they will meet on a real cluster. Rules are organised as Kubernetes organises
them, one module per API group (`core`, `apps`, `batch`, `autoscaling`,
`policy`, `kubeflow`), registered by (group, kind) in `common.RULES`. The live
differential test (tests/live) compares these verdicts with a real API server's
dry run; a disagreement is a bug here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Importing the group modules registers their rules.
from app.grading.apirules import apps, autoscaling, batch, core, policy  # noqa: F401
from app.grading.apirules.common import (
    RULES,
    RuleError,
    api_group,
    validate_meta,
    validate_name,
)
from app.grading.apirules.core import validate_pod_spec, validate_resources

__all__ = ["RuleError", "validate_object", "validate_pod_spec", "validate_resources"]


def validate_object(obj: Any) -> Iterator[RuleError]:
    """All offline API-server rules for one document: names and metadata for every
    object, then the rules registered for its (group, kind)."""
    if not isinstance(obj, dict):
        return
    kind = str(obj.get("kind"))
    yield from validate_name(obj, kind)
    yield from validate_meta(obj.get("metadata"), ("metadata",))
    for rule in RULES.get((api_group(obj), kind), ()):
        yield from rule(obj)
