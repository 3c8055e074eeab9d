"""A problem `kprep scenarios lint` reports: scenario, message, file and line.

Its own module so the lint's parts (`app.authoring.lint`, `lint_autoscale`) share it
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class LintProblem:
    scenario: str
    message: str
    path: Path | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.path and self.line else str(self.path or "")
        return (
            f"{where}: {self.scenario}: {self.message}"
            if where
            else f"{self.scenario}: {self.message}"
        )
