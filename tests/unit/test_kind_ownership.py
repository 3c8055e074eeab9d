"""Which kind cluster `kprep` is kprep's own, and what `up` leaves behind when it fails.

The real `KindProvider.up` and `down` run here; only the world outside them is faked,
at the seams the provider calls through: `preflight` (kind binary, Docker facts, host
limits), `images.resolve_node_image`, the `runner` functions that run `kind` and
`docker` (`clusters`, `create`, `control_plane_id`, `export_kubeconfig`, `delete`),
and `_finish`, which needs a live API server. `FakeKind` plays one Docker host with at
most one kind cluster named `kprep` and records every create and delete, so each test
can say that a cluster kprep did not create was never deleted, and that one it did
create and could not finish was.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.cluster.errors import ClusterError
from app.cluster.kind import CLUSTER_NAME, KindProvider, images, preflight, runner
from app.cluster.kind import provider as provider_module
from app.cluster.profiles import Profile, load_profile
from app.paths import default_course_dir

COURSE = default_course_dir()
DEFAULT = load_profile("default", COURSE)
MIG = load_profile("mig", COURSE)
KIND = "/fake/bin/kind"
DELETE_COMMAND = f"kind delete cluster --name {CLUSTER_NAME}"


class FakeKind:
    """One Docker host as kprep's runner sees it: whether cluster `kprep` runs, and its
    control-plane container's id. `create_fails` / `delete_fails` make the next calls
    raise what the real runner would (or what a Ctrl-C would)."""

    def __init__(self) -> None:
        self.running = False
        self.control_plane = ""
        self.created = 0
        self.deleted: list[tuple[str, Path]] = []
        self.finished: list[str] = []
        self.create_fails: BaseException | None = None
        self.delete_fails: ClusterError | None = None

    def clusters(self, kind: str) -> list[str]:
        assert kind == KIND
        return [CLUSTER_NAME] if self.running else []

    def create(
        self, kind: str, config: Path, kubeconfig: Path, log: Path, echo: Callable[[str], None]
    ) -> None:
        assert kind == KIND and config.is_file()
        # kind names the cluster (and its containers) before it can fail or be interrupted.
        self.running = True
        self.created += 1
        self.control_plane = f"container-{self.created}"
        log.write_text('Creating cluster "kprep" ...\nERROR: failed to create cluster\n')
        if self.create_fails is not None:
            raise self.create_fails
        kubeconfig.write_text("apiVersion: v1\nkind: Config\n")

    def control_plane_id(self) -> str:
        return self.control_plane if self.running else ""

    def export_kubeconfig(self, kind: str, path: Path) -> None:
        assert self.running
        path.write_text("apiVersion: v1\nkind: Config\n")

    def delete(self, kind: str, kubeconfig: Path) -> None:
        self.deleted.append((kind, kubeconfig))
        if self.delete_fails is not None:
            raise self.delete_fails
        self.running = False
        self.control_plane = ""

    def someone_else_creates(self, container: str) -> None:
        """`kind create cluster --name kprep` run by hand, or by another tool."""
        self.running = True
        self.control_plane = container


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKind:
    world = FakeKind()
    facts = preflight.DockerFacts("27.0", "2", 8, 32 * 1024**3, "")
    monkeypatch.setattr(preflight, "tools", lambda: (KIND, facts))
    monkeypatch.setattr(preflight, "find_kind", lambda: KIND)
    monkeypatch.setattr(preflight, "preflight", lambda _facts: [])
    monkeypatch.setattr(
        images,
        "resolve_node_image",
        lambda requested, echo: images.NodeImage("kindest/node:test", "a test image"),
    )
    monkeypatch.setattr(runner, "clusters", world.clusters)
    monkeypatch.setattr(runner, "create", world.create)
    monkeypatch.setattr(runner, "control_plane_id", world.control_plane_id)
    monkeypatch.setattr(runner, "export_kubeconfig", world.export_kubeconfig)
    monkeypatch.setattr(runner, "delete", world.delete)
    # The profile's CRDs are installed by `_finish` (faked below): not read here.
    monkeypatch.setattr(provider_module, "profile_crds", lambda profile, course: [])

    def finish(
        self: KindProvider, kind: str, profile: Profile, crds: list[dict[str, Any]], echo: Any
    ) -> None:
        world.finished.append(profile.name)
        self._update_state(phase="ready")

    monkeypatch.setattr(KindProvider, "_finish", finish)
    return world


@pytest.fixture
def provider(tmp_path: Path) -> KindProvider:
    return KindProvider(COURSE, state_dir=tmp_path / "kind")


def _up(provider: KindProvider, profile: Profile = DEFAULT) -> list[str]:
    said: list[str] = []
    provider.up(profile, echo=said.append)
    return said


def _state(provider: KindProvider) -> dict[str, Any]:
    """What a fresh kprep process would read (not the provider's cached copy)."""
    if not provider.state_path.is_file():
        return {}
    loaded = json.loads(provider.state_path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _fresh(provider: KindProvider) -> KindProvider:
    """The next `kprep cluster ...` command: same files, nothing cached."""
    return KindProvider(provider.course_dir, state_dir=provider.state_dir)


def test_the_fake_world_runs_a_full_up_and_down(fake: FakeKind, provider: KindProvider) -> None:
    """The baseline the other tests depart from: kprep creates, records, reuses, deletes."""
    _up(provider)
    assert fake.created == 1 and fake.finished == ["default"]
    assert _state(provider)["controlPlaneId"] == "container-1"
    assert _state(provider)["phase"] == "ready"
    said = _up(_fresh(provider))
    assert fake.created == 1, "the second up reuses the cluster"
    assert any("reusing it" in line for line in said)
    _fresh(provider).down()
    assert fake.deleted == [(KIND, provider.kubeconfig_path)]
    assert not fake.running and not provider.state_path.exists()


# 1. a cluster named kprep that kprep has no record of creating


def test_up_refuses_a_kprep_cluster_it_did_not_create(
    fake: FakeKind, provider: KindProvider
) -> None:
    fake.someone_else_creates("theirs")
    with pytest.raises(ClusterError) as caught:
        _up(provider)
    message = str(caught.value)
    assert "kprep has no record of creating it" in message
    assert "kprep will not use it" in message
    assert DELETE_COMMAND in message
    assert fake.deleted == [] and fake.created == 0 and fake.finished == []
    assert fake.running and fake.control_plane == "theirs"
    # Nothing recorded either: the cluster stays someone else's for the next command too.
    assert not provider.state_path.exists()
    assert not provider.kubeconfig_path.exists()


def test_down_leaves_a_kprep_cluster_it_did_not_create_alone(
    fake: FakeKind, provider: KindProvider
) -> None:
    """`down` documents it: left alone, with the command that deletes it."""
    fake.someone_else_creates("theirs")
    with pytest.raises(ClusterError) as caught:
        provider.down()
    message = str(caught.value)
    assert "kprep has no record of creating it" in message
    assert "kprep leaves it alone" in message
    assert DELETE_COMMAND in message
    assert fake.deleted == []
    assert fake.running and fake.control_plane == "theirs"


# 2. a kprep cluster deleted and recreated behind kprep's back


def _recreated_behind_kpreps_back(fake: FakeKind, provider: KindProvider) -> None:
    _up(provider)
    assert _state(provider)["controlPlaneId"] == "container-1"
    fake.running = False  # `kind delete cluster --name kprep` by hand ...
    fake.someone_else_creates("container-by-hand")  # ... and `kind create cluster --name kprep`


def test_up_refuses_a_kprep_cluster_whose_control_plane_changed(
    fake: FakeKind, provider: KindProvider
) -> None:
    _recreated_behind_kpreps_back(fake, provider)
    with pytest.raises(ClusterError) as caught:
        _up(_fresh(provider))
    message = str(caught.value)
    assert "not the one kprep created" in message
    assert "control-plane container differs" in message
    assert "kprep will not use it" in message
    assert DELETE_COMMAND in message
    assert fake.deleted == [] and fake.created == 1 and fake.finished == ["default"]
    assert fake.control_plane == "container-by-hand"


def test_down_leaves_a_recreated_kprep_cluster_alone_and_forgets_the_old_one(
    fake: FakeKind, provider: KindProvider
) -> None:
    _recreated_behind_kpreps_back(fake, provider)
    with pytest.raises(ClusterError) as caught:
        _fresh(provider).down()
    message = str(caught.value)
    assert "not the one kprep created" in message and "kprep leaves it alone" in message
    assert DELETE_COMMAND in message
    assert fake.deleted == []
    assert fake.running and fake.control_plane == "container-by-hand"
    # kprep's record was of a cluster that is gone: `down` drops it (and its kubeconfig).
    assert not provider.state_path.exists() and not provider.kubeconfig_path.exists()
    # So the next up sees a cluster it has no record of, and still will not touch it.
    with pytest.raises(ClusterError, match="kprep will not use it"):
        _up(_fresh(provider))
    assert fake.deleted == []


# 3. Ctrl-C during `kind create cluster`


def test_ctrl_c_during_create_deletes_the_half_made_cluster(
    fake: FakeKind, provider: KindProvider
) -> None:
    fake.create_fails = KeyboardInterrupt()
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        provider.up(DEFAULT, echo=said.append)
    assert fake.deleted == [(KIND, provider.kubeconfig_path)]
    assert not fake.running
    assert any("deleting the half-created kind cluster" in line for line in said)
    assert _state(provider).get("phase") != "creating"
    assert not provider.state_path.exists()
    assert fake.finished == []
    # The next up starts from nothing: it creates, records and finishes a cluster.
    fake.create_fails = None
    _up(_fresh(provider))
    assert fake.created == 2 and fake.finished == ["default"]
    assert len(fake.deleted) == 1
    assert _state(provider)["controlPlaneId"] == "container-2"
    assert _state(provider)["phase"] == "ready"


def test_the_half_made_cluster_is_deleted_with_ctrl_c_ignored(
    fake: FakeKind, provider: KindProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second Ctrl-C while `kind delete` runs cannot leave the cluster behind."""
    import signal

    handlers: list[object] = []

    def delete(kind: str, kubeconfig: Path) -> None:
        handlers.append(signal.getsignal(signal.SIGINT))
        FakeKind.delete(fake, kind, kubeconfig)

    monkeypatch.setattr(runner, "delete", delete)
    before = signal.getsignal(signal.SIGINT)
    fake.create_fails = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        _up(provider)
    assert handlers == [signal.SIG_IGN]
    assert signal.getsignal(signal.SIGINT) == before


# 4. kind create fails


def test_a_failed_create_deletes_the_cluster_and_says_why(
    fake: FakeKind, provider: KindProvider
) -> None:
    """What the runner raises when `kind create cluster` exits non-zero."""
    fake.create_fails = ClusterError(
        "`kind create cluster` failed (exit 1):\nERROR: failed to create cluster: "
        f"kubelet never became healthy\n(full output: {provider.log_path})"
    )
    said: list[str] = []
    with pytest.raises(ClusterError) as caught:
        provider.up(DEFAULT, echo=said.append)
    assert caught.value is fake.create_fails, "the user sees kind's reason, unchanged"
    assert "kubelet never became healthy" in str(caught.value)
    assert fake.deleted == [(KIND, provider.kubeconfig_path)] and not fake.running
    assert not provider.state_path.exists()
    assert any("deleting the half-created kind cluster" in line for line in said)
    # And nothing blocks the next up.
    fake.create_fails = None
    _up(_fresh(provider))
    assert fake.created == 2 and fake.finished == ["default"]


def test_the_log_a_failed_create_points_at_outlives_the_cleanup(
    fake: FakeKind, provider: KindProvider
) -> None:
    """The runner's message ends `(full output: <log>)`; deleting the half-made cluster must
    not delete the file that message sends the user to (kubeadm's whole log is only there)."""
    fake.create_fails = ClusterError(
        f"`kind create cluster` failed (exit 1):\nERROR: ...\n(full output: {provider.log_path})"
    )
    with pytest.raises(ClusterError, match="full output"):
        _up(provider)
    assert fake.deleted == [(KIND, provider.kubeconfig_path)] and not fake.running
    assert not provider.state_path.exists()
    assert provider.log_path.is_file()
    assert "ERROR: failed to create cluster" in provider.log_path.read_text()
    # `down` (nothing running, nothing recorded) still cleans it up.
    _fresh(provider).down()
    assert not provider.log_path.exists() and fake.deleted == [(KIND, provider.kubeconfig_path)]


@pytest.mark.parametrize(
    "failure",
    [
        subprocess.CalledProcessError(1, [KIND, "create", "cluster"], "", "kind: exit 1"),
        FileNotFoundError(2, "No such file or directory", KIND),
    ],
    ids=["CalledProcessError", "OSError"],
)
def test_any_other_failure_in_create_deletes_the_cluster_too(
    fake: FakeKind, provider: KindProvider, failure: Exception
) -> None:
    fake.create_fails = failure
    with pytest.raises(type(failure)) as caught:
        _up(provider)
    assert caught.value is failure
    assert fake.deleted == [(KIND, provider.kubeconfig_path)] and not fake.running
    assert not provider.state_path.exists()


def test_a_failure_after_create_deletes_the_cluster_it_made(
    fake: FakeKind, provider: KindProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`up` owns the cluster it created until `_finish` is done: a timeout there deletes it."""

    def finish(*args: object) -> None:
        raise ClusterError("timed out after 240s waiting for the GPU nodes")

    monkeypatch.setattr(KindProvider, "_finish", finish)
    with pytest.raises(ClusterError, match="timed out after 240s"):
        _up(provider)
    assert fake.deleted == [(KIND, provider.kubeconfig_path)] and not fake.running


def test_a_failure_on_a_reused_cluster_never_deletes_it(
    fake: FakeKind, provider: KindProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    _up(provider)

    def finish(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(KindProvider, "_finish", finish)
    with pytest.raises(KeyboardInterrupt):
        _up(_fresh(provider))
    assert fake.deleted == [] and fake.running
    assert _state(provider)["controlPlaneId"] == "container-1"


# 5. an interrupted up whose cluster could not be deleted


def _interrupted_and_not_deleted(fake: FakeKind, provider: KindProvider) -> list[str]:
    fake.create_fails = KeyboardInterrupt()
    fake.delete_fails = ClusterError("`kind delete cluster --name kprep` failed: docker hung")
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        provider.up(DEFAULT, echo=said.append)
    fake.create_fails = fake.delete_fails = None
    return said


def test_an_undeleted_interrupted_cluster_is_recorded_as_kpreps(
    fake: FakeKind, provider: KindProvider
) -> None:
    said = _interrupted_and_not_deleted(fake, provider)
    assert fake.running and len(fake.deleted) == 1
    assert any("could not delete it" in line and "kprep cluster down" in line for line in said)
    state = _state(provider)
    assert state["phase"] == "creating" and not state.get("controlPlaneId")
    assert state["profile"] == "default"


def test_up_after_an_undeleted_interrupted_create_says_run_down_first(
    fake: FakeKind, provider: KindProvider
) -> None:
    _interrupted_and_not_deleted(fake, provider)
    for profile, words in ((DEFAULT, "never finished"), (MIG, "created for profile 'default'")):
        with pytest.raises(ClusterError) as caught:
            _up(_fresh(provider), profile)
        message = str(caught.value)
        assert words in message and "kprep cluster down" in message
        assert "kprep will not use it" not in message, "it is kprep's own, not a stranger's"
    assert len(fake.deleted) == 1 and fake.running and fake.created == 1


def test_down_deletes_an_undeleted_interrupted_create(
    fake: FakeKind, provider: KindProvider
) -> None:
    _interrupted_and_not_deleted(fake, provider)
    _fresh(provider).down()
    assert len(fake.deleted) == 2 and fake.deleted[-1] == (KIND, provider.kubeconfig_path)
    assert not fake.running and not provider.state_path.exists()
    # And then up creates a new cluster.
    _up(_fresh(provider))
    assert fake.created == 2 and fake.finished == ["default"]


def test_down_of_a_recorded_interrupted_create_without_a_cluster_forgets_it(
    fake: FakeKind, provider: KindProvider
) -> None:
    """kind never got as far as naming the cluster: nothing to delete, the record goes."""
    provider.state_dir.mkdir(parents=True)
    provider.state_path.write_text(json.dumps({"profile": "default", "phase": "creating"}))
    provider.down()
    assert fake.deleted == [] and not provider.state_path.exists()
