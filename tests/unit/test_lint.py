"""Lint catches each kind of broken scenario (on a copy of the course)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.authoring.lint import lint_course
from app.course.loader import Course, CourseError
from tests.conftest import REPO
from tests.inprocess import run_kprep


@pytest.fixture
def mini_course(tmp_path: Path) -> Path:
    for folder in ("lessons", "profiles", "crds"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    shutil.copy(REPO / "course.yaml", tmp_path / "course.yaml")
    shutil.copytree(REPO / "scenarios/gpu-limits", tmp_path / "scenarios/gpu-limits")
    shutil.copytree(REPO / "answers/gpu-limits", tmp_path / "answers/gpu-limits")
    return tmp_path


def edit_scenario(root: Path, change) -> None:
    path = root / "scenarios/gpu-limits/scenario.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def problems(root: Path) -> list[str]:
    return [str(p) for p in lint_course(Course(root)).problems]


def test_clean_copy_is_clean(mini_course):
    assert problems(mini_course) == []


def test_vacuous_check_is_caught(mini_course):
    def weaken(data):
        data["checks"][0]["expression"] = "true"

    edit_scenario(mini_course, weaken)
    found = problems(mini_course)
    assert any("does not fail on its wrong answer" in p for p in found)


def test_check_without_wrong_answers_is_caught(mini_course):
    edit_scenario(mini_course, lambda d: d["checks"][1].pop("wrongAnswers"))
    assert any("has no wrongAnswers" in p for p in problems(mini_course))


def test_bad_cel_broken_lesson_link_and_failing_reference(mini_course):
    def breakit(data):
        data["checks"][0]["expression"] = "podSpec(object).("
        data["lesson"] = "serving#no-such-section"
        data["checks"][1]["expression"] = "false"

    edit_scenario(mini_course, breakit)
    found = "\n".join(problems(mini_course))
    assert "CEL does not compile" in found
    assert "no section 'no-such-section'" in found
    assert "reference answer fails check 'one-whole-gpu'" in found


def test_starter_that_passes_is_caught(mini_course):
    shutil.copy(
        mini_course / "answers/gpu-limits/answer.yaml",
        mini_course / "scenarios/gpu-limits/starter.yaml",
    )
    with open(mini_course / "scenarios/gpu-limits/starter.yaml", "a") as handle:
        handle.write("# TODO nothing\n")
    assert any("starter already passes" in p for p in problems(mini_course))


def test_schema_errors_name_file_line_and_field(mini_course):
    edit_scenario(mini_course, lambda d: d.update(difficulty="impossible"))
    with pytest.raises(CourseError) as info:
        Course(mini_course).scenario("gpu-limits")
    assert "scenario.yaml:" in str(info.value) and "difficulty" in str(info.value)
    assert any("difficulty" in p for p in problems(mini_course))


def test_new_scaffold_is_flagged_until_filled(mini_course):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--course",
            str(mini_course),
            "scenarios",
            "new",
            "my-drill",
            "--track",
            "serving",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert (mini_course / "answers/my-drill/explanation.md").is_file()
    lint = subprocess.run(
        [sys.executable, "-m", "app", "scenarios", "lint", "--course", str(mini_course)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert lint.returncode == 1
    assert "my-drill" in lint.stdout


# -- issue 11: lint guards the course, whatever the pack holds ---------------------------


def lint_cli(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`kprep scenarios lint`, in this process (the scaffold test above runs the process)."""
    return run_kprep("scenarios", "lint", "--course", str(root), *extra, cwd=REPO)


def test_scaffold_placeholders_are_each_named(mini_course):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--course",
            str(mini_course),
            "scenarios",
            "new",
            "todo-drill",
            "--track",
            "serving",
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    found = "\n".join(p for p in problems(mini_course) if "todo-drill" in p)
    for where in ("title", "prompt", "hint 1", "follow-up 1 key point", "model answer"):
        assert f"{where} still holds a scaffold TODO" in found, where
    assert "explanation still holds a scaffold TODO" in found
    assert "at least 4" in found and "at least 3" in found


