"""`kprep scenarios lint`: the instructors' gate for course content.

For every scenario: the file is schema-valid (loader), every check's CEL
compiles, the lesson link resolves, the reference answer and explanation exist
and the answer passes every check with no errors, every listed variant passes
too, the starter fails at least one check, there are hints and follow-ups, and
every check names at least one wrong answer that it fails (no vacuous check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.authoring.lint_autoscale import lint_autoscale
from app.authoring.patch import PatchError, apply_patch
from app.course.catalog import CATALOG_FILE
from app.course.loader import Course, CourseError
from app.course.models import Scenario
from app.grading.engine import Grader


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


@dataclass
class LintResult:
    scenarios: list[str] = field(default_factory=list)
    problems: list[LintProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def lint_scenario(
    course: Course, scenario: Scenario, grader: Grader | None = None
) -> list[LintProblem]:
    problems: list[LintProblem] = []

    def problem(message: str, path: Path | None = None, line: int | None = None) -> None:
        problems.append(LintProblem(scenario.id, message, path or scenario.source, line))

    grader = grader or Grader(scenario, crd_dir=course.crd_dir)
    for compiled in (*grader.checks, *grader.live_checks):
        if compiled.program is None:
            problem(
                f"check {compiled.check.id!r}: CEL does not compile: {compiled.error}",
                line=compiled.check.source_line,
            )
    try:
        lesson = course.lesson(scenario.lesson_track)
        if scenario.lesson_section and lesson.section(scenario.lesson_section) is None:
            problem(
                f"lesson link {scenario.lesson!r}: no section "
                f"{scenario.lesson_section!r} in {lesson.path.name}"
            )
    except KeyError:
        problem(f"lesson link {scenario.lesson!r}: no lessons/{scenario.lesson_track}.md")
    if not scenario.hints:
        problem("no hints")
    if not scenario.follow_ups:
        problem("no follow-up questions")
    if not scenario.starter_path.is_file():
        problem(f"starter file {scenario.starter_name} is missing")
    else:
        starter_text = scenario.starter_text()
        if "TODO" not in starter_text:
            problem("the starter has no TODO marker", scenario.starter_path)
        report = grader.grade_text(starter_text, str(scenario.starter_path))
        if report.passed:
            problem("the starter already passes every check", scenario.starter_path)
    if not scenario.explanation_path.is_file():
        problem("answers/<id>/explanation.md is missing", scenario.explanation_path)
    if not scenario.answer_path.is_file():
        problem("answers/<id>/answer.yaml is missing", scenario.answer_path)
        return problems
    answer = scenario.answer_text()
    for path, text in [
        (scenario.answer_path, answer),
        *((p, p.read_text(encoding="utf-8")) for p in scenario.variants),
    ]:
        report = grader.grade_text(text, str(path))
        for error in report.errors:
            problem(
                f"reference answer has a {error.source} error: {error.message}", path, error.line
            )
        for result in report.checks:
            if result.status != "pass":
                problem(
                    f"reference answer fails check {result.id!r} ({result.status}): "
                    f"{result.message}",
                    path,
                    result.line,
                )
    for compiled in grader.checks:
        check = compiled.check
        if not check.wrong_answers:
            problem(
                f"check {check.id!r} has no wrongAnswers: nothing shows it can fail",
                line=check.source_line,
            )
        for wrong in check.wrong_answers:
            try:
                text = apply_patch(answer, wrong.patch)
            except PatchError as exc:
                problem(
                    f"check {check.id!r}, wrong answer {wrong.name!r}: patch does not apply: {exc}",
                    line=check.source_line,
                )
                continue
            report = grader.grade_text(text, f"{scenario.id}:{wrong.name}")
            outcome = next((r for r in report.checks if r.id == check.id), None)
            if outcome is None or outcome.status != "fail":
                status = outcome.status if outcome else "missing"
                problem(
                    f"check {check.id!r} does not fail on its wrong answer {wrong.name!r} "
                    f"(status {status})",
                    line=check.source_line,
                )
    for message, where, line in lint_autoscale(scenario):
        problem(message, where, line)
    return problems


SCENARIO_FILES = ("scenario.yaml",)
"""Besides the starter it names, what a scenario folder may hold."""
ANSWER_FILES = ("answer.yaml", "explanation.md", "variants")
"""What an answer folder may hold (variants/ holds *.yaml)."""


def stray_files(course: Course, scenario: Scenario) -> list[LintProblem]:
    """Files a scenario's folders hold that kprep never reads (a `starter.yml` typo, say)."""
    problems = []
    expected = {*SCENARIO_FILES, scenario.starter_name}
    for path in sorted(scenario.folder.iterdir()):
        if path.name not in expected:
            problems.append(
                LintProblem(scenario.id, f"stray file {path.name!r}: kprep never reads it", path)
            )
    if scenario.answer_folder.is_dir():
        for path in sorted(scenario.answer_folder.iterdir()):
            if path.name not in ANSWER_FILES:
                problems.append(
                    LintProblem(
                        scenario.id, f"stray file {path.name!r}: kprep never reads it", path
                    )
                )
        variants = scenario.answer_folder / "variants"
        for path in sorted(variants.iterdir()) if variants.is_dir() else []:
            if path.suffix != ".yaml":
                problems.append(
                    LintProblem(
                        scenario.id, f"stray file {path.name!r}: variants are *.yaml files", path
                    )
                )
    return problems


def lint_catalog(course: Course) -> list[LintProblem]:
    """course.yaml exists and parses; every track has its lesson."""
    try:
        catalog = course.catalog
    except CourseError as exc:
        return [LintProblem("(course)", exc.detail, exc.path, exc.line)]
    if catalog.path is None:
        return [
            LintProblem(
                "(course)",
                f"no {CATALOG_FILE}: add one with format_version and the tracks "
                "(tracks are derived from lessons/ until then)",
                course.root / CATALOG_FILE,
            )
        ]
    return [
        LintProblem("(course)", f"track {t.id!r}: lesson {t.lesson} is missing", catalog.path)
        for t in catalog.tracks
        if not (course.root / t.lesson).is_file()
    ]


def _catalog_broken(course: Course) -> bool:
    try:
        course.catalog  # noqa: B018 - loading it is the test
    except CourseError:
        return True
    return False


def lint_course(course: Course) -> LintResult:
    result = LintResult()
    result.problems.extend(lint_catalog(course))
    if _catalog_broken(course):
        return result  # every scenario names a track: nothing else can be checked
    scenarios, errors = course.load_all()
    for error in errors:
        result.problems.append(
            LintProblem(error.path.parent.name, error.detail, error.path, error.line)
        )
    answers_dir = course.root / "answers"
    known = {s.id for s in scenarios} | {e.path.parent.name for e in errors}
    if answers_dir.is_dir():
        for folder in sorted(answers_dir.iterdir()):
            if folder.is_dir() and folder.name not in known:
                result.problems.append(
                    LintProblem(folder.name, "answer folder without a scenario", folder)
                )
    for scenario in scenarios:
        result.scenarios.append(scenario.id)
        try:
            result.problems.extend(stray_files(course, scenario))
            result.problems.extend(lint_scenario(course, scenario))
        except (CourseError, OSError) as exc:
            result.problems.append(LintProblem(scenario.id, str(exc)))
    if not scenarios and not errors:
        result.problems.append(
            LintProblem("(course)", f"no scenarios under {course.scenarios_dir}")
        )
    return result
