"""`policy` rules: PodDisruptionBudget bounds (k8s.io/kubernetes/pkg/apis/policy/validation)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from app.grading.apirules.common import RuleError, err, rules_for

_PERCENT = re.compile(r"^[0-9]+%$")


@rules_for("policy", "PodDisruptionBudget")
def validate_pdb(obj: dict[str, Any]) -> Iterator[RuleError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        yield err(("spec",), "Invalid value: minAvailable and maxUnavailable cannot be both set")
    for key in ("minAvailable", "maxUnavailable"):
        value = spec.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            yield err(("spec", key), f"Invalid value: {value}: must be greater than or equal to 0")
        if isinstance(value, str) and not _PERCENT.match(value):
            yield err(
                ("spec", key),
                f'Invalid value: "{value}": a valid percent string '
                "must be a numeric string followed by an ending '%'",
            )
