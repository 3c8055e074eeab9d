"""`batch` rules: restart policies Jobs accept, Indexed completions, counts
(k8s.io/kubernetes/pkg/apis/batch/validation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.grading.apirules.common import RuleError, dig, err, rules_for, validate_meta
from app.k8s.pods import TEMPLATE_PATHS


@rules_for("batch", "Job", "CronJob")
def validate_job_template(obj: dict[str, Any]) -> Iterator[RuleError]:
    template = TEMPLATE_PATHS[str(obj.get("kind"))]
    yield from validate_meta(dig(obj, (*template, "metadata")), (*template, "metadata"))
    # Pods default to Always, which Jobs refuse: the API server asks for a value.
    restart = dig(obj, (*template, "spec", "restartPolicy"))
    if restart is None:
        yield err(
            (*template, "spec", "restartPolicy"),
            'Required value: valid values: "OnFailure", "Never"',
        )
    elif restart not in ("OnFailure", "Never"):
        yield err(
            (*template, "spec", "restartPolicy"),
            f'Unsupported value: "{restart}": supported values: "OnFailure", "Never"',
        )


@rules_for("batch", "Job")
def validate_job(obj: dict[str, Any]) -> Iterator[RuleError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    # batch/v1 defaults completions and parallelism to 1 when both are unset.
    if (
        spec.get("completionMode") == "Indexed"
        and spec.get("completions") is None
        and spec.get("parallelism") is not None
    ):
        yield err(("spec", "completions"), "Required value: when completion mode is Indexed")
    for key in ("parallelism", "completions"):
        value = spec.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            yield err(("spec", key), f"Invalid value: {value}: must be greater than or equal to 0")
