"""The CEL environment checks run in: compilation, evaluation, and the helpers.

Checks are CEL, the expression language of Kubernetes ValidatingAdmissionPolicy.
Evaluation uses the `cel` package (the Rust cel-interpreter with Python
bindings). On top of CEL's standard library this module registers what honest
checks need; every helper is declared once with `@helper`, and that registry is
both what the interpreter receives and the table in scenarios/README.md
(`python -m app.grading.celenv` prints it; a test keeps the two in step). The
Kubernetes facts behind the helpers live in `app.k8s`; this module only adapts
them to CEL (quantities travel as tagged maps, since the interpreter has no
custom types).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

from app.k8s import pods, resources, scheduling
from app.k8s.quantity import QuantityError, format_quantity, parse_quantity

F = TypeVar("F", bound=Callable[..., Any])


def _load_cel() -> Any:
    """Import the compiled `cel.cel` module without the package's CLI (0.5 s of imports)."""
    existing = sys.modules.get("cel.cel")
    if existing is not None:
        return existing
    spec = importlib.util.find_spec("cel")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the 'common-expression-language' package is not installed")
    for folder in spec.submodule_search_locations:
        import glob

        for candidate in glob.glob(f"{folder}/cel.*"):
            if candidate.endswith((".so", ".pyd")):
                ext_spec = importlib.util.spec_from_file_location("cel", candidate)
                if ext_spec and ext_spec.loader:
                    module = importlib.util.module_from_spec(ext_spec)
                    ext_spec.loader.exec_module(module)
                    sys.modules["cel.cel"] = module
                    return module
    import cel  # fall back to the package import

    return cel


_cel = _load_cel()

QUANTITY_KEY = "__kprep_quantity__"


class CelCompileError(Exception):
    """The expression does not parse; the message says where."""


class CelRuntimeError(Exception):
    """The expression failed while evaluating (missing field, wrong type, ...)."""


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
def resource_value(container_resources: Any, name: str) -> dict[str, str]:
    if not isinstance(container_resources, dict):
        return _q(Fraction(0))
    for section in ("limits", "requests"):
        values = container_resources.get(section)
        if isinstance(values, dict) and name in values:
            return quantity(values[name])
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
    "round up), `scaledValue('25%', 6, false) == 1` (a Deployment's maxUnavailable rounds down).",
    P,
)
def scaled_value(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        numerator = int(value[:-1]) * int(total)
        return -(-numerator // 100) if round_up else numerator // 100
    raise ValueError(f"{value!r} is neither an integer nor a percentage like '25%'")


# -- Kubernetes' strings and lists extensions -------------------------------------------------

S = GROUPS[2]


@helper("charAt", "s.charAt(i)", "The character at `i` (`''` past the end).", S)
def _char_at(text: str, index: int) -> str:
    return text[index] if 0 <= index < len(text) else ""


@helper("indexOf", "s.indexOf(t[, from])", "First index of `t`, or -1.", S)
def _index_of(text: str, sub: str, start: int = 0) -> int:
    return text.find(sub, start)


@helper("lastIndexOf", "s.lastIndexOf(t)", "Last index of `t`, or -1.", S)
def _last_index_of(text: str, sub: str) -> int:
    return text.rfind(sub)


@helper("lowerAscii", "s.lowerAscii()", "Lower case.", S)
def _lower(text: str) -> str:
    return text.lower()


@helper("upperAscii", "s.upperAscii()", "Upper case.", S)
def _upper(text: str) -> str:
    return text.upper()


@helper("replace", "s.replace(a, b[, n])", "Replace (at most `n` times).", S)
def _replace(text: str, old: str, new: str, limit: int = -1) -> str:
    return text.replace(old, new, limit if limit >= 0 else -1)


@helper("split", "s.split(sep[, n])", "Split (into at most `n` parts).", S)
def _split(text: str, sep: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    if sep == "":
        parts = list(text)
        return parts if limit < 0 else [*parts[: limit - 1], "".join(parts[limit - 1 :])]
    return text.split(sep, limit - 1 if limit > 0 else -1)


@helper("substring", "s.substring(start[, end])", "A slice; an error when out of range.", S)
def _substring(text: str, start: int, end: int | None = None) -> str:
    end = len(text) if end is None else end
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"substring({start}, {end}) out of range for a string of {len(text)}")
    return text[start:end]


@helper("trim", "s.trim()", "Without surrounding whitespace.", S)
def _trim(text: str) -> str:
    return text.strip()


@helper("join", "list.join([sep])", "Strings joined.", S)
def _join(items: Any, sep: str = "") -> str:
    return sep.join(str(i) for i in items)


@helper("sum", "list.sum()", "Sum of numbers or of quantities.", S)
def _sum(values: Any) -> Any:
    items = list(values)
    if items and all(isinstance(v, dict) and QUANTITY_KEY in v for v in items):
        return _q(sum((_amount(v) for v in items), Fraction(0)))
    return sum(items)


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


class Scope:
    """Variables converted to CEL once and shared by every check of one grading pass.

    Building a context converts every variable and registers every function:
    doing that once per grade instead of once per check halves evaluation time.
    """

    def __init__(self, variables: dict[str, Any]) -> None:
        self.error: str | None = None
        """Why the variables could not be converted (e.g. a YAML mapping with a null key)."""
        try:
            self.context = _cel.Context(variables=variables, functions=FUNCTIONS)
        except Exception as exc:  # noqa: BLE001 - any conversion failure is reported per check
            self.error = f"{type(exc).__name__}: {exc}"
            self.context = _cel.Context(variables={}, functions=FUNCTIONS)


class Program:
    """A compiled check expression."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._program = _cel.compile(source)
        except Exception as exc:  # the binding raises ValueError with a caret diagram
            raise CelCompileError(str(exc).replace("\n| ", "\n    ")) from exc

    def evaluate(self, variables: dict[str, Any]) -> Any:
        return self.evaluate_in(Scope(variables))

    def evaluate_in(self, scope: Scope, **bound: Any) -> Any:
        """Evaluate with the scope's variables plus `bound` ones (e.g. `object`)."""
        if scope.error:
            raise CelRuntimeError(f"the answer holds a value CEL cannot represent: {scope.error}")
        context = scope.context
        try:
            for name, value in bound.items():
                context.add_variable(name, value)
            return self._program.execute(context)
        except KeyError as exc:
            raise CelRuntimeError(f"no such key: {exc.args[0]!r}") from exc
        except Exception as exc:
            raise CelRuntimeError(f"{type(exc).__name__}: {exc}") from exc


def humanize(value: Any) -> str:
    """Show a CEL value to a person (quantities in their short spelling)."""
    if isinstance(value, dict) and QUANTITY_KEY in value:
        return format_quantity(Fraction(value[QUANTITY_KEY]))
    return repr(value)


if __name__ == "__main__":
    print(helper_table_markdown(), end="")