def test_a_patch_that_indexes_past_a_list_is_a_message(mini_course):
    def past_the_end(data):
        data["checks"][0]["wrongAnswers"][0]["patch"] = [
            {"op": "set", "path": "spec.template.spec.containers[5].image", "value": "x"}
        ]

    edit_scenario(mini_course, past_the_end)
    found = "\n".join(problems(mini_course))
    assert "patch does not apply" in found and "past the end of a list of 1" in found


def test_a_wrong_answer_on_which_the_check_errors_gives_the_reason(mini_course):
    def erroring(data):
        data["checks"][0]["expression"] = (
            "podSpec(object).containers.all(c, c.resources.limits['nvidia.com/gpu'] == 1)"
        )

    edit_scenario(mini_course, erroring)
    found = "\n".join(problems(mini_course))
    assert "does not fail on its wrong answer 'GPU only in requests' (status error: " in found
    assert "no such key" in found
    assert "kprep scenarios show-wrong gpu-limits gpu-in-limits" in found


def test_a_field_path_that_exists_nowhere_is_flagged(mini_course):
    edit_scenario(
        mini_course, lambda d: d["checks"][0].update(field="spec.template.spec.contianers")
    )
    found = "\n".join(problems(mini_course))
    assert "field 'spec.template.spec.contianers' does not exist" in found


def test_an_unknown_profile_is_flagged(mini_course):
    edit_scenario(mini_course, lambda d: d.update(profile="no-such-profile"))
    assert any("profile 'no-such-profile' is not in" in p for p in problems(mini_course))


@pytest.mark.parametrize(
    "field,value",
    [
        ("profile", "/etc/passwd"),
        ("profile", "../../x"),
        ("starter", "../../../etc/passwd"),
        ("starter", "/etc/passwd"),
    ],
)
def test_starter_and_profile_cannot_name_a_path(mini_course, field, value):
    edit_scenario(mini_course, lambda d: d.update({field: value}))
    with pytest.raises(CourseError, match=field):
        Course(mini_course).scenario("gpu-limits")
    assert any(field in p and "does not match" in p for p in problems(mini_course))


def test_a_starter_symlinked_out_of_the_pack_is_never_read(mini_course):
    starter = mini_course / "scenarios/gpu-limits/starter.yaml"
    starter.unlink()
    starter.symlink_to("/etc/passwd")
    with pytest.raises(CourseError, match="leaves the scenario folder"):
        Course(mini_course).scenario("gpu-limits")
    found = "\n".join(problems(mini_course))
    assert "leaves the" in found and "root:" not in found


def test_course_files_symlinked_out_of_the_pack_are_flagged(mini_course, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "lesson.md").write_text("# Outside\n\n## Secret\n\nSources: none.\n")
    (outside / "crd.yaml").write_text("kind: CustomResourceDefinition\n")
    lesson = mini_course / "lessons/serving.md"
    lesson.unlink()
    lesson.symlink_to(outside / "lesson.md")
    (mini_course / "crds/stolen.yaml").symlink_to(outside / "crd.yaml")
    found = "\n".join(problems(mini_course))
    assert f"{lesson}: (course): leaves the course folder" in found
    assert "crds/stolen.yaml: (course): leaves the course folder" in found
    with pytest.raises(CourseError, match="leaves the course folder"):
        Course(mini_course).lesson("serving")


def test_a_catalog_lesson_path_outside_the_pack_is_refused(mini_course):
    catalog = mini_course / "course.yaml"
    catalog.write_text(
        catalog.read_text().replace("order: 10", "order: 10\n    lesson: ../../x.md", 1)
    )
    found = "\n".join(problems(mini_course))
    assert "must be a path inside the course folder" in found


