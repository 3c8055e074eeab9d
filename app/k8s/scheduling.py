"""The scheduler's matching rules: tolerations against taints, label selectors, node
selectors and required node affinity.

Each mirrors its Kubernetes function (named in the docstring) and is total over
wrong types: a value of the wrong shape matches nothing rather than raising,
because these run on candidates' YAML before any schema step has judged it.
"""

from __future__ import annotations

from typing import Any


def tolerates(tolerations: Any, taint: Any) -> bool:
    """Whether any toleration tolerates the taint (k8s.io/api/core/v1 Toleration.ToleratesTaint).

    An empty key with `Exists` tolerates everything; `Equal` (the default)
    needs key and value to match, so `Equal` without a value does not tolerate
    `key=present`; an empty effect matches every effect.
    """
    if not isinstance(taint, dict) or not isinstance(tolerations, list):
        return False
    for toleration in tolerations:
        if not isinstance(toleration, dict):
            continue
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key") or ""
        operator = toleration.get("operator") or "Equal"
        if key and key != taint.get("key"):
            continue
        if operator == "Exists":
            return True
        value = toleration.get("value") or ""
        if operator == "Equal" and key and value == (taint.get("value") or ""):
            return True
    return False


def _requirement_matches(expression: Any, labels: dict[str, Any]) -> bool:
    """One matchExpressions requirement (labels.Requirement.Matches, plus Gt/Lt for nodes)."""
    if not isinstance(expression, dict):
        return False
    key = expression.get("key")
    if not isinstance(key, str):
        return False
    operator = expression.get("operator")
    raw_values = expression.get("values")
    values = [str(v) for v in raw_values] if isinstance(raw_values, list) else []
    present = key in labels
    if operator == "In":
        return present and str(labels[key]) in values
    if operator == "NotIn":
        return not present or str(labels[key]) not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            left, right = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return left > right if operator == "Gt" else left < right
    return False


def _labels(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _match_labels(wanted: Any, labels: dict[str, Any]) -> bool:
    if wanted is None:
        return True
    if not isinstance(wanted, dict):
        return False
    return all(key in labels and str(labels[key]) == str(value) for key, value in wanted.items())


def selector_matches(selector: Any, labels: Any) -> bool:
    """A metav1.LabelSelector against labels (LabelSelectorAsSelector). An empty selector
    matches everything; a malformed one matches nothing."""
    labels = _labels(labels)
    if not isinstance(selector, dict):
        return False
    expressions = selector.get("matchExpressions")
    if expressions is not None and not isinstance(expressions, list):
        return False
    return _match_labels(selector.get("matchLabels"), labels) and all(
        _requirement_matches(e, labels) for e in expressions or []
    )


def _term_matches(term: Any, labels: dict[str, Any]) -> bool:
    """A NodeSelectorTerm: requirements ANDed; an empty term matches no node.

    `matchFields` can only name `metadata.name`; offline the node's name is its
    `kubernetes.io/hostname` label, as on the profiles' nodes.
    """
    if not isinstance(term, dict):
        return False
    expressions = term.get("matchExpressions")
    fields = term.get("matchFields")
    expressions = expressions if isinstance(expressions, list) else []
    fields = fields if isinstance(fields, list) else []
    if not expressions and not fields:
        return False
    by_name = (
        {"metadata.name": labels.get("kubernetes.io/hostname")}
        if "kubernetes.io/hostname" in labels
        else {}
    )
    return all(_requirement_matches(e, labels) for e in expressions) and all(
        _requirement_matches(f, by_name) for f in fields
    )


def node_selector_matches(pod_spec: Any, labels: Any) -> bool:
    """nodeSelector AND required node affinity (terms ORed, expressions ANDed), as the
    scheduler's NodeAffinity filter decides (component-helpers nodeaffinity)."""
    labels = _labels(labels)
    if not isinstance(pod_spec, dict):
        return True
    if not _match_labels(pod_spec.get("nodeSelector"), labels):
        return False
    affinity = pod_spec.get("affinity")
    node_affinity = affinity.get("nodeAffinity") if isinstance(affinity, dict) else None
    required = (
        node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        if isinstance(node_affinity, dict)
        else None
    )
    if not isinstance(required, dict) or not required:
        return True
    terms = required.get("nodeSelectorTerms")
    return isinstance(terms, list) and any(_term_matches(term, labels) for term in terms)
