"""`kprep progress --format json|html`, `kprep review` and `kprep interview --dry-run`, on a
progress store seeded with attempts, self-grades and an interview over simulated days."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.grading.engine import Grader
from tests.conftest import REPO

DAY = 86400.0


def kprep(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KPREP_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env=env,
    )


@pytest.fixture
def seeded(kprep_home: Path, course) -> Path:
    """Ten days of practice ending two days ago: passes, failures, a follow-up graded again,
    and one finished interview."""
    from app.paths import data_dir
    from app.progress.store import ProgressStore

    start = time.time() - 12 * DAY
    with ProgressStore.open(data_dir() / "progress.db") as store:
        for day, scenario_id, answer in [
            (0, "gpu-limits", "scenarios/gpu-limits/starter.yaml"),
            (1, "gpu-limits", "answers/gpu-limits/answer.yaml"),
            (2, "qos-guaranteed", "scenarios/qos-guaranteed/starter.yaml"),
            (4, "hpa-ml-serving", "answers/hpa-ml-serving/answer.yaml"),
            (9, "qos-guaranteed", "answers/qos-guaranteed/answer.yaml"),
        ]:
            scenario = course.scenario(scenario_id)
            graded = Grader(scenario, crd_dir=course.crd_dir).grade_text(
                (REPO / answer).read_text(), answer
            )
            store.record_attempt(graded, at=start + day * DAY)
        store.record_self_grade(
            "gpu-limits", 1, "Q?", "no idea", "again", concept="mig", at=start + 1.1 * DAY
        )
        interview = store.start_interview(["qos-guaranteed"], 15, None, 1, start + 9 * DAY)
        attempt = store.record_attempt(
            Grader(course.scenario("qos-guaranteed"), crd_dir=course.crd_dir).grade_text(
                (REPO / "answers/qos-guaranteed/answer.yaml").read_text()
            ),
            at=start + 9 * DAY + 600,
        )
        store.record_interview_question(interview, 0, "qos-guaranteed", attempt, 900, 600, False)
        store.finish_interview(interview, start + 9 * DAY + 900)
    return kprep_home


def test_json_has_interviews_schedule_due_and_mastery(seeded) -> None:
    result = kprep("progress", "--format", "json", home=seeded)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (interview,) = data["interviews"]
    assert interview["finished"] is not None and interview["score"] == interview["max_score"]
    concepts = {s["concept"] for s in data["review_schedule"]}
    assert {"gpu-limits", "requests-vs-limits", "qos-classes"} <= concepts
    gpu = data["mastery"]["gpu-limits"]
    # One review per attempt of a scenario that tests the concept.
    testing = [h for h in data["history"] if "gpu-limits" in concepts_of(h["scenario"])]
    assert gpu["reviews"] == len(testing) >= 3
    assert "gpu-limits" in concepts_failed_by_starter("gpu-limits") and gpu["lapses"] >= 1
    assert 0 < gpu["recall"] < 1
    assert "serving" in gpu["tracks"]
    due = {d["concept"]: d for d in data["due_today"]}
    overdue = {s["concept"] for s in data["review_schedule"] if s["due"] < data["generated"]}
    assert set(due) >= overdue and "mig" in due, "graded again eleven days ago, not since"
    assert due["mig"]["drill"] == "follow-up" and due["mig"]["follow_up"] == 1
    assert due["mig"]["question"] == course_follow_up("gpu-limits", 1)
    assert data["mastery"]["mig"]["lapses"] == 1
    serving = data["mastery_by_track"]["serving"]
    assert serving["concepts_reviewed"] >= 3 and 0 < serving["mean_recall"] < 1
    assert data["mastery_by_track"]["platform"]["mean_recall"] is None
    assert len(data["history"]) == 6
    assert data["concepts"]["gpu-limits"]["graded"] >= 1, "the old contract is kept"


def concepts_of(scenario_id: str) -> set[str]:
    from app.course.loader import Course

    return {c.concept for c in Course(REPO).scenario(scenario_id).checks}


def concepts_failed_by_starter(scenario_id: str) -> set[str]:
    from app.course.loader import Course

    course = Course(REPO)
    scenario = course.scenario(scenario_id)
    graded = Grader(scenario, crd_dir=course.crd_dir).grade_text(scenario.starter_text())
    return {c.concept for c in graded.checks if c.status == "fail"}


def course_follow_up(scenario_id: str, index: int) -> str:
    from app.course.loader import Course

    return Course(REPO).scenario(scenario_id).follow_ups[index].question


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data) -> None:
        self.text.append(data)

    def count(self, tag: str, **attrs: str) -> int:
        return sum(
            1 for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        )


def test_html_is_one_self_contained_page_with_both_charts(seeded, tmp_path) -> None:
    target = tmp_path / "report.html"
    result = kprep("progress", "--format", "html", str(target), home=seeded)
    assert result.returncode == 0, result.stderr
    page = Page()
    source = target.read_text(encoding="utf-8")
    page.feed(source)
    text = " ".join(page.text)
    assert "kprep progress" in text and "Scores over time" in text and "Mastery by track" in text
    assert "Serving models on GPUs" in text and "gpu-limits" in text
    assert page.count("svg", id="scores-chart") == 1 and page.count("svg", id="mastery-chart") == 1
    assert page.count("circle", **{"class": "pt"}) == 6, "one dot per attempt"
    assert page.count("polygon", **{"class": "iv"}) == 1, "one diamond per interview"
    assert page.count("polyline", **{"class": "line"}) == 1
    bars = [a for t, a in page.tags if t == "rect" and a.get("class") == "bar"]
    assert {a["data-track"] for a in bars} == {"serving", "autoscaling"}
    assert page.count("script") == 0 and page.count("link") == 0
    assert "http://" not in source.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in source


def test_html_without_a_file_is_a_usage_error(seeded) -> None:
    result = kprep("progress", "--format", "html", home=seeded)
    assert result.returncode == 2 and "needs a FILE" in result.stderr


def test_the_html_report_renders_in_chromium(seeded, tmp_path) -> None:
    browser = shutil.which("chromium")
    assert browser, "Debian's chromium is needed for this test (apt-get install chromium)"
    target = tmp_path / "report.html"
    assert kprep("progress", "--format", "html", str(target), home=seeded).returncode == 0
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1000,1400",
            f"--screenshot={shot}",
            target.as_uri(),
        ],  # fmt: skip
        capture_output=True,
        timeout=120,
        check=True,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    keep = os.environ.get("KPREP_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


def test_review_lists_the_due_queue(seeded) -> None:
    result = kprep("review", "--list", home=seeded)
    assert result.returncode == 0, result.stderr
    assert "mig" in result.stdout and "follow-up 2 of gpu-limits" in result.stdout
    as_json = json.loads(kprep("review", "--format", "json", home=seeded).stdout)
    assert "mig" in {d["concept"] for d in as_json}


def test_review_with_nothing_recorded_says_so(kprep_home) -> None:
    result = kprep("review", home=kprep_home)
    assert result.returncode == 0 and "Nothing due for review today." in result.stdout


def test_interview_dry_run_plans_and_bad_requests_are_usage_errors(seeded) -> None:
    result = kprep("interview", "--dry-run", "--seed", "4", "--minutes", "30", home=seeded)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert len(plan["scenarios"]) == 3 and plan["seconds_per_question"] == 600
    again = kprep("interview", "--dry-run", "--seed", "4", "--minutes", "30", home=seeded)
    assert json.loads(again.stdout) == plan
    bad = kprep("interview", "--dry-run", "--track", "cooking", home=seeded)
    assert bad.returncode == 2 and "no scenarios in track 'cooking'" in bad.stderr
    assert "Traceback" not in bad.stderr
    many = kprep(
        "interview", "--dry-run", "--track", "autoscaling", "--scenarios", "9", home=seeded
    )
    assert many.returncode == 2 and "only" in many.stderr
