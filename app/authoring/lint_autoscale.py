"""Lint for a scenario's autoscaling parts: the `autoscale:` block and `autoscaleChecks`.

`kprep scenarios lint` calls `lint_autoscale` for every scenario. It reads the
block as `kprep autoscale` would, compiles the checks, and runs the simulator:
the reference answer and every variant must run (every metric served) and pass
every check, and each check must fail on each of its wrong answers. Runs are
simulated twice, in real time and at the scenario's live lab-time factor, so a
check that passes only at one clock (a threshold on the edge of a sync) is
caught here rather than on the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.authoring.patch import PatchError, apply_patch
from app.authoring.problems import LintProblem
from app.autoscale.load import LoadFileError
from app.autoscale.runs import RunRefused, prepare, scenario_setup, simulate_run
from app.course.models import Check, Scenario
from app.grading.autoscale_checks import AutoscaleGrader
from app.grading.report import CheckResult

Finding = tuple[str, Path | None, int | None]
"""(message, file, line): a lint problem, before `app.authoring.lint` wraps it."""
RunChecks = Callable[[str, str, str, float], "list[CheckResult] | str"]
"""(answer text, file, load, timeScale) -> the checks' results, or why it could not run."""


def autoscale_problems(scenario: Scenario) -> list[LintProblem]:
    """`lint_autoscale`'s findings as `kprep scenarios lint` reports them."""
    return [
        LintProblem(scenario.id, message, path or scenario.source, line)
        for message, path, line in lint_autoscale(scenario)
    ]


def lint_autoscale(scenario: Scenario) -> list[Finding]:
    if scenario.autoscale is None:
        return []
    found: list[Finding] = []
    try:
        setup = scenario_setup(scenario)
    except RunRefused as exc:
        return [(f"autoscale block: {m}", scenario.source, None) for m in exc.messages]
    grader = AutoscaleGrader(scenario.autoscale_checks)
    for check_id, error in grader.compile_errors.items():
        check = next(c for c in grader.checks if c.id == check_id)
        found.append(
            (f"check {check_id!r}: CEL does not compile: {error}", None, check.source_line)
        )
    scales = sorted({1.0, float(setup.time_scale)})
    loads = sorted({c.load or setup.load for c in grader.checks} or {setup.load})

    def run_checks(text: str, file: str, load: str, scale: float) -> list[CheckResult] | str:
        """The checks of `load` on one simulated run, or why it could not run."""
        try:
            prepared = prepare(scenario, text, file, load)
            run = simulate_run(prepared, time_scale=scale)
        except (RunRefused, LoadFileError) as exc:
            return "; ".join(exc.messages)
        if prepared.unserved:
            return "; ".join(prepared.unserved)
        return grader.grade_run(
            run.as_json(),
            scenario.params,
            builtin_load=load,
            default_load=setup.load,
            documents=prepared.documents,
            hpa_index=prepared.hpa_index,
        )

    if not scenario.answer_path.is_file():
        return found  # the main lint reports the missing answer
    answer = scenario.answer_text()
    for path in (scenario.answer_path, *scenario.variants):
        text = answer if path == scenario.answer_path else path.read_text(encoding="utf-8")
        for load in loads:
            for scale in scales:
                outcome = run_checks(text, str(path), load, scale)
                if isinstance(outcome, str):
                    found.append((f"the answer cannot run under {load}: {outcome}", path, None))
                    continue
                for result in outcome:
                    if result.status not in ("pass", "skip"):
                        found.append(
                            (
                                f"answer fails autoscale check {result.id!r} ({result.status}) "
                                f"under {load} at timeScale {scale:g}: {result.message}",
                                path,
                                result.line,
                            )
                        )
    for check in grader.checks:
        found += _wrong_answers(scenario, check, answer, setup.load, scales, run_checks)
    return found


def _wrong_answers(
    scenario: Scenario,
    check: Check,
    answer: str,
    default_load: str,
    scales: list[float],
    run_checks: RunChecks,
) -> list[Finding]:
    found: list[Finding] = []
    if not check.wrong_answers:
        found.append(
            (
                f"autoscale check {check.id!r} has no wrongAnswers: nothing shows it can fail",
                None,
                check.source_line,
            )
        )
    load = check.load or default_load
    for wrong in check.wrong_answers:
        try:
            text = apply_patch(answer, wrong.patch)
        except PatchError as exc:
            found.append(
                (
                    f"autoscale check {check.id!r}, wrong answer {wrong.name!r}: patch does "
                    f"not apply: {exc}",
                    None,
                    check.source_line,
                )
            )
            continue
        for scale in scales:
            outcome = run_checks(text, f"{scenario.id}:{wrong.name}", load, scale)
            if isinstance(outcome, str):
                found.append(
                    (
                        f"autoscale check {check.id!r}, wrong answer {wrong.name!r} cannot run "
                        f"(a wrong answer must run and fail the check): {outcome}",
                        None,
                        check.source_line,
                    )
                )
                break
            status = next((r.status for r in outcome if r.id == check.id), "missing")
            if status != "fail":
                found.append(
                    (
                        f"autoscale check {check.id!r} does not fail on its wrong answer "
                        f"{wrong.name!r} at timeScale {scale:g} (status {status})",
                        None,
                        check.source_line,
                    )
                )
    return found
