"""The CEL environment checks run in: compilation, evaluation and the helpers.

Checks are CEL, the expression language of Kubernetes ValidatingAdmissionPolicy.
Evaluation uses the `cel` package (Rust cel-interpreter with Python bindings).
On top of CEL's standard library this module provides what honest checks need:

Kubernetes' quantity library (as in k8s.io/apiserver/pkg/cel/library):
  `quantity(s)`, `isQuantity(s)`, and on a quantity `q`: `q.isGreaterThan(o)`,
  `q.isLessThan(o)`, `q.compareTo(o)`, `q.add(o)`, `q.sub(o)`, `q.isInteger()`,
  `q.asInteger()`, `q.asApproximateFloat()`, `q.sign()`. Quantities compare by
  value with `==`, so `quantity('1') == quantity('1000m')`.
Scheduling helpers:
  `tolerates(tolerations, taint)`: the scheduler's rule for one taint.
  `selectorMatches(selector, labels)`: a LabelSelector (matchLabels and
  matchExpressions) against a label map.
  `nodeSelectorMatches(podSpec, labels)`: a pod's nodeSelector and required
  node affinity against a node's labels.
  `podSpec(object)`: the pod spec of a Pod, Deployment, StatefulSet, DaemonSet,
  ReplicaSet, Job, CronJob, or the first replica of a Kubeflow PyTorchJob.
  `podTemplateLabels(object)`: that template's labels.
  `resourceValue(resources, name)`: `resources.limits[name]`, else
  `resources.requests[name]`, as a quantity (0 when absent).
  `podGpus(podSpec)`: whole GPUs (any vendor, MIG slices excluded) the pod's
  containers ask for, summed.
  `nodeNamed(nodes, name)`: the live node with that name, or {}.
  `scaledValue(intOrPercent, total, roundUp)`: Kubernetes'
  GetScaledValueFromIntOrPercent: 3 -> 3; "25%" of 6 -> 2 rounding up (PDBs,
  maxSurge), 1 rounding down (a Deployment's maxUnavailable).
Kubernetes' CEL also has the strings extension, which the Rust interpreter
lacks; it is provided here with the same names and meaning: `s.charAt(i)`,
`s.indexOf(t[, from])`, `s.lastIndexOf(t)`, `s.lowerAscii()`, `s.upperAscii()`,
`s.replace(a, b[, n])`, `s.split(sep[, n])`, `s.substring(start[, end])`,
`s.trim()`, `list.join([sep])`, and from the lists library `list.sum()`.
"""

from __future__ import annotations

import importlib.util
import sys
from fractions import Fraction
from typing import Any

from app.k8s.quantity import QuantityError, format_quantity, parse_quantity


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


def _q(amount: Fraction) -> dict[str, str]:
    return {QUANTITY_KEY: f"{amount.numerator}/{amount.denominator}"}


def _amount(value: Any) -> Fraction:
    if isinstance(value, dict) and QUANTITY_KEY in value:
        return Fraction(value[QUANTITY_KEY])
    try:
        return parse_quantity(value)
    except QuantityError as exc:
        raise ValueError(f"not a quantity: {value!r}") from exc


def quantity(value: Any) -> dict[str, str]:
    try:
        return _q(parse_quantity(value))
    except QuantityError as exc:
        raise ValueError(f"quantity({value!r}): {exc}") from exc


def is_quantity(value: Any) -> bool:
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def _compare(a: Any, b: Any) -> int:
    x, y = _amount(a), _amount(b)
    return (x > y) - (x < y)


def _as_integer(value: Any) -> int:
    amount = _amount(value)
    if amount.denominator != 1:
        raise ValueError(f"{format_quantity(amount)} is not an integer quantity")
    return amount.numerator


def tolerates(tolerations: Any, taint: Any) -> bool:
    """Whether any toleration tolerates the taint (k8s.io/api/core/v1 ToleratesTaint)."""
    if not isinstance(taint, dict):
        return False
    for tol in tolerations or []:
        if not isinstance(tol, dict):
            continue
        effect = tol.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key = tol.get("key") or ""
        operator = tol.get("operator") or "Equal"
        if key and key != taint.get("key"):
            continue
        if operator == "Exists":
            return True
        if operator == "Equal" and key and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expression_matches(expr: Any, labels: dict[str, Any]) -> bool:
    key = expr.get("key")
    operator = expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
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


def selector_matches(selector: Any, labels: Any) -> bool:
    """A metav1.LabelSelector against labels. An empty selector matches everything."""
    labels = labels if isinstance(labels, dict) else {}
    if not isinstance(selector, dict):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if str(labels.get(key)) != str(value) or key not in labels:
            return False
    return all(
        isinstance(expr, dict) and _expression_matches(expr, labels)
        for expr in selector.get("matchExpressions") or []
    )


def node_selector_matches(pod_spec: Any, labels: Any) -> bool:
    """nodeSelector AND required node affinity (terms ORed, expressions ANDed)."""
    labels = labels if isinstance(labels, dict) else {}
    if not isinstance(pod_spec, dict):
        return True
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if str(labels.get(key)) != str(value) or key not in labels:
            return False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    if not required:
        return True
    return any(_term_matches(term, labels) for term in required.get("nodeSelectorTerms") or [])


