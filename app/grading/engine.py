"""The grading engine: one answer text + one scenario -> a Report.

Every front end (the command line, the terminal app, an instructor's CI job)
calls `Grader.grade_text` or `grade_file`, so all get the same verdict. A
`Grader` compiles the scenario's CEL once; re-grading is then a parse, a schema
pass and a few CEL evaluations (well under the 30 ms budget the app needs to
grade as the candidate types). Nothing in here raises on bad answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.course.models import Check, Scenario
from app.grading.apirules import validate_object
from app.grading.celenv import CelCompileError, CelRuntimeError, Program, Scope, humanize
from app.grading.report import CheckResult, Diagnostic, Report
from app.grading.schema import SchemaValidator, UnknownKind, versions_of_kind
from app.yamlmap import Document, decode, format_path, load_documents, parse_path


class CompiledCheck:
    def __init__(self, check: Check) -> None:
        self.check = check
        self.error: str | None = None
        self.program: Program | None = None
        try:
            self.program = Program(check.expression)
        except CelCompileError as exc:
            self.error = str(exc)


def field_line(doc: Document, field: str | None) -> int:
    """The line of `field` in `doc` (first match for `[*]`), or of its nearest ancestor."""
    if not field:
        return doc.start_line
    parts = parse_path(field)
    best: tuple[int, int] | None = None

    def walk(data: Any, done: tuple[str | int, ...], rest: list[str | int]) -> bool:
        nonlocal best
        if not rest:
            best = doc.locate(done)
            return True
        head, tail = rest[0], rest[1:]
        if head == "*" and isinstance(data, list):
            return any(walk(item, (*done, i), tail) for i, item in enumerate(data))
        if isinstance(head, int) and isinstance(data, list) and head < len(data):
            return walk(data[head], (*done, head), tail)
        if isinstance(head, str) and head != "*" and isinstance(data, dict) and head in data:
            return walk(data[head], (*done, head), tail)
        best = doc.locate(done)
        return False

    walk(doc.data, (), parts)
    return best[0] if best else doc.start_line


def _matches(check: Check, doc: Document) -> bool:
    match = check.match
    if match is None:
        return True
    return (
        (match.kind is None or doc.kind == match.kind)
        and (match.name is None or doc.name == match.name)
        and (match.api_version is None or doc.api_version == match.api_version)
    )


class Grader:
    """Grades answers for one scenario. Build once, grade many times."""

    def __init__(
        self,
        scenario: Scenario,
        crd_dir: Path | None = None,
        schemas: SchemaValidator | None = None,
    ) -> None:
        self.scenario = scenario
        self.checks = [CompiledCheck(c) for c in scenario.checks]
        self.live_checks = [CompiledCheck(c) for c in scenario.live_checks]
        self.schemas = schemas or SchemaValidator(crd_dir)

    # -- parsing and validity -------------------------------------------------

    def validate(self, docs: Sequence[Document]) -> list[Diagnostic]:
        """Schema and API-server-rule diagnostics for parsed documents."""
        diagnostics: list[Diagnostic] = []
        for doc in docs:
            data = doc.data
            if data is None:
                continue
            if not isinstance(data, dict):
                shape = "a list" if isinstance(data, list) else f"a {type(data).__name__} scalar"
                diagnostics.append(
                    Diagnostic(
                        f"{doc.describe()}: a Kubernetes object is a mapping, not {shape}",
                        "schema",
                        doc.start_line,
                        1,
                    )
                )
                continue
            api_version, kind = data.get("apiVersion"), data.get("kind")
            missing = [k for k, v in (("apiVersion", api_version), ("kind", kind)) if not v]
            if missing:
                diagnostics.append(
                    Diagnostic(
                        f"{doc.describe()}: missing {' and '.join(missing)}; every object needs "
                        "apiVersion and kind",
                        "schema",
                        doc.start_line,
                        1,
                    )
                )
                continue
            if not isinstance(api_version, str) or not isinstance(kind, str):
                diagnostics.append(
                    Diagnostic(
                        f"{doc.describe()}: apiVersion and kind must be strings",
                        "schema",
                        doc.start_line,
                        1,
                    )
                )
                continue
            try:
                errors = list(self.schemas.validate(api_version, kind, data))
            except UnknownKind:
                known = versions_of_kind(kind)
                hint = (
                    f"; {kind} exists as {', '.join(known)}"
                    if known
                    else "; no such kind in Kubernetes 1.36 or in the course's CRDs"
                )
                line, column = doc.locate(("kind",) if not known else ("apiVersion",))
                diagnostics.append(
                    Diagnostic(f"unknown kind {api_version}/{kind}{hint}", "schema", line, column)
                )
                continue
            for error in errors:
                line, column = doc.locate(error.path)
                where = format_path(error.path)
                diagnostics.append(
                    Diagnostic(
                        f"{doc.describe()}: {where}: {error.message}"
                        if where
                        else f"{doc.describe()}: {error.message}",
                        "schema",
                        line,
                        column,
                    )
                )
            for rule in validate_object(data):
                line, column = doc.locate(rule.path)
                diagnostics.append(
                    Diagnostic(f"{doc.describe()}: {rule.message}", "validation", line, column)
                )
        return diagnostics

    # -- checks ---------------------------------------------------------------

    def run_checks(
        self,
        docs: Sequence[Document],
        compiled: Sequence[CompiledCheck],
        extra: dict[str, Any] | None = None,
    ) -> list[CheckResult]:
        objects = [d.data for d in docs if isinstance(d.data, dict)]
        scope = Scope({"objects": objects, "params": self.scenario.params, **(extra or {})})
        return [self._run_one(item, docs, scope) for item in compiled]

    def _run_one(self, item: CompiledCheck, docs: Sequence[Document], scope: Scope) -> CheckResult:
        check = item.check

        def result(status: str, message: str = "", line: int | None = None) -> CheckResult:
            return CheckResult(
                id=check.id,
                title=check.title,
                status=status,  # type: ignore[arg-type]
                points=check.points if status == "pass" else 0,
                max_points=check.points,
                concept=check.concept,
                message=message,
                line=line,
            )

        if item.program is None:
            return result("error", f"the check's CEL does not compile: {item.error}")
        if check.match is None:
            targets: list[Document | None] = [None]
        else:
            targets = [d for d in docs if isinstance(d.data, dict) and _matches(check, d)]
            if not targets:
                return result(
                    "fail", f"no {check.match.describe()} in your answer. {check.message}"
                )
        for doc in targets:
            line = field_line(doc, check.field) if doc is not None else self._any_line(docs, check)
            try:
                # `object` is rebound for every target; null for checks without match.
                value = item.program.evaluate_in(scope, object=doc.data if doc else None)
            except CelRuntimeError as exc:
                return result(
                    "error", f"could not evaluate `{check.expression.strip()}`: {exc}", line
                )
            if not isinstance(value, bool):
                return result(
                    "error",
                    f"the check's expression returned {humanize(value)}, not true or false",
                    line,
                )
            if not value:
                return result("fail", check.message, line)
        return result("pass")

    @staticmethod
    def _any_line(docs: Sequence[Document], check: Check) -> int | None:
        """Line of `field` for a check without `match`: the document that has the most of it."""
        if not check.field:
            return None
        parts = parse_path(check.field)
        best: tuple[int, int] | None = None  # (depth reached, line)
        for doc in docs:
            depth, data = 0, doc.data
            for part in parts:
                key = 0 if part == "*" else part
                in_list = isinstance(key, int) and isinstance(data, list) and key < len(data)
                in_map = isinstance(key, str) and isinstance(data, dict) and key in data
                if not (in_list or in_map):
                    break
                data = data[key]
                depth += 1
            if depth and (best is None or depth > best[0]):
                best = (depth, field_line(doc, check.field))
        return best[1] if best else None

    # -- whole answers --------------------------------------------------------

    def grade_text(self, text: str, file: str = "<answer>") -> Report:
        parsed = load_documents(text)
        report = Report(scenario=self.scenario.id, file=file, max_score=self.scenario.max_score)
        report.errors.extend(
            Diagnostic(p.message, "yaml", p.line, p.column) for p in parsed.problems
        )
        docs = [d for d in parsed.documents if d.data is not None]
        if not docs and not parsed.problems:
            report.errors.append(
                Diagnostic("the answer is empty: no YAML documents", "yaml", None, None)
            )
        report.errors.extend(self.validate(docs))
        if parsed.problems:
            reason = "fix the YAML syntax error first"
            report.checks = [
                CheckResult(
                    c.check.id, c.check.title, "skip", 0, c.check.points, c.check.concept, reason
                )
                for c in self.checks
            ]
        else:
            report.checks = self.run_checks(docs, self.checks)
        return report

    def grade_bytes(self, raw: bytes, file: str) -> Report:
        text, problem = decode(raw)
        if text is None:
            report = Report(scenario=self.scenario.id, file=file, max_score=self.scenario.max_score)
            if problem is not None:
                report.errors.append(
                    Diagnostic(problem.message, "yaml", problem.line, problem.column)
                )
            report.checks = [
                CheckResult(
                    c.check.id,
                    c.check.title,
                    "skip",
                    0,
                    c.check.points,
                    c.check.concept,
                    "the file could not be read as YAML",
                )
                for c in self.checks
            ]
            return report
        return self.grade_text(text, file)
