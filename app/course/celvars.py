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


def unknown_variables(expression: str, *, live: bool) -> list[str]:
    """Free variables that the checks of that kind do not have, sorted."""
    known = LIVE_VARIABLES if live else OFFLINE_VARIABLES
    return sorted(free_variables(expression) - known)


def variable_problem(check: Check, *, live: bool) -> str:
    """Lint's message when the check reads variables its kind of check lacks, else ""."""
    unknown = unknown_variables(check.expression, live=live)
    if not unknown:
        return ""
    known = ", ".join(sorted(LIVE_VARIABLES if live else OFFLINE_VARIABLES))
    return (
        f"{'live ' if live else ''}check {check.id!r} reads {', '.join(unknown)}, which "
        f"{'is' if len(unknown) == 1 else 'are'} not "
        f"{'a live-check' if live else 'an offline-check'} variable (those are: {known})"
    )
