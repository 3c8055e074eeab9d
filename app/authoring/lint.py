"""`kprep scenarios lint`: the instructors' gate for course content.

For every scenario: the file is schema-valid (loader), every check's CEL
compiles, the lesson link names a section of its lesson and that section cites
its source (a `Sources:` line or links), the profile of live checks exists, the reference
answer and explanation exist and the answer passes every check with no errors,
every listed variant passes too and at least one is written differently from
the reference, the starter fails at least one check, there are hints and at
least `MIN_FOLLOW_UPS` follow-ups, at least `MIN_CHECKS` checks, each naming a
wrong answer that it fails (no vacuous check; a patch that does not apply, or a
wrong answer on which the check errors, is reported with the reason), each
check's `field:` exists in the reference answer, no scaffold `TODO` is left in
the text a candidate reads, and no file the course reads leaves the course
folder (symlinks resolved). Every check runs under the evaluation budget; the
slowest is reported. A malformed pack gives messages, never a traceback.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.authoring.lint_autoscale import autoscale_problems
from app.authoring.patch import PatchError, apply_patch
from app.authoring.problems import LintProblem
from app.course.catalog import CATALOG_FILE
from app.course.loader import Course, CourseError, inside, read_course_text
from app.course.models import Check, Lesson, Scenario
from app.grading.engine import Grader
from app.grading.report import Report
from app.yamlmap import Document, load_documents, parse_path

MIN_CHECKS = 4
MIN_FOLLOW_UPS = 3
_TODO = re.compile(r"\bTODO\b")
_SOURCES_LINE = re.compile(r"^\W*sources?\W*:", re.IGNORECASE | re.MULTILINE)
_LINK = re.compile(r"\]\((https?://[^)\s]+)\)|<https?://[^>\s]+>|\bhttps?://\S+")
SLOW_SECONDS = 0.1
"""A check slower than this on the reference answer is named in lint's output."""


@dataclass
class LintResult:
    scenarios: list[str] = field(default_factory=list)
    problems: list[LintProblem] = field(default_factory=list)
    slowest: list[tuple[float, str, str]] = field(default_factory=list)
    """(seconds, scenario, check) of the slowest check evaluations, slowest first."""

    @property
    def ok(self) -> bool:
        return not self.problems


def section_text(lesson: Lesson, slug: str) -> str | None:
    """A section's lines: its heading to the next heading of the same or a higher level."""
    section = lesson.section(slug)
    if section is None:
        return None
    later = [s.line for s in lesson.sections if s.line > section.line and s.level <= section.level]
    lines = lesson.text.splitlines()
    end = min(later) - 1 if later else len(lines)
    return "\n".join(lines[section.line - 1 : end])


def cites_a_source(text: str) -> bool:
    return bool(_SOURCES_LINE.search(text) or _LINK.search(text))


def section_cites_a_source(lesson: Lesson, slug: str) -> bool:
    """The section, or a section that contains it (below the lesson's title), has a
    `Sources:` line or links: a subsection shares its parent's sources."""
    section = lesson.section(slug)
    while section is not None:
        text = section_text(lesson, section.slug)
        if text is not None and cites_a_source(text):
            return True
        parents = [
            s for s in lesson.sections if s.line < section.line and 2 <= s.level < section.level
        ]
        section = parents[-1] if parents else None
    return False


def _todo_fields(scenario: Scenario) -> Iterator[tuple[str, str]]:
    """(where, text) of everything a candidate reads in scenario.yaml."""
    yield "title", scenario.title
    yield "prompt", scenario.prompt
    for number, hint in enumerate(scenario.hints, 1):
        yield f"hint {number}", hint.text
    for check in (*scenario.checks, *scenario.live_checks):
        yield f"check {check.id!r} title", check.title
        yield f"check {check.id!r} message", check.message
    for number, follow_up in enumerate(scenario.follow_ups, 1):
        yield f"follow-up {number} question", follow_up.question
        for point in follow_up.key_points:
            yield f"follow-up {number} key point", point
        yield f"follow-up {number} model answer", follow_up.model_answer


def _path_exists(data: Any, parts: list[str | int]) -> bool:
    """Whether `parts` (with `*` for any list item) leads somewhere in `data`."""
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    if head == "*":
        return isinstance(data, list) and any(_path_exists(item, rest) for item in data)
    if isinstance(head, int):
        return isinstance(data, list) and head < len(data) and _path_exists(data[head], rest)
    return isinstance(data, dict) and head in data and _path_exists(data[head], rest)


def _same_documents(first: str, second: str) -> bool:
    """The two YAML texts hold the same objects (comments, order of keys and spacing aside)."""
    one, two = load_documents(first), load_documents(second)
    if one.problems or two.problems:
        return False
    return [d.data for d in one.documents] == [d.data for d in two.documents]


