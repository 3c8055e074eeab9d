"""The grading report: what every front end shows and the JSON contract.

JSON contract (tools and tests rely on it):
  {"scenario", "file", "mode": "offline"|"live", "passed", "score", "max_score",
   "errors": [{"line", "column", "message", "source"}],
   "checks": [{"id", "title", "status", "points", "line", "message", "concept"}]}
plus "placement" in live mode. `line` is 1-based in the candidate's file and
null only when no line applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

REPORT_BUGS = (
    "this is a kprep bug, not a problem with the answer: please report it to kprep's "
    "maintainers (issue tracker) with this file and `kprep --version`"
)
"""Where an `internal` error tells the candidate to go."""

ErrorSource = Literal["yaml", "schema", "validation", "apiserver", "cluster", "internal"]
"""`internal`: the grader itself failed on this answer (a kprep bug; the message says where
to report it). Every other source is about the answer."""
CheckStatus = Literal["pass", "fail", "error", "skip"]


@dataclass(frozen=True)
class Diagnostic:
    """A problem with the answer that is not a check: YAML, schema, API rules."""

    message: str
    source: ErrorSource
    line: int | None = None
    column: int | None = None
    severity: Literal["error", "warning"] = "error"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "source": self.source,
        }
        if self.severity != "error":
            data["severity"] = self.severity
        return data


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: CheckStatus
    points: int
    """Points earned: the check's points when it passes, else 0."""
    max_points: int
    concept: str
    message: str = ""
    """Empty on pass; the teaching message on fail; the reason on error or skip."""
    line: int | None = None
    advice: str = ""
    """Live mode: what the scheduler's reasons mean for this check."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "points": self.points,
            "line": self.line,
            "message": self.message,
            "concept": self.concept,
        }
        if self.advice:
            data["advice"] = self.advice
        return data


@dataclass(frozen=True)
class Placement:
    """Where one pod of the answer landed on the live cluster."""

    pod: str
    node: str | None
    phase: str
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"pod": self.pod, "node": self.node, "phase": self.phase, "reason": self.reason}


@dataclass
class Report:
    scenario: str
    file: str
    mode: Literal["offline", "live"] = "offline"
    errors: list[Diagnostic] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    placement: list[Placement] | None = None
    max_score: int = 0
    notes: list[str] = field(default_factory=list)
    """Things the candidate should know that are not errors (e.g. cluster unreachable)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds each check's CEL took, by check id (lint reports the slowest); not in the
    JSON contract."""

    @property
    def internal_errors(self) -> list[Diagnostic]:
        return [e for e in self.errors if e.source == "internal"]

    @property
    def score(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def blocking_errors(self) -> list[Diagnostic]:
        return [e for e in self.errors if e.severity == "error"]

    @property
    def passed(self) -> bool:
        return (
            not self.blocking_errors
            and bool(self.checks)
            and all(c.status == "pass" for c in self.checks)
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scenario": self.scenario,
            "file": self.file,
            "mode": self.mode,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "errors": [e.to_json() for e in self.errors],
            "checks": [c.to_json() for c in self.checks],
        }
        if self.mode == "live" or self.placement is not None:
            data["placement"] = [p.to_json() for p in self.placement or []]
        if self.notes:
            data["notes"] = list(self.notes)
        return data
