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
import re
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
EVAL_BUDGET_SECONDS = 1.0
"""CPU time one check may spend on one object, like the API server's CEL cost limit:
estimated before evaluation here, enforced during it by app.grading.sandbox."""
BUDGET_MESSAGE = "exceeded the evaluation budget"


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


_OBJECT_VIEWS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "podSpec": ("_kprep_podSpec_object", pods.pod_spec),
    "podTemplateLabels": ("_kprep_podTemplateLabels_object", pods.pod_template_labels),
}
"""Pure helpers whose call on `object` is computed once per document and bound as a
variable: `podSpec(object)` then costs a lookup instead of converting the whole
object to Python and back at every call (checks call it hundreds of times)."""
_VIEW_CALL = re.compile(r"(?<![\w.])(" + "|".join(_OBJECT_VIEWS) + r")\(\s*object\s*\)")
_STRING_LITERAL = re.compile(
    "[rR]?(?:"
    + "|".join(
        (
            r"'{3}[\s\S]*?'{3}",  # triple-quoted strings first
            r'"{3}[\s\S]*?"{3}',
            r"'(?:\\.|[^'\\\n])*'",
            r'"(?:\\.|[^"\\\n])*"',
        )
    )
    + ")"
)
_MAP = re.compile(r"\.\s*map\s*\(")
_FILTER = re.compile(r"\.\s*filter\s*\(")
COPY_SECONDS_MIN = 1e-7
COPY_SECONDS_MAX = 4e-7
"""What the interpreter spends copying one node of an accumulated list, at least (a
small value) and at most (a node of a large object). Its `map` and `filter` rebuild
their result at every step, so they are quadratic: `map` over L items copies at
least L*L/2 values; either copies at most (L x the list's nodes) / 2. Measured on
the development machine: ~0.1 us per int, ~0.35 us per node of a mapping."""
RISKY_SECONDS = 0.2
"""An evaluation whose worst case exceeds this runs where its death costs nothing (see
app.grading.sandbox)."""


def _outside_strings(source: str, rewrite: Callable[[str], str]) -> str:
    """Apply `rewrite` to the parts of a CEL source that are not string literals."""
    out, position = [], 0
    for literal in _STRING_LITERAL.finditer(source):
        out.append(rewrite(source[position : literal.start()]))
        out.append(literal.group())
        position = literal.end()
    out.append(rewrite(source[position:]))
    return "".join(out)


def _list_sizes(value: Any) -> tuple[int, int]:
    """(the longest list's length, the largest items x nodes of any list) inside `value`:
    what a comprehension over it can cost. Iterative: answers can nest deeply."""
    longest = worst = 0
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        if not done:
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        size = 1 + sum(sizes.get(id(c), 1) for c in children)
        sizes[id(node)] = size
        if isinstance(node, list):
            longest = max(longest, len(node))
            worst = max(worst, len(node) * size)
    return longest, worst