def _explain(report: Report, check_id: str) -> str:
    """Why a check did not fail on a wrong answer: its own message, or the answer's errors."""
    outcome = next((r for r in report.checks if r.id == check_id), None)
    if outcome is None:
        return "the check is missing from the report"
    reason = f"status {outcome.status}"
    if outcome.status in ("error", "skip") and outcome.message:
        reason += f": {outcome.message}"
    blocking = [e for e in report.errors if e.source in ("yaml", "internal")]
    if blocking:
        reason += f"; the patched answer has a {blocking[0].source} error: {blocking[0].message}"
    return reason


def lint_scenario(
    course: Course,
    scenario: Scenario,
    grader: Grader | None = None,
    timings: list[tuple[float, str, str]] | None = None,
) -> list[LintProblem]:
    problems: list[LintProblem] = []
    root = course.root

    def problem(message: str, path: Path | None = None, line: int | None = None) -> None:
        problems.append(LintProblem(scenario.id, message, path or scenario.source, line))

    def readable(path: Path, what: str) -> str | None:
        """The file's text, or None after reporting why it cannot be used."""
        try:
            return read_course_text(path, root)
        except CourseError as exc:
            problem(f"{what}: {exc.detail}", path, exc.line)
            return None

    grader = grader or Grader(scenario, crd_dir=course.crd_dir)
    for compiled in (*grader.checks, *grader.live_checks):
        if compiled.program is None:
            problem(
                f"check {compiled.check.id!r}: CEL does not compile: {compiled.error}",
                line=compiled.check.source_line,
            )
    for where, shown in _todo_fields(scenario):
        if _TODO.search(shown):
            problem(f"{where} still holds a scaffold TODO placeholder")
    _lint_lesson_link(course, scenario, problem)
    profiles = course.root / "profiles"
    if scenario.live_checks and not (profiles / f"{scenario.profile}.yaml").is_file():
        known = sorted(p.stem for p in profiles.glob("*.yaml")) if profiles.is_dir() else []
        problem(
            f"profile {scenario.profile!r} is not in {profiles} "
            f"(known: {', '.join(known) or 'none'})"
        )
    if not scenario.hints:
        problem("no hints")
    if len(scenario.follow_ups) < MIN_FOLLOW_UPS:
        problem(
            f"{len(scenario.follow_ups)} follow-up question(s); at least {MIN_FOLLOW_UPS} "
            "give the candidate what the interviewer asks next"
        )
    if len(scenario.checks) < MIN_CHECKS:
        problem(f"{len(scenario.checks)} check(s); a scenario needs at least {MIN_CHECKS}")
    if not scenario.starter_path.is_file():
        problem(f"starter file {scenario.starter_name} is missing")
    else:
        starter_text = readable(scenario.starter_path, "starter")
        if starter_text is not None:
            if "TODO" not in starter_text:
                problem("the starter has no TODO marker", scenario.starter_path)
            report = grader.grade_text(starter_text, str(scenario.starter_path))
            if report.passed:
                problem("the starter already passes every check", scenario.starter_path)
    if not scenario.explanation_path.is_file():
        problem("answers/<id>/explanation.md is missing", scenario.explanation_path)
    else:
        explanation = readable(scenario.explanation_path, "explanation")
        if explanation is not None and _TODO.search(explanation):
            problem(
                "the explanation still holds a scaffold TODO placeholder",
                scenario.explanation_path,
            )
    if not scenario.answer_path.is_file():
        problem("answers/<id>/answer.yaml is missing", scenario.answer_path)
        return problems
    answer = readable(scenario.answer_path, "reference answer")
    if answer is None:
        return problems
    variants: list[tuple[Path, str]] = []
    for path in scenario.variants:
        text = readable(path, "variant")
        if text is not None:
            variants.append((path, text))
    for path, text in [(scenario.answer_path, answer), *variants]:
        report = grader.grade_text(text, str(path))
        if path == scenario.answer_path and timings is not None:
            timings.extend(
                (seconds, scenario.id, check) for check, seconds in report.timings.items()
            )
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
    if not any(not _same_documents(answer, text) for _, text in variants):
        problem(
            "no accepted variant written differently from the reference answer: add "
            "answers/<id>/variants/*.yaml with another correct design the prompt allows",
            scenario.answer_path,
        )
    _lint_fields(scenario, answer, problem)
    _lint_wrong_answers(scenario, grader, answer, problem)
    return problems + autoscale_problems(scenario)


