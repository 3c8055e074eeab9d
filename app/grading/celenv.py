"""The CEL environment checks run in: compilation, evaluation and its cost estimate.

Checks are CEL, the expression language of Kubernetes ValidatingAdmissionPolicy.
Evaluation uses the `cel` package (the Rust cel-interpreter with Python
bindings). On top of CEL's standard library the interpreter receives the helpers
registered in `app.grading.celhelpers` (`python -m app.grading.celenv` prints their
table for scenarios/README.md; a test keeps the two in step).
"""

from __future__ import annotations

import glob
import importlib.util
import re
import sys
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from app.grading.celhelpers import FUNCTIONS, QUANTITY_KEY, helper_table_markdown
from app.k8s import pods
from app.k8s.quantity import format_quantity


def _load_cel() -> Any:
    """Import the compiled `cel.cel` module without the package's CLI (0.5 s of imports)."""
    existing = sys.modules.get("cel.cel")
    if existing is not None:
        return existing
    spec = importlib.util.find_spec("cel")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the 'common-expression-language' package is not installed")
    for folder in spec.submodule_search_locations:
        for candidate in glob.glob(f"{folder}/cel.*"):
            if candidate.endswith((".so", ".pyd")):
                ext_spec = importlib.util.spec_from_file_location("cel", candidate)
                if ext_spec and ext_spec.loader:
                    module = importlib.util.module_from_spec(ext_spec)
                    ext_spec.loader.exec_module(module)
                    sys.modules["cel.cel"] = module
                    return module
    import cel  # fallback; deferred: start-up cost, the package's CLI imports take 0.5 s

    return cel


_cel = _load_cel()

EVAL_BUDGET_SECONDS = 1.0
"""CPU time one check may spend on one object, like the API server's CEL cost limit:
estimated before evaluation here, enforced during it by app.grading.sandbox."""
BUDGET_MESSAGE = "exceeded the evaluation budget"


class CelCompileError(Exception):
    """The expression does not parse; the message says where."""


class CelRuntimeError(Exception):
    """The expression failed while evaluating (missing field, wrong type, ...)."""


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
    what a comprehension over it can cost. Iterative: answers can nest deeply. Only
    containers go on the stack (a scalar counts 1): a 5,000-container answer has 120,000
    nodes, most of them scalars."""
    if not isinstance(value, (dict, list)):
        return 0, 0
    longest = worst = 0
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if isinstance(c, (dict, list)))
            continue
        size = 1
        for child in children:
            size += sizes[id(child)] if isinstance(child, (dict, list)) else 1
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