class Scope:
    """Variables shared by every check of one grading pass, converted to CEL on first use.

    Converting a variable costs time in proportion to its size, so a variable is
    converted only when a check refers to it, and `object` (plus its views such as
    `podSpec(object)`) once per document, however many checks look at it.
    """

    def __init__(self, variables: dict[str, Any]) -> None:
        self.context = _cel.Context(variables={}, functions=FUNCTIONS)
        self._pending: dict[str, Any] = dict(variables)
        self._errors: dict[str, str] = {}
        self._object: Any = None
        self._object_bound: set[str] = set()
        """Which of `object` and its views the context holds for the current object."""
        self._has_object = False
        self._sizes: dict[int, tuple[int, int]] = {}

    def _add(self, name: str, value: Any) -> None:
        try:
            self.context.add_variable(name, value)
            self._errors.pop(name, None)
        except Exception as exc:  # noqa: BLE001 - any conversion failure is reported per check
            self._errors[name] = f"{type(exc).__name__}: {exc}"

    def bind_object(self, value: Any) -> None:
        """Make `value` the `object` of the next evaluations (a no-op if it already is)."""
        if self._has_object and value is self._object:
            return
        self._object, self._has_object = value, True
        self._object_bound = set()

    def prepare(self, names: set[str]) -> str | None:
        """Convert what `names` needs; returns why a needed value cannot be converted."""
        for name in names & self._pending.keys():
            self._add(name, self._pending.pop(name))
        if self._has_object:
            if "object" in names and "object" not in self._object_bound:
                self._add("object", self._object)
                self._object_bound.add("object")
            for variable, view in _OBJECT_VIEWS.values():
                if variable in names and variable not in self._object_bound:
                    self._add(variable, view(self._object))
                    self._object_bound.add(variable)
        failed = [self._errors[n] for n in names if n in self._errors]
        return failed[0] if failed else None

    def list_sizes(self, names: set[str]) -> tuple[int, int]:
        """`_list_sizes` over every variable in `names` (the object for its views too)."""
        values = [v for n, v in self._pending.items() if n in names]
        object_names = {"object", *(v for v, _ in _OBJECT_VIEWS.values())}
        if self._has_object and names & object_names:
            values.append(self._object)
        longest = worst = 0
        for value in values:
            key = id(value)
            if key not in self._sizes:
                self._sizes[key] = _list_sizes(value)
            longest = max(longest, self._sizes[key][0])
            worst = max(worst, self._sizes[key][1])
        return longest, worst


class CelBudgetError(CelRuntimeError):
    """The expression exceeded (or was sure to exceed) the evaluation budget. `str()`
    completes "the check's CEL ..."."""


class Program:
    """A compiled check expression."""

    def __init__(self, source: str) -> None:
        self.source = source

        def use_views(code: str) -> str:
            return _VIEW_CALL.sub(lambda m: _OBJECT_VIEWS[m.group(1)][0], code)

        rewritten = _outside_strings(source, use_views)
        code = _STRING_LITERAL.sub("''", source)
        self.maps = len(_MAP.findall(code))
        self.filters = len(_FILTER.findall(code))
        """How many `map` and `filter` macros the expression holds (for the cost estimate)."""
        try:
            self._program = _cel.compile(rewritten)
        except Exception as exc:  # the binding raises ValueError with a caret diagram
            raise CelCompileError(str(exc).replace("\n| ", "\n    ")) from exc
        try:
            self.names = set(self._program.variables())
        except Exception:  # noqa: BLE001 - an older binding: convert everything
            self.names = {"object", "objects", "params", *(v for v, _ in _OBJECT_VIEWS.values())}

    def evaluate(self, variables: dict[str, Any]) -> Any:
        scope = Scope(variables)
        if "object" in variables:
            scope.bind_object(variables["object"])
        return self.evaluate_in(scope)

    def least_seconds(self, scope: Scope) -> float:
        """What the expression's `map`s cost at least over the scope's longest list."""
        if not self.maps:
            return 0.0
        longest, _ = scope.list_sizes(self.names)
        return self.maps * longest * longest / 2 * COPY_SECONDS_MIN

    def most_seconds(self, scope: Scope) -> float:
        """What its `map`s and `filter`s may cost at most (0 without any)."""
        if not (self.maps or self.filters):
            return 0.0
        _, worst = scope.list_sizes(self.names)
        return (self.maps + self.filters) * worst / 2 * COPY_SECONDS_MAX

    def evaluate_in(self, scope: Scope, budget: float | None = None, **bound: Any) -> Any:
        """Evaluate with the scope's variables; `object=` rebinds the object, other keywords
        are extra variables. Refuses (CelBudgetError) when `budget` seconds are sure to
        be exceeded."""
        if "object" in bound:
            scope.bind_object(bound.pop("object"))
        problem = scope.prepare(self.names)
        if problem:
            raise CelRuntimeError(f"the answer holds a value CEL cannot represent: {problem}")
        if budget is not None:
            least = self.least_seconds(scope)
            if least > budget:
                raise CelBudgetError(
                    f"was not run: it {BUDGET_MESSAGE} ({budget:g} s): its .map over a list "
                    f"this long copies the list at every step, at least {least:.1f} s"
                )
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
