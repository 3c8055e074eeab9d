"""Live tests: against the real control plane `kprep cluster up` started.

Every test here is marked `live`. They use the cluster recorded under the
KPREP_HOME the test run started with (`tests.conftest.ORIGINAL_KPREP_HOME`;
`.ci/test` points it at a temporary folder and starts the cluster there).
A missing cluster is an error, never a skip: CI must not pass by testing
nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ORIGINAL_KPREP_HOME, REPO


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.live)


@pytest.fixture
def cluster_home(kprep_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path | None:
    """Point KPREP_HOME back at the home holding the running cluster's state."""
    if ORIGINAL_KPREP_HOME is None:
        monkeypatch.delenv("KPREP_HOME", raising=False)
        return None
    monkeypatch.setenv("KPREP_HOME", ORIGINAL_KPREP_HOME)
    return Path(ORIGINAL_KPREP_HOME)


@pytest.fixture
def course() -> Any:
    from app.course.loader import Course

    return Course(REPO)


@pytest.fixture
def cluster(cluster_home: Path | None, course: Any) -> Iterator[Any]:
    """A `LiveCluster` on the running kprep cluster; fails with the reason when it is missing."""
    from app.cluster.errors import ClusterError
    from app.live.connect import connect

    try:
        live = connect(course, profile="default")
    except ClusterError as exc:
        where = ORIGINAL_KPREP_HOME or "the default data folder"
        pytest.fail(
            f"live tests need the local cluster (KPREP_HOME={where}): {exc}\n"
            "Start it with `kprep cluster up` (CI: `bash .ci/test` does).",
            pytrace=False,
        )
    try:
        yield live
    finally:
        live.close()


@pytest.fixture
def kube(cluster: Any) -> Any:
    return cluster.kube


@pytest.fixture
def provider(cluster_home: Path | None) -> Any:
    from app.cluster.active import read_active
    from app.cluster.kwok import KwokProvider

    active = read_active()
    if active is None or active.provider != "kwok":
        pytest.fail(
            "these tests stop and restart kwok components; the active cluster is "
            f"{active.provider if active else 'none'}",
            pytrace=False,
        )
    return KwokProvider(REPO)


@pytest.fixture
def scratch_namespace(kube: Any) -> Iterator[str]:
    """A namespace for dry runs, deleted afterwards."""
    from app.cluster.namespaces import NAMESPACE_RESOURCE, OWNED_LABEL

    name = f"kprep-test-{uuid.uuid4().hex[:6]}"
    kube.request(
        "POST",
        NAMESPACE_RESOURCE.path(),
        body={
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {OWNED_LABEL: "true"}},
        },
    )
    try:
        yield name
    finally:
        kube.delete(NAMESPACE_RESOURCE.path(name=name))


def make_scenario(
    tmp_path: Path,
    *,
    allowed_kinds: tuple[str, ...],
    live_checks: dict[str, str] | None = None,
    profile: str = "default",
) -> Any:
    """A throwaway scenario: the kinds it may apply and live checks (id -> CEL)."""
    from app.course.models import Check, Scenario

    checks = tuple(
        Check(
            id=check_id,
            title=check_id,
            points=1,
            concept="live",
            expression=expression,
            message=f"{check_id} failed",
        )
        for check_id, expression in (live_checks or {}).items()
    )
    return Scenario(
        id=f"live-test-{os.getpid()}",
        title="live test",
        track="serving",
        difficulty="easy",
        order=1,
        prompt="",
        lesson="serving",
        hints=(),
        checks=(),
        live_checks=checks,
        follow_ups=(),
        folder=tmp_path,
        answer_folder=tmp_path / "answers",
        profile=profile,
        allowed_kinds=allowed_kinds,
    )
