"""Faults on the real control plane: a stopped scheduler, an API server that dies mid-check.

These tests kill kwok-run components through kwokctl's pid files and restore
them with `KwokProvider.up` (which restarts whatever is stopped), so they
leave the cluster as they found it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.live.conftest import make_scenario
from tests.live.test_live_scheduling import seed


def _kill(provider: Any, component: str) -> None:
    pid = provider.component_pids()[component]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while component not in provider.dead_components():
        assert time.monotonic() < deadline, f"{component} did not stop"
        time.sleep(0.05)


def _restore(provider: Any, course: Any) -> None:
    from app.cluster.profiles import load_profile

    provider.up(load_profile("default", course.root), echo=lambda _m: None)
    assert provider.dead_components() == []


@pytest.fixture
def stopped_scheduler(provider: Any, course: Any) -> Any:
    _kill(provider, "kube-scheduler")
    try:
        yield
    finally:
        _restore(provider, course)


def test_stopped_scheduler_ends_the_wait_with_a_clear_message(
    course: Any, cluster: Any, tmp_path: Path, stopped_scheduler: Any
) -> None:
    from app.grading.engine import Grader
    from app.live.attempt import grade_live

    scenario = make_scenario(
        tmp_path,
        allowed_kinds=("Deployment",),
        live_checks={"scheduled": "pods.all(p, p.scheduled)"},
    )
    grader = Grader(scenario, crd_dir=course.crd_dir)
    start = time.monotonic()
    report = grade_live(
        course, scenario, grader, seed(replicas=2), "a.yaml", cluster=cluster, settle_seconds=4
    )
    assert time.monotonic() - start < 15
    assert any("is the scheduler running?" in note for note in report.notes), report.notes
    assert "is the scheduler running?" in report.checks[0].advice
    assert report.placement is not None
    assert all(p.node is None for p in report.placement)


def test_api_server_dying_mid_check_is_a_cluster_error(
    course: Any, cluster_home: Any, provider: Any, tmp_path: Path
) -> None:
    from app.cluster.gc import collect
    from app.grading.engine import Grader
    from app.live.attempt import run_live_checks

    scenario = make_scenario(
        tmp_path,
        allowed_kinds=("Deployment",),
        live_checks={"scheduled": "pods.all(p, p.scheduled)"},
    )
    grader = Grader(scenario, crd_dir=course.crd_dir)
    answer = tmp_path / "answer.yaml"
    # An answer whose pods never settle keeps the wait busy while the API server dies.
    answer.write_text(seed(replicas=2, extra=""))
    offline = [grader.grade_bytes(answer.read_bytes(), str(answer))]
    messages: list[str] = []

    def kill_when_applied() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any("applied" in m for m in messages):
                _kill(provider, "kube-apiserver")
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_applied)
    killer.start()
    try:
        reports, failed = run_live_checks(
            course,
            scenario,
            grader,
            offline,
            [answer],
            keep=False,
            context=None,
            echo=messages.append,
        )
    finally:
        killer.join()
        _restore(provider, course)
    assert failed
    assert reports[0].mode == "offline"  # the offline verdict is still reported
    assert any("does not answer" in m for m in messages), messages
    # Nothing left behind that breaks the next `up`; gc removes the stranded namespace.
    collect(provider.kubeconfig_path, wait=30)
    from app.cluster.gc import owned_namespaces
    from app.cluster.kube import Kube

    with Kube(provider.kubeconfig_path) as kube:
        assert not [n for n in owned_namespaces(kube) if n.startswith("kprep-live-test")]
