"""What every rule module shares: the error type, field paths in the API server's
spelling, the registry of rules by API group and kind, and metadata rules.

A rule module registers its rules with `@rules_for(group, *kinds)`, the way
Kubernetes keeps `pkg/apis/<group>/validation`: the dispatcher runs the rules
of an object's (group, kind), so a Knative `Service` never meets the core
`Service` rules. Rules are total over wrong types: the schema step reports a
value of the wrong type at its line, so a rule skips what it cannot read
instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from app.k8s.names import label_value_problem, qualified_name_problem, subdomain_problem
from app.k8s.pods import PathT, dig

__all__ = ["PathT", "dig"]


@dataclass(frozen=True)
class RuleError:
    """One violated rule: where, and the API server's words for it."""

    path: PathT
    message: str


Rule = Callable[[dict[str, Any]], Iterable[RuleError]]
RULES: dict[tuple[str, str], list[Rule]] = {}
"""(API group, kind) -> rules; the core group is ""."""


def rules_for(group: str, *kinds: str) -> Callable[[Rule], Rule]:
    """Register a rule for objects of these kinds in this API group."""

    def register(rule: Rule) -> Rule:
        for kind in kinds:
            RULES.setdefault((group, kind), []).append(rule)
        return rule

    return register


def api_group(obj: dict[str, Any]) -> str:
    """`apps/v1` -> `apps`; `v1` -> `` (core)."""
    api_version = obj.get("apiVersion")
    return api_version.rpartition("/")[0] if isinstance(api_version, str) else ""


def field_text(path: PathT) -> str:
    """`("spec", "containers", 0, "resources", "limits", "nvidia.com/gpu")` ->
    `spec.containers[0].resources.limits[nvidia.com/gpu]`, as the API server writes it."""
    out = ""
    previous: str | int | None = None
    for part in path:
        if isinstance(part, int) or previous in ("limits", "requests", "labels"):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


def err(path: PathT, message: str) -> RuleError:
    return RuleError(path, f"{field_text(path)}: {message}")


def as_list(value: Any) -> list[Any]:
    """The value when it is a list, else [] (the schema step reports the wrong type)."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """The value when it is a mapping, else {} (the schema step reports the wrong type)."""
    return value if isinstance(value, dict) else {}


def validate_name(obj: dict[str, Any], kind: str) -> Iterator[RuleError]:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not name and not (isinstance(meta, dict) and meta.get("generateName")):
        yield err(("metadata", "name"), "Required value: name or generateName is required")
    elif isinstance(name, str) and kind != "Node":
        problem = subdomain_problem(name)
        if problem:
            yield err(("metadata", "name"), f'Invalid value: "{name}": {problem}')


def validate_meta(meta: Any, path: PathT) -> Iterator[RuleError]:
    """Label and annotation keys are qualified names; label values are short and tidy."""
    if not isinstance(meta, dict):
        return
    for section in ("labels", "annotations"):
        values = meta.get(section)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            problem = qualified_name_problem(str(key))
            if problem:
                yield err((*path, section, str(key)), f'Invalid value: "{key}": {problem}')
                continue
            if section == "labels" and isinstance(value, str):
                value_problem = label_value_problem(value)
                if value_problem:
                    yield err(
                        (*path, section, str(key)), f'Invalid value: "{value}": {value_problem}'
                    )


def is_zero(value: Any) -> bool:
    return value == 0 or value in ("0", "0%")