def test_counts_variants_and_sources_are_enforced(mini_course):
    def thin(data):
        data["checks"] = data["checks"][:3]
        data["followUps"] = data["followUps"][:2]

    edit_scenario(mini_course, thin)
    variants = mini_course / "answers/gpu-limits/variants"
    shutil.rmtree(variants)
    variants.mkdir()
    answer = (mini_course / "answers/gpu-limits/answer.yaml").read_text()
    (variants / "same.yaml").write_text(
        "# the reference, reformatted\n" + answer.replace("  ", "  ")
    )
    lesson = mini_course / "lessons/serving.md"
    text = lesson.read_text()
    section = text.index("## GPUs as extended resources")
    end = text.index("\n## ", section + 5)
    body = text[section:end]
    stripped = "\n".join(
        line for line in body.splitlines() if not line.lower().startswith("sources")
    )
    stripped = stripped.replace("http", "hxxp")
    lesson.write_text(text[:section] + stripped + text[end:])
    found = "\n".join(problems(mini_course))
    assert "3 check(s); a scenario needs at least 4" in found
    assert "2 follow-up question(s); at least 3" in found
    assert "no accepted variant written differently from the reference" in found
    assert "cites no source" in found


@pytest.mark.parametrize(
    "breakage",
    [
        "scenario-dir",
        "scenario-fifo",
        "answer-dir",
        "variants-file",
        "lesson-latin1",
        "catalog-junk",
        "scenario-loop",
    ],
)
def test_a_malformed_pack_gives_messages_never_a_traceback(mini_course, breakage):
    import os

    scenario = mini_course / "scenarios/gpu-limits/scenario.yaml"
    if breakage == "scenario-dir":
        scenario.unlink()
        scenario.mkdir()
    elif breakage == "scenario-fifo":
        scenario.unlink()
        os.mkfifo(scenario)
    elif breakage == "answer-dir":
        answer = mini_course / "answers/gpu-limits/answer.yaml"
        answer.unlink()
        answer.mkdir()
    elif breakage == "variants-file":
        variants = mini_course / "answers/gpu-limits/variants"
        shutil.rmtree(variants)
        variants.write_text("not a folder")
    elif breakage == "lesson-latin1":
        (mini_course / "lessons/serving.md").write_bytes(b"# Serving\n\n\xe9t\xe9\n")
    elif breakage == "catalog-junk":
        (mini_course / "course.yaml").write_bytes(b"\x00\xff\xfe junk")
    elif breakage == "scenario-loop":
        scenario.unlink()
        scenario.symlink_to(scenario)
    result = lint_cli(mini_course)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "problem(s)" in result.stderr


def test_lint_names_the_slowest_checks(mini_course):
    result = lint_cli(mini_course)
    assert result.returncode == 0, result.stdout
    assert "slowest checks on the reference answers: gpu-limits/" in result.stdout


def test_show_wrong_prints_the_patched_answer():
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "scenarios",
            "show-wrong",
            "gpu-limits",
            "memory-request-and-limit",
            "3",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "memory: 6G\n" in run.stdout and "memory: 8G\n" in run.stdout
    assert "-> 3. G instead of Gi" in run.stderr
    patched = yaml.safe_load(run.stdout)
    assert patched["kind"] == "Deployment"
    for args in (
        ["no-such", "x"],
        ["gpu-limits", "no-such-check"],
        ["gpu-limits", "memory-request-and-limit", "9"],
    ):
        bad = subprocess.run(
            [sys.executable, "-m", "app", "scenarios", "show-wrong", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
        assert bad.returncode == 2 and "Traceback" not in bad.stderr, args


def test_show_wrong_says_why_a_patch_does_not_apply(mini_course):
    def past_the_end(data):
        data["checks"][0]["wrongAnswers"][0]["patch"] = [
            {"op": "remove", "path": "spec.template.spec.containers[3]"}
        ]

    edit_scenario(mini_course, past_the_end)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--course",
            str(mini_course),
            "scenarios",
            "show-wrong",
            "gpu-limits",
            "gpu-in-limits",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 1 and "does not apply" in run.stderr
