"""Which variables a check's CEL expression reads, so lint can say when one does not exist.

CEL compiles without declared variables (kprep binds them at run time), so a typo
such as `pod.env` or a live-only variable in an offline check would only show up as
an `error` when the check runs, and a live check runs only on a cluster. This
scan finds the free identifiers of an expression: names not after a `.`, not
called as functions, not bound by a macro (`all`, `exists`, `exists_one`, `map`,
`filter`) and not inside string literals.
"""

from __future__ import annotations

import re

from app.course.models import Check

OFFLINE_VARIABLES = frozenset({"object", "objects", "params"})
LIVE_VARIABLES = frozenset({"object", "objects", "params", "pods", "nodes", "events", "services"})
"""What live checks see (scenarios/README.md, "Live checks": Variables)."""
AUTOSCALE_VARIABLES = frozenset(
    {"timeline", "summary", "rescales", "events", "run", "objects", "params"}
)
"""What autoscaleChecks see over a run (app/grading/autoscale_checks.py)."""
_KINDS = {
    "offline": (OFFLINE_VARIABLES, "an offline-check"),
    "live": (LIVE_VARIABLES, "a live-check"),
    "autoscale": (AUTOSCALE_VARIABLES, "an autoscale-check"),
}
_KEYWORDS = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue"})
_STRING = re.compile(
    r"""(?:[rRbB]{0,2})(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""",
    re.DOTALL,
)
_MACRO_BINDING = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_]\w*)(?!\w)(\s*\()?")


def free_variables(expression: str) -> set[str]:
    """Identifiers the expression reads from its environment."""
    code = _STRING.sub('""', expression)
    bound = set(_MACRO_BINDING.findall(code))
    found = set()
    for match in _IDENTIFIER.finditer(code):
        name, called = match.group(1), match.group(2)
        if called or name in _KEYWORDS or name in bound:
            continue
        found.add(name)
    return found


def unknown_variables(expression: str, *, kind: str) -> list[str]:
    """Free variables that the checks of that kind (offline, live, autoscale) lack, sorted."""
    return sorted(free_variables(expression) - _KINDS[kind][0])


def variable_problem(check: Check, *, kind: str) -> str:
    """Lint's message when the check reads variables its kind of check lacks, else ""."""
    unknown = unknown_variables(check.expression, kind=kind)
    if not unknown:
        return ""
    known, name = _KINDS[kind]
    prefix = "" if kind == "offline" else f"{kind} "
    return (
        f"{prefix}check {check.id!r} reads {', '.join(unknown)}, which "
        f"{'is' if len(unknown) == 1 else 'are'} not {name} variable "
        f"(those are: {', '.join(sorted(known))})"
    )
