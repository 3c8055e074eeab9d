"""The grading engine: one answer text + one scenario -> a Report.

Every front end (the command line, the terminal app, an instructor's CI job)
calls `Grader.grade_text`, `grade_bytes` or `grade_many`, so all get the same
verdict. A `Grader` compiles the scenario's CEL once; re-grading is then a
parse, a schema pass and a few CEL evaluations (well under the 30 ms budget the
app needs to grade as the candidate types).

Nothing in here raises on any answer: a bad answer is a report, and an
unexpected exception inside the grader is an `internal` error entry in that
answer's report. By default the work runs in a worker process
(`app.grading.sandbox`) that stops any check's CEL after its evaluation budget;
`Grader(..., isolate=False)` grades in this process (the worker itself does).
Whether the documents are valid Kubernetes is `app.grading.validity`; running one
check over them is `app.grading.checks`.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.course.models import Scenario
from app.grading import sandbox
from app.grading.celenv import Scope
from app.grading.checks import CompiledCheck, EvaluationGuard, run_check, stopped_result
from app.grading.report import REPORT_BUGS, CheckResult, Diagnostic, Report
from app.grading.schema import SchemaValidator
from app.grading.validity import validate_documents
from app.yamlmap import Document, decode, load_documents

_TOKENS = itertools.count(1)


class Grader:
    """Grades answers for one scenario. Build once, grade many times."""

    def __init__(
        self,
        scenario: Scenario,
        crd_dir: Path | None = None,
        schemas: SchemaValidator | None = None,
        *,
        isolate: bool = True,
    ) -> None:
        self.scenario = scenario
        self.crd_dir = crd_dir
        self.checks = [CompiledCheck(c, i) for i, c in enumerate(scenario.checks)]
        self.schemas = schemas or SchemaValidator(crd_dir)
        self.isolate = isolate
        """Grade in a worker process with an evaluation budget (see app.grading.sandbox)."""
        self.token = next(_TOKENS)
        """Names this grader to the worker processes, which keep their own copy."""
        self.evaluation_guard: EvaluationGuard | None = None
        """Set by the worker process: arms the budget around each evaluation."""
        if isolate:
            sandbox.register(self)

    def worker_spec(self) -> Callable[[], Grader]:
        """How a worker process builds its own copy of this grader (picklable)."""
        return functools.partial(Grader, self.scenario, crd_dir=self.crd_dir, isolate=False)

    def internal_error_report(self, file: str, exc: BaseException | str) -> Report:
        """The report of an answer the grader itself failed on: one `internal` error, every
        check skipped, so a class's other answers are still graded."""
        reason = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        scenario = self.scenario
        report = Report(scenario=scenario.id, file=file, max_score=scenario.max_score)
        report.errors.append(
            Diagnostic(f"the grader failed on this answer ({reason}); {REPORT_BUGS}", "internal")
        )
        report.checks = [
            CheckResult(
                c.id, c.title, "skip", 0, c.points, c.concept, "not graded: the grader failed"
            )
            for c in scenario.checks
        ]
        return report

    def failed_checks(self, keys: Sequence[int], why: str) -> list[CheckResult]:
        """Every check in `keys` as an `error`: the grader failed to run them."""
        results = []
        for key in keys:
            item = self.check_by_key(key)
            if item is not None:
                check = item.check
                results.append(
                    CheckResult(
                        check.id,
                        check.title,
                        "error",
                        0,
                        check.points,
                        check.concept,
                        f"the grader failed ({why}); {REPORT_BUGS}",
                    )
                )
        return results

    @functools.cached_property
    def live_checks(self) -> list[CompiledCheck]:
        """Compiled on first use: offline grading never needs them."""
        first = len(self.checks)
        return [CompiledCheck(c, first + i) for i, c in enumerate(self.scenario.live_checks)]

    def check_by_key(self, key: int) -> CompiledCheck | None:
        if 0 <= key < len(self.checks):
            return self.checks[key]
        live = key - len(self.checks)
        return self.live_checks[live] if 0 <= live < len(self.scenario.live_checks) else None

    # -- parsing and validity -------------------------------------------------

    def validate(self, docs: Sequence[Document]) -> list[Diagnostic]:
        """Schema and API-server-rule diagnostics for parsed documents."""
        return validate_documents(docs, self.schemas)

    # -- checks ---------------------------------------------------------------

    def run_checks(
        self,
        docs: Sequence[Document],
        compiled: Sequence[CompiledCheck],
        extra: dict[str, Any] | None = None,
    ) -> list[CheckResult]:
        """Run `compiled` (some of this grader's checks or live checks) over `docs`."""
        if self.isolate:
            return sandbox.run_checks(self, docs, [c.key for c in compiled], extra)
        return self.run_checks_here(docs, [c.key for c in compiled], extra)

    def run_checks_here(
        self,
        docs: Sequence[Document],
        keys: Sequence[int],
        extra: dict[str, Any] | None = None,
        over_budget: Mapping[int, str] | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[CheckResult]:
        """`run_checks` in this process. `over_budget`: check key -> why it was stopped
        in an earlier try (it is reported as an error, not evaluated again)."""
        objects = [d.data for d in docs if isinstance(d.data, dict)]
        scope = Scope({"objects": objects, "params": self.scenario.params, **(extra or {})})
        results = []
        for key in keys:
            item = self.check_by_key(key)
            if item is None:
                continue
            stopped = (over_budget or {}).get(key)
            if stopped is not None:
                results.append(stopped_result(item.check, stopped))
                continue
            started = time.perf_counter()
            try:
                results.append(run_check(item, docs, scope, self.evaluation_guard))
            except Exception as exc:  # noqa: BLE001 - one check's bug must not sink the report
                results.append(
                    CheckResult(
                        item.check.id,
                        item.check.title,
                        "error",
                        0,
                        item.check.points,
                        item.check.concept,
                        f"the grader failed on this check ({type(exc).__name__}: {exc}); "
                        f"{REPORT_BUGS}",
                    )
                )
            if timings is not None:
                timings[item.check.id] = time.perf_counter() - started
        return results

    # -- whole answers --------------------------------------------------------

    def grade_text(self, text: str, file: str = "<answer>") -> Report:
        if self.isolate:
            return sandbox.grade(self, text, file)
        return self.grade_text_here(text, file)

    def grade_bytes(self, raw: bytes, file: str) -> Report:
        if self.isolate:
            return sandbox.grade(self, raw, file)
        return self.grade_bytes_here(raw, file)

    def grade_many(
        self, answers: Iterable[tuple[bytes | str | Report, str]], jobs: int | None = None
    ) -> Iterator[Report]:
        """Grade (content, file name) pairs on `jobs` worker processes (default: one per
        core), yielding reports in input order as soon as each is ready. A Report given
        as the content (a file that could not be read, say) is passed through in place."""
        if self.isolate:
            yield from sandbox.grade_many(self, answers, jobs)
            return
        for content, file in answers:
            yield (
                content if isinstance(content, Report) else self.grade_anything_here(content, file)
            )

    def grade_anything_here(
        self,
        content: bytes | str,
        file: str,
        over_budget: Mapping[int, str] | None = None,
    ) -> Report:
        """Grade text or bytes in this process; never raises (an unexpected exception is
        an `internal` error in the report)."""
        try:
            if isinstance(content, bytes):
                return self.grade_bytes_here(content, file, over_budget)
            return self.grade_text_here(content, file, over_budget)
        except Exception as exc:  # noqa: BLE001 - the contract: a report for every answer
            return self.internal_error_report(file, exc)

    def grade_text_here(
        self, text: str, file: str = "<answer>", over_budget: Mapping[int, str] | None = None
    ) -> Report:
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
            reason = "fix the YAML error first"
            report.checks = [
                CheckResult(
                    c.check.id, c.check.title, "skip", 0, c.check.points, c.check.concept, reason
                )
                for c in self.checks
            ]
        else:
            report.checks = self.run_checks_here(
                docs, [c.key for c in self.checks], over_budget=over_budget, timings=report.timings
            )
        return report

    def grade_bytes_here(
        self, raw: bytes, file: str, over_budget: Mapping[int, str] | None = None
    ) -> Report:
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
        return self.grade_text_here(text, file, over_budget)
