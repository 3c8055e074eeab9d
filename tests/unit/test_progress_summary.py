"""Progress joined with the course, and the commands that print and reset it."""

from __future__ import annotations

import json

from click.testing import CliRunner

from app.cli import main_group
from app.grading.report import CheckResult, Report
from app.paths import data_dir
from app.progress.store import ProgressStore
from app.progress.summary import format_seconds, summarize


def attempt(scenario: str, passed: bool, at: float) -> Report:
    return Report(
        scenario,
        "f",
        max_score=2,
        checks=[CheckResult("c", "C", "pass" if passed else "fail", 2 if passed else 0, 2, "k")],
    )


def test_summary_by_track_with_continue_and_next(course):
    scenarios, _ = course.load_all()
    with ProgressStore.in_memory() as store:
        first, second = scenarios[0], scenarios[1]
        store.record_attempt(attempt(first.id, True, 1.0), at=1.0)
        store.record_attempt(attempt(second.id, False, 2.0), at=2.0)
        store.start_visit("deleted-scenario", at=0.5)
        summary = summarize(scenarios, store)
    assert summary.continue_with is not None
    assert summary.continue_with.scenario.id == second.id  # unsolved, most recent
    assert summary.recommended is not None
    assert summary.recommended.scenario.id not in (first.id, second.id)
    assert any("deleted-scenario" in note for note in summary.notes)
    track = next(t for t in summary.tracks if t.track == first.track)
    assert track.solved >= 1
    data = summary.to_json()
    assert {row["id"] for row in data["scenarios"]} == {s.id for s in scenarios}
    assert "deleted-scenario" not in {row["id"] for row in data["scenarios"]}


def test_nothing_done_recommends_the_first_scenario(course):
    scenarios, _ = course.load_all()
    with ProgressStore.in_memory() as store:
        summary = summarize(scenarios, store)
    assert summary.continue_with is None
    assert summary.recommended is not None
    assert summary.recommended.scenario.id == scenarios[0].id


def test_format_seconds():
    assert format_seconds(59) == "0m"
    assert format_seconds(125) == "2m"
    assert format_seconds(3 * 3600 + 5 * 60) == "3h05m"


def test_progress_command_prints_text_and_json():
    with ProgressStore.open(data_dir() / "progress.db") as store:
        store.record_attempt(attempt("gpu-limits", True, 1.0))
    runner = CliRunner()
    text = runner.invoke(main_group, ["progress"])
    assert text.exit_code == 0, text.output
    assert "gpu-limits" in text.output and "kprep progress" in text.output
    raw = runner.invoke(main_group, ["progress", "--format", "json"])
    data = json.loads(raw.stdout)
    row = next(r for r in data["scenarios"] if r["id"] == "gpu-limits")
    assert row["passed"] and row["status"] == "solved"


def test_reset_command_restores_the_starter(repo):
    draft = data_dir() / "workspace" / "gpu-limits.yaml"
    draft.parent.mkdir(parents=True)
    draft.write_text("kind: Mine\n")
    runner = CliRunner()
    refused = runner.invoke(main_group, ["reset", "gpu-limits"], input="n\n")
    assert refused.exit_code != 0 and draft.read_text() == "kind: Mine\n"
    done = runner.invoke(main_group, ["reset", "gpu-limits", "--yes"])
    assert done.exit_code == 0, done.output
    assert draft.read_text() == (repo / "scenarios/gpu-limits/starter.yaml").read_text()
    backups = list((draft.parent / ".backup").glob("gpu-limits.*.yaml"))
    assert len(backups) == 1 and backups[0].read_text() == "kind: Mine\n"
    assert f"your previous draft is kept in {backups[0]}" in done.output


def test_reset_and_practice_reject_unknown_scenarios():
    runner = CliRunner()
    for command in (["reset", "nope", "--yes"], ["practice", "nope"]):
        result = runner.invoke(main_group, command)
        assert result.exit_code == 2 and "unknown scenario" in result.output


def _card(scenario_id: str, track: str, difficulty: str = "medium"):
    from app.progress.course_index import ScenarioCard

    return ScenarioCard(
        id=scenario_id,
        title=scenario_id,
        track=track,
        difficulty=difficulty,
        order=0,
        lesson=track,
        max_score=2,
        hints=(),
        checks=("c",),
    )


def test_next_never_offers_what_continue_offers():
    cards = [_card("a", "t"), _card("b", "t"), _card("c", "t")]
    with ProgressStore.in_memory() as store:
        store.record_attempt(attempt("b", False, 1.0), at=1.0)  # unsolved: Continue
        store.record_attempt(attempt("a", True, 2.0), at=2.0)  # latest, solved
        summary = summarize(cards, store)
        assert summary.continue_with is not None and summary.continue_with.scenario.id == "b"
        # After "a" in course order comes "b": Next skips it, Continue already offers it.
        assert summary.recommended is not None and summary.recommended.scenario.id == "c"
        store.record_attempt(attempt("c", True, 3.0), at=3.0)
        summary = summarize(cards, store)
        assert summary.continue_with is not None and summary.continue_with.scenario.id == "b"
        assert summary.recommended is None  # only "b" is left, and Continue offers it


def test_next_finishes_the_current_tracks_warm_ups_first():
    cards = [
        _card("s-hard", "serving", "hard"),
        _card("s-warm", "serving", "warm-up"),
        _card("x-warm", "other", "warm-up"),
        _card("s-easy", "serving", "easy"),
    ]
    with ProgressStore.in_memory() as store:
        store.record_attempt(attempt("s-hard", True, 1.0), at=1.0)
        summary = summarize(cards, store)
        assert summary.recommended is not None and summary.recommended.scenario.id == "s-warm"
        store.record_attempt(attempt("s-warm", True, 2.0), at=2.0)
        summary = summarize(cards, store)
        # The track's warm-ups are done: course order again, from the latest activity.
        assert summary.recommended is not None and summary.recommended.scenario.id == "x-warm"
