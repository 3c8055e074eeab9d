"""The helpers checks can call from CEL, each declared once with `@helper`.

That registry is both what the interpreter receives (`FUNCTIONS`) and the table in
scenarios/README.md (`helper_table_markdown`; `python -m app.grading.celenv` prints
it and a test keeps the two in step). The Kubernetes facts behind the helpers live
in `app.k8s`; this module only adapts them to CEL: quantities travel as tagged maps
(`QUANTITY_KEY`), since the interpreter has no custom types. Compiling and
evaluating checks is `app.grading.celenv`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

from app.k8s import pods, resources, scheduling
from app.k8s.quantity import QuantityError, format_quantity, parse_quantity

F = TypeVar("F", bound=Callable[..., Any])

QUANTITY_KEY = "__kprep_quantity__"
"""The key of the one-entry map a quantity travels as inside CEL."""


@dataclass(frozen=True)
class Helper:
    """One function checks can call."""

    name: str
    """The name CEL sees (`podGpus`); a method on a receiver is called `x.name(...)`."""
    signature: str
    """How it is called, as the README shows it."""
    doc: str
    group: str
    function: Callable[..., Any]


HELPERS: dict[str, Helper] = {}
"""Every registered helper, by CEL name, in registration order."""
GROUPS = (
    "Kubernetes quantities (as in the Kubernetes CEL library)",
    "Pods and scheduling",
    "Kubernetes' strings and lists extensions",
)


def helper(name: str, signature: str, doc: str, group: str) -> Callable[[F], F]:
    """Register a function under a CEL name (the README's helper table comes from here)."""

    def register(function: F) -> F:
        if name in HELPERS:
            raise ValueError(f"CEL helper {name!r} registered twice")
        if group not in GROUPS:
            raise ValueError(f"CEL helper {name!r}: unknown group {group!r}")
        HELPERS[name] = Helper(name, signature, " ".join(doc.split()), group, function)
        return function

    return register


# -- quantities -------------------------------------------------------------------------------

Q = GROUPS[0]


def _q(amount: Fraction) -> dict[str, str]:
    return {QUANTITY_KEY: f"{amount.numerator}/{amount.denominator}"}


def _amount(value: Any) -> Fraction:
    if isinstance(value, dict) and QUANTITY_KEY in value:
        return Fraction(value[QUANTITY_KEY])
    try:
        return parse_quantity(value)
    except QuantityError as exc:
        raise ValueError(f"not a quantity: {value!r}") from exc


@helper("quantity", "quantity(s)", "A Kubernetes quantity: `quantity('8Gi')`.", Q)
def quantity(value: Any) -> dict[str, str]:
    try:
        return _q(parse_quantity(value))
    except QuantityError as exc:
        raise ValueError(f"quantity({value!r}): {exc}") from exc


@helper("isQuantity", "isQuantity(s)", "Whether `s` parses as a quantity.", Q)
def is_quantity(value: Any) -> bool:
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def _compare(a: Any, b: Any) -> int:
    x, y = _amount(a), _amount(b)
    return (x > y) - (x < y)


@helper("isGreaterThan", "q.isGreaterThan(o)", "Compare by value (`==` also compares values).", Q)
def _is_greater(a: Any, b: Any) -> bool:
    return _compare(a, b) > 0


@helper("isLessThan", "q.isLessThan(o)", "Compare by value.", Q)
def _is_less(a: Any, b: Any) -> bool:
    return _compare(a, b) < 0


helper("compareTo", "q.compareTo(o)", "-1, 0 or 1.", Q)(_compare)


@helper("add", "q.add(o)", "Sum of two quantities.", Q)
def _add(a: Any, b: Any) -> dict[str, str]:
    return _q(_amount(a) + _amount(b))


@helper("sub", "q.sub(o)", "Difference of two quantities.", Q)
def _sub(a: Any, b: Any) -> dict[str, str]:
    return _q(_amount(a) - _amount(b))


@helper("isInteger", "q.isInteger()", "A whole number (`1500m` is not).", Q)
def _is_integer(a: Any) -> bool:
    return _amount(a).denominator == 1


@helper("asInteger", "q.asInteger()", "As an int; an error when not whole.", Q)
def _as_integer(value: Any) -> int:
    amount = _amount(value)
    if amount.denominator != 1:
        raise ValueError(f"{format_quantity(amount)} is not an integer quantity")
    return amount.numerator


@helper("asApproximateFloat", "q.asApproximateFloat()", "As a double.", Q)
def _as_float(a: Any) -> float:
    return float(_amount(a))


@helper("sign", "q.sign()", "-1, 0 or 1.", Q)
def _sign(a: Any) -> int:
    amount = _amount(a)
    return (amount > 0) - (amount < 0)


# -- pods and scheduling ----------------------------------------------------------------------

P = GROUPS[1]

helper(
    "podSpec",
    "podSpec(obj)",
    "The pod spec of a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, "
    "PyTorchJob (Master, else Worker), JobSet (first replicated job), or any kind with "
    "`spec.template`; `{}` otherwise.",
    P,
)(pods.pod_spec)
helper("podTemplateLabels", "podTemplateLabels(obj)", "That template's labels.", P)(
    pods.pod_template_labels
)


@helper(
    "resourceValue",
    "resourceValue(resources, name)",
    "`limits[name]`, else `requests[name]`, as a quantity (0 when absent).",
    P,
)
def resource_value(container_resources: Any, name: Any) -> dict[str, str]:
    # Total over wrong types: a value that is not a quantity counts as absent (0); the
    # answer's validation errors say so at its line.
    if not isinstance(container_resources, dict):
        return _q(Fraction(0))
    for section in ("limits", "requests"):
        values = container_resources.get(section)
        if isinstance(values, dict) and name in values:
            try:
                return _q(parse_quantity(values[name]))
            except QuantityError:
                return _q(Fraction(0))
    return _q(Fraction(0))


@helper(
    "podGpus",
    "podGpus(podSpec)",
    "Whole GPUs of any vendor (nvidia.com/gpu, amd.com/gpu, gpu.intel.com/i915, "
    "gpu.intel.com/xe) the containers ask for, summed; MIG slices excluded.",
    P,
)
def pod_gpus(spec: Any) -> int:
    if not isinstance(spec, dict) or not isinstance(spec.get("containers"), list):
        return 0
    total = 0
    for container in spec["containers"]:
        for name in resources.WHOLE_GPU_RESOURCES:
            amount = _amount(
                resource_value(
                    (container or {}).get("resources") if isinstance(container, dict) else None,
                    name,
                )
            )
            if amount.denominator == 1:
                total += amount.numerator
    return total


helper(
    "tolerates",
    "tolerates(tolerations, taint)",
    "The scheduler's toleration rule for one taint (`Equal` without a value does not "
    "tolerate `key=present`).",
    P,
)(scheduling.tolerates)
helper(
    "selectorMatches",
    "selectorMatches(labelSelector, labels)",
    "A LabelSelector (matchLabels and matchExpressions) against labels.",
    P,
)(scheduling.selector_matches)
helper(
    "nodeSelectorMatches",
    "nodeSelectorMatches(podSpec, nodeLabels)",
    "nodeSelector AND required node affinity against a node's labels.",
    P,
)(scheduling.node_selector_matches)


@helper("nodeNamed", "nodeNamed(nodes, name)", "Live checks: the node with that name, or {}.", P)
def node_named(nodes: Any, name: Any) -> dict[str, Any]:
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and node.get("name") == name:
            return node
    return {}


@helper(
    "scaledValue",
    "scaledValue(intOrPercent, total, roundUp)",
    "Kubernetes' int-or-percent rule: `scaledValue('25%', 6, true) == 2` (PDBs and maxSurge "
    "round up), `scaledValue('25%', 6, false) == 1` (a Deployment's maxUnavailable rounds down); "
    "0 for anything else (validation reports it).",
    P,
)
def scaled_value(value: Any, total: Any, round_up: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        isinstance(value, str)
        and value.endswith("%")
        and value[:-1].isdigit()
        and isinstance(total, int)
        and not isinstance(total, bool)
    ):
        numerator = int(value[:-1]) * total
        return -(-numerator // 100) if round_up is True else numerator // 100
    # Neither an integer nor a percentage: the answer's validation errors say so.
    return 0


# -- Kubernetes' strings and lists extensions -------------------------------------------------

S = GROUPS[2]


@helper("charAt", "s.charAt(i)", "The character at `i` (`''` past the end).", S)
def _char_at(text: Any, index: Any) -> str:
    if not isinstance(text, str) or not isinstance(index, int):
        return ""
    return text[index] if 0 <= index < len(text) else ""


@helper("indexOf", "s.indexOf(t[, from])", "First index of `t`, or -1.", S)
def _index_of(text: Any, sub: Any, start: Any = 0) -> int:
    if not (isinstance(text, str) and isinstance(sub, str) and isinstance(start, int)):
        return -1
    return text.find(sub, start)


@helper("lastIndexOf", "s.lastIndexOf(t)", "Last index of `t`, or -1.", S)
def _last_index_of(text: Any, sub: Any) -> int:
    return text.rfind(sub) if isinstance(text, str) and isinstance(sub, str) else -1


@helper("lowerAscii", "s.lowerAscii()", "Lower case.", S)
def _lower(text: Any) -> str:
    return text.lower() if isinstance(text, str) else ""


@helper("upperAscii", "s.upperAscii()", "Upper case.", S)
def _upper(text: Any) -> str:
    return text.upper() if isinstance(text, str) else ""


@helper("replace", "s.replace(a, b[, n])", "Replace (at most `n` times).", S)
def _replace(text: Any, old: Any, new: Any, limit: Any = -1) -> str:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return text if isinstance(text, str) else ""
    count = limit if isinstance(limit, int) and limit >= 0 else -1
    return text.replace(old, new, count)


@helper("split", "s.split(sep[, n])", "Split (into at most `n` parts).", S)
def _split(text: Any, sep: Any, limit: Any = -1) -> list[str]:
    if not (isinstance(text, str) and isinstance(sep, str) and isinstance(limit, int)):
        return []
    if limit == 0:
        return []
    if sep == "":
        parts = list(text)
        return parts if limit < 0 else [*parts[: limit - 1], "".join(parts[limit - 1 :])]
    return text.split(sep, limit - 1 if limit > 0 else -1)


@helper("substring", "s.substring(start[, end])", "A slice; an error when out of range.", S)
def _substring(text: Any, start: Any, end: Any = None) -> str:
    if not isinstance(text, str) or not isinstance(start, int):
        return ""
    end = len(text) if not isinstance(end, int) else end
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"substring({start}, {end}) out of range for a string of {len(text)}")
    return text[start:end]


@helper("trim", "s.trim()", "Without surrounding whitespace.", S)
def _trim(text: Any) -> str:
    return text.strip() if isinstance(text, str) else ""


@helper("join", "list.join([sep])", "Strings joined.", S)
def _join(items: Any, sep: Any = "") -> str:
    if not isinstance(items, list):
        return ""
    return (sep if isinstance(sep, str) else "").join(str(i) for i in items)


@helper("sum", "list.sum()", "Sum of numbers or of quantities.", S)
def _sum(values: Any) -> Any:
    items = values if isinstance(values, list) else []
    if items and all(isinstance(v, dict) and QUANTITY_KEY in v for v in items):
        return _q(sum((_amount(v) for v in items), Fraction(0)))
    numbers = [v for v in items if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != len(items):
        raise ValueError("sum() adds numbers or quantities, and this list mixes in other values")
    return sum(numbers)


FUNCTIONS: dict[str, Any] = {name: h.function for name, h in HELPERS.items()}
"""What the interpreter receives: CEL name -> Python function."""


def helper_table_markdown() -> str:
    """The helper reference for scenarios/README.md, grouped."""
    lines: list[str] = []
    for group in GROUPS:
        lines += [f"**{group}**", "", "| call | meaning |", "|---|---|"]
        lines += [f"| `{h.signature}` | {h.doc} |" for h in HELPERS.values() if h.group == group]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