def _lint_lesson_link(course: Course, scenario: Scenario, problem: Any) -> None:
    try:
        lesson = course.lesson(scenario.lesson_track)
    except KeyError:
        problem(f"lesson link {scenario.lesson!r}: no lessons/{scenario.lesson_track}.md")
        return
    except CourseError as exc:
        problem(f"lesson link {scenario.lesson!r}: {exc}")
        return
    if not scenario.lesson_section:
        problem(
            f"lesson link {scenario.lesson!r} names no section: link the section that "
            "teaches this scenario (track#section)"
        )
        return
    text = section_text(lesson, scenario.lesson_section)
    if text is None:
        problem(
            f"lesson link {scenario.lesson!r}: no section "
            f"{scenario.lesson_section!r} in {lesson.path.name}"
        )
    elif not section_cites_a_source(lesson, scenario.lesson_section):
        problem(
            f"lesson section {scenario.lesson!r} cites no source: add a `Sources:` line "
            "or links to the documentation it rests on",
            lesson.path,
            lesson.section(scenario.lesson_section).line,  # type: ignore[union-attr]
        )


def _matching(docs: list[Document], check: Check) -> list[Document]:
    match = check.match
    return [
        d
        for d in docs
        if isinstance(d.data, dict)
        and (
            match is None
            or (
                (match.kind is None or d.kind == match.kind)
                and (match.name is None or d.name == match.name)
                and (match.api_version is None or d.api_version == match.api_version)
            )
        )
    ]


def _lint_fields(scenario: Scenario, answer: str, problem: Any) -> None:
    """Each check's `field:` (the line its report points at) exists in the reference
    answer, or, for a check that accepts the field's absence, in one of its wrong
    answers: a path found in neither is a typo."""
    docs = load_documents(answer).documents
    for check in (*scenario.checks, *scenario.live_checks):
        if not check.field:
            continue
        parts = parse_path(check.field)
        if any(_path_exists(d.data, parts) for d in _matching(docs, check)):
            continue
        in_a_wrong_answer = False
        for wrong in check.wrong_answers:
            try:
                wrong_docs = load_documents(apply_patch(answer, wrong.patch)).documents
            except PatchError:
                continue  # reported with the wrong answers
            if any(_path_exists(d.data, parts) for d in _matching(wrong_docs, check)):
                in_a_wrong_answer = True
                break
        if not in_a_wrong_answer:
            problem(
                f"check {check.id!r}: field {check.field!r} does not exist in the reference "
                "answer (nor in any of its wrong answers), so its report would point at the "
                "wrong line",
                line=check.source_line,
            )


def _lint_wrong_answers(scenario: Scenario, grader: Grader, answer: str, problem: Any) -> None:
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
                problem(
                    f"check {check.id!r} does not fail on its wrong answer {wrong.name!r} "
                    f"({_explain(report, check.id)}); see it with `kprep scenarios show-wrong "
                    f"{scenario.id} {check.id}`",
                    line=check.source_line,
                )


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
        if variants.exists() and not variants.is_dir():
            problems.append(
                LintProblem(scenario.id, "variants must be a folder of *.yaml files", variants)
            )
        for path in sorted(variants.iterdir()) if variants.is_dir() else []:
            if path.suffix != ".yaml":
                problems.append(
                    LintProblem(
                        scenario.id, f"stray file {path.name!r}: variants are *.yaml files", path
                    )
                )
    return problems


def escaping_paths(course: Course) -> list[LintProblem]:
    """Every file or folder the course reads that resolves outside the course folder."""
    root = course.root
    candidates: list[Path] = [root / CATALOG_FILE]
    for folder in ("lessons", "profiles", "crds", "scenarios", "answers"):
        base = root / folder
        candidates.append(base)
        if base.is_dir() and inside(base, root):
            candidates += sorted(base.rglob("*"))
    with contextlib.suppress(CourseError):
        candidates += [root / t.lesson for t in course.catalog.tracks]
    found = []
    seen: set[Path] = set()
    for path in candidates:
        if path in seen or not (path.exists() or path.is_symlink()):
            continue
        seen.add(path)
        if not inside(path, root):
            try:
                target = str(path.resolve())
            except (OSError, RuntimeError):
                target = "a symlink loop"
            found.append(
                LintProblem("(course)", f"leaves the course folder (it resolves to {target})", path)
            )
    return found


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
    result.problems.extend(escaping_paths(course))
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
    timings: list[tuple[float, str, str]] = []
    for scenario in scenarios:
        result.scenarios.append(scenario.id)
        try:
            result.problems.extend(stray_files(course, scenario))
            result.problems.extend(lint_scenario(course, scenario, timings=timings))
        except (CourseError, OSError) as exc:
            result.problems.append(LintProblem(scenario.id, str(exc)))
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the rest
            result.problems.append(
                LintProblem(
                    scenario.id,
                    f"lint failed on this scenario ({type(exc).__name__}: {exc}); a kprep bug: "
                    "please report it",
                    scenario.source,
                )
            )
    result.slowest = sorted(timings, reverse=True)[:3]
    if not scenarios and not errors:
        result.problems.append(
            LintProblem("(course)", f"no scenarios under {course.scenarios_dir}")
        )
    return result
