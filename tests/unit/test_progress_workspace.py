"""Drafts in the workspace: starter on first open, atomic saves, reset, rescue."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.progress.workspace import Workspace, WorkspaceError, rescue


@pytest.fixture
def scenario(course):
    return course.scenario("gpu-limits")


def test_first_load_writes_the_starter(tmp_path, scenario):
    workspace = Workspace(tmp_path / "ws")
    draft = workspace.load(scenario)
    assert draft.from_starter and draft.problem is None
    assert draft.text == scenario.starter_text()
    assert (tmp_path / "ws" / "gpu-limits.yaml").read_text() == draft.text
    assert draft.mtime_ns == workspace.mtime_ns("gpu-limits")


def test_saved_drafts_are_loaded_back(tmp_path, scenario):
    workspace = Workspace(tmp_path)
    workspace.save("gpu-limits", "kind: Mine\n")
    draft = workspace.load(scenario)
    assert not draft.from_starter and draft.text == "kind: Mine\n"


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    workspace = Workspace(tmp_path)
    for number in range(5):
        workspace.save("gpu-limits", f"n: {number}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["gpu-limits.yaml"]
    assert (tmp_path / "gpu-limits.yaml").read_text() == "n: 4\n"


def test_unwritable_workspace_reports_and_keeps_the_starter_in_memory(tmp_path, scenario):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    workspace = Workspace(blocker / "ws")
    draft = workspace.load(scenario)
    assert draft.problem and "cannot save" in draft.problem
    assert draft.text == scenario.starter_text() and draft.mtime_ns is None
    with pytest.raises(WorkspaceError, match="cannot save"):
        workspace.save("gpu-limits", "x: 1\n")


def test_undecodable_draft_is_moved_aside_never_overwritten(tmp_path, scenario):
    (tmp_path / "gpu-limits.yaml").write_bytes(b"\xff\xfe\x00bad")
    draft = Workspace(tmp_path).load(scenario)
    assert draft.problem is None and draft.notice and "UTF-8" in draft.notice
    assert draft.text == scenario.starter_text()
    aside = list(tmp_path.glob("gpu-limits.yaml.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"\xff\xfe\x00bad"


def test_reset_restores_the_starter_and_keeps_a_backup(tmp_path, scenario):
    workspace = Workspace(tmp_path)
    workspace.save("gpu-limits", "kind: Mine\n")
    backup = workspace.reset(scenario)
    assert workspace.read("gpu-limits") == scenario.starter_text()
    assert backup is not None and backup.read_text() == "kind: Mine\n"
    assert backup.parent == tmp_path / ".backup" and backup.name.startswith("gpu-limits.")
    # Nothing to keep: the draft already is the starter, or there is no draft.
    assert workspace.reset(scenario) is None
    assert Workspace(tmp_path / "empty").reset(scenario) is None


def test_backups_are_capped_per_scenario(tmp_path, monkeypatch):
    from app.progress import workspace as workspace_module

    monkeypatch.setattr(workspace_module, "BACKUPS_KEPT", 3)
    workspace = Workspace(tmp_path)
    made = [workspace.backup("gpu-limits", f"n: {n}\n") for n in range(5)]
    workspace.backup("other", "x: 1\n")
    kept = sorted((tmp_path / ".backup").glob("gpu-limits.*.yaml"))
    assert len(kept) == 3 and made[-1] in kept
    assert len(list((tmp_path / ".backup").glob("other.*.yaml"))) == 1


def test_rescue_writes_a_temporary_copy():
    path = rescue("gpu-limits", "kept: yes\n")
    assert path is not None
    try:
        assert Path(path).read_text() == "kept: yes\n"
    finally:
        Path(path).unlink()
