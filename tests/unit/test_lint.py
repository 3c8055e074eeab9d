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
