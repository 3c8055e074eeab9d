"""One check over an answer: its CEL compiled once (`CompiledCheck`), then run over
every document it matches, under the evaluation budget when a worker process guards
it, with the answer line its `field` points at. The `Grader` in `app.grading.engine`
decides which checks run where; this module runs one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from app.course.models import Check
from app.grading.celenv import (
    EVAL_BUDGET_SECONDS,
    RISKY_SECONDS,
    CelBudgetError,
    CelCompileError,
    CelRuntimeError,
    Program,
    Scope,
    humanize,
)
from app.grading.report import CheckResult
from app.yamlmap import Document, parse_path


class EvaluationGuard(Protocol):
    """Runs each CEL evaluation under the budget (the worker process provides one)."""

    def run(self, key: int, evaluate: Callable[[], Any], risky: bool) -> Any:
        """`evaluate()` for the check with this key; `risky`: it may well overrun."""
        ...


class CompiledCheck:
    """A check with its CEL compiled once (or the compile error, reported when it runs)."""

    def __init__(self, check: Check, key: int = 0) -> None:
        self.check = check
        self.key = key
        """This check's position among the grader's checks then live checks (the worker
        names the check it is evaluating by it)."""
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


def _evaluate(item: CompiledCheck, scope: Scope, bound: Any, guard: EvaluationGuard | None) -> Any:
    assert item.program is not None
    # Bound (and converted) before the guard: conversion is linear in the answer's
    # size, and the budget is for what the expression does.
    scope.bind_object(bound)
    problem = scope.prepare(item.program.names)
    if problem:
        raise CelRuntimeError(f"the answer holds a value CEL cannot represent: {problem}")
    program = item.program

    def evaluate() -> Any:
        return program.evaluate_in(scope, budget=EVAL_BUDGET_SECONDS)

    if guard is None:
        return evaluate()
    return guard.run(item.key, evaluate, risky=program.most_seconds(scope) > RISKY_SECONDS)


def run_check(
    item: CompiledCheck,
    docs: Sequence[Document],
    scope: Scope,
    guard: EvaluationGuard | None = None,
) -> CheckResult:
    """One check over an answer's documents: run once per matching document (or once
    without `match`), the first failure or error deciding; `guard` arms the budget."""
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
            return result("fail", f"no {check.match.describe()} in your answer. {check.message}")
    for doc in targets:
        line = field_line(doc, check.field) if doc is not None else _any_line(docs, check)
        try:
            # `object` is rebound for every target; null for checks without match.
            value = _evaluate(item, scope, doc.data if doc else None, guard)
        except CelBudgetError as exc:
            return result("error", f"the check's CEL {exc}", line)
        except CelRuntimeError as exc:
            return result("error", f"could not evaluate `{check.expression.strip()}`: {exc}", line)
        if not isinstance(value, bool):
            return result(
                "error",
                f"the check's expression returned {humanize(value)}, not true or false",
                line,
            )
        if not value:
            return result("fail", check.message, line)
    return result("pass")


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


def stopped_result(check: Check, why: str) -> CheckResult:
    return CheckResult(
        check.id,
        check.title,
        "error",
        0,
        check.points,
        check.concept,
        f"the check's CEL was stopped: it {why}. Checks must stay cheap: avoid nested "
        "comprehensions over large lists",
    )
