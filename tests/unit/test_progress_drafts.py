"""DraftSync: the rules that keep an open draft and its file in step, without a terminal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.progress.drafts import DraftSync
from app.progress.workspace import Workspace


@pytest.fixture
def scenario(course):
    return course.scenario("gpu-limits")


def _touch_later(path: Path, seconds: int) -> None:
    """Move the file's mtime on, as another editor writing a second later would."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))


def test_open_creates_the_draft_and_nothing_is_unsaved(tmp_path, scenario):
    sync = DraftSync(Workspace(tmp_path), scenario.id)
    draft = sync.open(scenario)
    assert draft.from_starter and sync.path == tmp_path / "gpu-limits.yaml"
    assert not sync.unsaved(draft.text)
    assert sync.unsaved(draft.text + "# more\n")


def test_save_writes_only_changes(tmp_path, scenario):
    sync = DraftSync(Workspace(tmp_path), scenario.id)
    draft = sync.open(scenario)
    mtime = sync.path.stat().st_mtime_ns
    assert sync.save(draft.text).saved
    assert sync.path.stat().st_mtime_ns == mtime  # nothing to write
    outcome = sync.save("kind: Mine\n")
    assert outcome.saved and not outcome.recovered and outcome.problem is None
    assert sync.path.read_text() == "kind: Mine\n"
    assert not sync.unsaved("kind: Mine\n")


def test_a_failing_workspace_is_reported_once_then_recovery_is_reported(tmp_path, scenario):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    sync = DraftSync(Workspace(blocker / "ws"), scenario.id)
    draft = sync.open(scenario)
    assert draft.problem and sync.save_failed  # open's problem is the caller's to show
    assert sync.unsaved(scenario.starter_text())
    still = sync.save("a: 1\n")
    assert not still.saved and still.problem is None  # already told, by open
    sync.save_failed = False  # as after a save that worked
    failed = sync.save("a: 2\n")
    assert not failed.saved and failed.problem and "cannot save" in failed.problem
    again = sync.save("a: 3\n")
    assert not again.saved and again.problem is None  # told once, not on every keystroke
    blocker.unlink()
    recovered = sync.save("a: 4\n")
    assert recovered.saved and recovered.recovered
    assert (blocker / "ws" / "gpu-limits.yaml").read_text() == "a: 4\n"


def test_change_by_another_editor_is_taken_when_nothing_is_unsaved(tmp_path, scenario):
    sync = DraftSync(Workspace(tmp_path), scenario.id)
    draft = sync.open(scenario)
    assert sync.poll(draft.text) is None
    sync.path.write_text("kind: FromVim\n")
    _touch_later(sync.path, 2)
    change = sync.poll(draft.text)
    assert change is not None and change.kind == "reload" and change.text == "kind: FromVim\n"
    assert not sync.unsaved("kind: FromVim\n")
    assert sync.poll("kind: FromVim\n") is None  # the same change is not reported twice


def test_unsaved_edits_win_over_the_file_and_the_warning_comes_once(tmp_path, scenario):
    sync = DraftSync(Workspace(tmp_path), scenario.id)
    sync.open(scenario)
    buffer = "# typed here, not saved yet\n"
    sync.path.write_text("kind: Other\n")
    _touch_later(sync.path, 2)
    change = sync.poll(buffer)
    assert change is not None and change.kind == "conflict" and "unsaved edits" in change.message
    assert sync.poll(buffer) is None
    assert sync.save(buffer).saved  # the buffer wins when it is saved
    assert sync.path.read_text() == buffer


def test_an_unreadable_change_is_an_error_not_a_crash(tmp_path, scenario):
    sync = DraftSync(Workspace(tmp_path), scenario.id)
    draft = sync.open(scenario)
    sync.path.write_bytes(b"\xff\xfe not utf-8")
    _touch_later(sync.path, 2)
    change = sync.poll(draft.text)
    assert change is not None and change.kind == "error" and "UTF-8" in change.message
    assert sync.poll(draft.text) is None


def test_flush_rescues_to_the_temp_folder_when_the_workspace_is_gone(tmp_path, scenario):
    workspace_dir = tmp_path / "ws"
    sync = DraftSync(Workspace(workspace_dir), scenario.id)
    sync.open(scenario)
    assert sync.flush("a: 1\n") is None
    (workspace_dir / "gpu-limits.yaml").unlink()
    workspace_dir.rmdir()
    workspace_dir.write_text("now a file")  # the workspace cannot be written any more
    rescued = sync.flush("a: 2\n")
    assert rescued is not None
    try:
        assert rescued.read_text() == "a: 2\n"
    finally:
        rescued.unlink()


def test_backup_keeps_the_text_being_replaced(tmp_path, scenario):
    sync = DraftSync(Workspace(tmp_path), scenario.id)
    sync.open(scenario)
    backup = sync.backup("kind: Precious\n")
    assert backup is not None and backup.parent == tmp_path / ".backup"
    assert backup.read_text() == "kind: Precious\n"
