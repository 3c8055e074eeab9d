"""`kprep cluster ...` and `kprep check --live` when no cluster is up (no cluster needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

ANSWER = REPO / "answers/gpu-limits/answer.yaml"


def kprep(*args: str, env_bin: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ)
    if env_bin is not None:
        env["KPREP_BIN_DIR"] = str(env_bin)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env=env,
    )


def test_live_check_without_a_cluster_exits_3_with_the_offline_verdict() -> None:
    result = kprep("check", str(ANSWER), "-s", "gpu-limits", "--live")
    assert result.returncode == 3, result.stderr
    assert "kprep cluster up" in result.stderr
    assert "PASSED" in result.stdout and "(offline)" in result.stdout
    assert "Traceback" not in result.stderr


def test_live_check_json_keeps_the_offline_report() -> None:
    result = kprep("check", str(ANSWER), "-s", "gpu-limits", "--live", "--format", "json")
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["passed"] is True and report["mode"] == "offline"
    assert any("kprep cluster up" in note for note in report["notes"])


def test_status_and_gc_without_a_cluster_exit_3() -> None:
    for command in (("cluster", "status"), ("cluster", "gc")):
        result = kprep(*command)
        assert result.returncode == 3, (command, result.stderr)
        assert "kprep cluster up" in result.stderr or "no cluster" in result.stderr


def test_down_without_a_cluster_is_fine() -> None:
    result = kprep("cluster", "down")
    assert result.returncode == 0, result.stderr


def test_up_dry_run_prints_kwokctl_and_nodes(tmp_path: Path) -> None:
    from tests.unit.test_cluster_kwok import fake_bin_dir

    folder = fake_bin_dir(tmp_path)
    result = kprep("cluster", "up", "--dry-run", env_bin=folder)
    assert result.returncode == 0, result.stderr
    assert "create cluster --name kprep --runtime binary --kubeconfig=" in result.stderr
    assert "gpu-a100-3" in result.stderr and "nvidia.com/gpu" in result.stderr


def test_up_without_binaries_explains_the_build(tmp_path: Path) -> None:
    result = kprep("cluster", "up", env_bin=tmp_path / "empty")
    assert result.returncode == 3
    assert "hack/build-binaries.sh" in result.stderr


def test_unknown_profile_is_named() -> None:
    result = kprep("cluster", "up", "--profile", "nope")
    assert result.returncode == 2 and "unknown cluster profile 'nope'" in result.stderr


def test_down_after_a_killed_kind_up_goes_to_kind(tmp_path: Path) -> None:
    """An `up` killed mid-create leaves kind's state but no active record: `down` must not
    fall back to kwok and leave the kind containers running."""
    import os

    kind_state = tmp_path / "home" / "data" / "cluster" / "kind"
    kind_state.mkdir(parents=True)
    (kind_state / "state.json").write_text('{"profile": "default", "phase": "creating"}')
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {
        **os.environ,
        "KPREP_HOME": str(tmp_path / "home"),
        "PATH": str(empty),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "cluster", "down"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env=env,
    )
    assert result.returncode == 3, result.stderr
    assert "kind" in result.stderr and "not found" in result.stderr, result.stderr
    assert "kwok cluster is gone" not in result.stderr
    assert "Traceback" not in result.stderr