def _term_matches(term: Any, labels: dict[str, Any]) -> bool:
    """A NodeSelectorTerm: requirements ANDed; an empty term matches no node.

    `matchFields` can only name `metadata.name`; offline the node's name is its
    `kubernetes.io/hostname` label, as on the profiles' nodes.
    """
    if not isinstance(term, dict):
        return False
    expressions = [e for e in term.get("matchExpressions") or [] if isinstance(e, dict)]
    fields = [f for f in term.get("matchFields") or [] if isinstance(f, dict)]
    if not expressions and not fields:
        return False
    by_name = (
        {"metadata.name": labels.get("kubernetes.io/hostname")}
        if "kubernetes.io/hostname" in labels
        else {}
    )
    return all(_expression_matches(e, labels) for e in expressions) and all(
        _expression_matches(f, by_name) for f in fields
    )


def pod_template(obj: Any) -> dict[str, Any]:
    """The pod template (metadata + spec) of a workload, or {}."""
    if not isinstance(obj, dict):
        return {}
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if not isinstance(spec, dict):
        return {}
    if kind == "Pod":
        return {"metadata": obj.get("metadata") or {}, "spec": spec}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    if kind == "PyTorchJob":
        replicas = spec.get("pytorchReplicaSpecs") or {}
        for role in ("Master", "Worker"):
            if isinstance(replicas.get(role), dict):
                return dict(replicas[role].get("template") or {})
        return {}
    template = spec.get("template") if isinstance(spec, dict) else None
    return dict(template) if isinstance(template, dict) else {}


def pod_spec(obj: Any) -> dict[str, Any]:
    spec = pod_template(obj).get("spec")
    return dict(spec) if isinstance(spec, dict) else {}


def pod_template_labels(obj: Any) -> dict[str, Any]:
    meta = pod_template(obj).get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return dict(labels) if isinstance(labels, dict) else {}


def resource_value(resources: Any, name: str) -> dict[str, str]:
    if not isinstance(resources, dict):
        return _q(Fraction(0))
    for section in ("limits", "requests"):
        values = resources.get(section) or {}
        if isinstance(values, dict) and name in values:
            return quantity(values[name])
    return _q(Fraction(0))


GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "gpu.intel.com/xe")


def pod_gpus(spec: Any) -> int:
    total = 0
    if not isinstance(spec, dict):
        return 0
    for container in spec.get("containers") or []:
        if not isinstance(container, dict):
            continue
        for name in GPU_RESOURCES:
            amount = _amount(resource_value(container.get("resources"), name))
            if amount.denominator == 1:
                total += amount.numerator
    return total


def node_named(nodes: Any, name: Any) -> dict[str, Any]:
    for node in nodes or []:
        if isinstance(node, dict) and node.get("name") == name:
            return node
    return {}


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        numerator = int(value[:-1]) * int(total)
        return -(-numerator // 100) if round_up else numerator // 100
    raise ValueError(f"{value!r} is neither an integer nor a percentage like '25%'")


def _split(text: str, sep: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    if sep == "":
        parts = list(text)
        return parts if limit < 0 else [*parts[: limit - 1], "".join(parts[limit - 1 :])]
    return text.split(sep, limit - 1 if limit > 0 else -1)


def _replace(text: str, old: str, new: str, limit: int = -1) -> str:
    return text.replace(old, new, limit if limit >= 0 else -1)


def _substring(text: str, start: int, end: int | None = None) -> str:
    end = len(text) if end is None else end
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"substring({start}, {end}) out of range for a string of {len(text)}")
    return text[start:end]


def _index_of(text: str, sub: str, start: int = 0) -> int:
    return text.find(sub, start)


def _sum(values: Any) -> Any:
    items = list(values)
    if items and all(isinstance(v, dict) and QUANTITY_KEY in v for v in items):
        return _q(sum((_amount(v) for v in items), Fraction(0)))
    return sum(items)


STRINGS_EXTENSION: dict[str, Any] = {
    "charAt": lambda s, i: s[i] if 0 <= i < len(s) else "",
    "indexOf": _index_of,
    "lastIndexOf": lambda s, sub: s.rfind(sub),
    "lowerAscii": lambda s: s.lower(),
    "upperAscii": lambda s: s.upper(),
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "trim": lambda s: s.strip(),
    "join": lambda items, sep="": sep.join(str(i) for i in items),
    "sum": _sum,
}


FUNCTIONS: dict[str, Any] = {
    **STRINGS_EXTENSION,
    "podGpus": pod_gpus,
    "scaledValue": scaled_value,
    "nodeNamed": node_named,
    "quantity": quantity,
    "isQuantity": is_quantity,
    "isGreaterThan": lambda a, b: _compare(a, b) > 0,
    "isLessThan": lambda a, b: _compare(a, b) < 0,
    "compareTo": _compare,
    "add": lambda a, b: _q(_amount(a) + _amount(b)),
    "sub": lambda a, b: _q(_amount(a) - _amount(b)),
    "isInteger": lambda a: _amount(a).denominator == 1,
    "asInteger": _as_integer,
    "asApproximateFloat": lambda a: float(_amount(a)),
    "sign": lambda a: (_amount(a) > 0) - (_amount(a) < 0),
    "tolerates": tolerates,
    "selectorMatches": selector_matches,
    "nodeSelectorMatches": node_selector_matches,
    "podSpec": pod_spec,
    "podTemplateLabels": pod_template_labels,
    "resourceValue": resource_value,
}


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
        except Exception as exc:  # noqa: BLE001 - any evaluation failure is the check's error
            raise CelRuntimeError(f"{type(exc).__name__}: {exc}") from exc


def humanize(value: Any) -> str:
    """Show a CEL value to a person (quantities in their short spelling)."""
    if isinstance(value, dict) and QUANTITY_KEY in value:
        return format_quantity(Fraction(value[QUANTITY_KEY]))
    return repr(value)
