"""The ten failures kprep's kind provider met on its first real kind cluster, one test each.

The list is in /work/shared/reference/kind-offline.md ("First contact"); the fixes
were then run on a real kind cluster (tests/live/test_kind.py). These tests pin each
fix without Docker: fake `docker` answers, recorded kind output and kubelet journals.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.cluster.errors import ClusterError
from app.cluster.kind import (
    DEFAULT_PLACEHOLDER_IMAGE,
    LOCAL_NODE_IMAGE,
    PUBLIC_NODE_IMAGE,
    ClusterSettings,
    Scale,
    images,
    kind_config,
    preflight,
    runnable_on_kind,
)
from app.cluster.kind.config import conflist_path, write_conflists
from app.cluster.originals import restore
from app.cluster.profiles import load_profile
from app.live import advice, observe
from tests.conftest import REPO

GOLDEN = Path(__file__).parent / "golden"
DEFAULT = load_profile("default", REPO)


class FakeDocker:
    """Plays `docker image inspect` and `docker pull`, recording every call."""

    def __init__(self, present: set[str], pullable: set[str] | None = None) -> None:
        self.present = set(present)
        self.pullable = set(pullable or ())
        self.calls: list[tuple[list[str], float]] = []

    def __call__(self, args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        self.calls.append((args, timeout))
        image = args[-1]
        if args[:3] == ["docker", "image", "inspect"]:
            code = 0 if image in self.present else 1
            return subprocess.CompletedProcess(args, code, "", "" if code == 0 else "No such image")
        if args[:2] == ["docker", "pull"]:
            if image in self.pullable:
                self.present.add(image)
                return subprocess.CompletedProcess(args, 0, "", "")
            return subprocess.CompletedProcess(args, 1, "", "dial tcp: lookup registry-1.docker.io")
        raise AssertionError(args)

    def pulls(self) -> list[tuple[list[str], float]]:
        return [c for c in self.calls if c[0][:2] == ["docker", "pull"]]


# 1. the node image: selectable, looked up locally before any pull, a bounded pull


def test_node_image_local_build_is_used_without_trying_a_pull() -> None:
    docker = FakeDocker({LOCAL_NODE_IMAGE})
    chosen = images.resolve_node_image(None, lambda _: None, docker)
    assert chosen.image == LOCAL_NODE_IMAGE and "offline-built" in chosen.why
    assert docker.pulls() == []


def test_node_image_public_one_wins_when_docker_has_it() -> None:
    docker = FakeDocker({LOCAL_NODE_IMAGE, PUBLIC_NODE_IMAGE})
    assert images.resolve_node_image(None, lambda _: None, docker).image == PUBLIC_NODE_IMAGE


def test_node_image_pull_is_bounded_and_its_failure_says_what_to_build() -> None:
    docker = FakeDocker(set())
    said: list[str] = []
    with pytest.raises(ClusterError) as caught:
        images.resolve_node_image(None, said.append, docker, build=False)
    assert [c[0] for c in docker.pulls()] == [["docker", "pull", PUBLIC_NODE_IMAGE]]
    assert docker.pulls()[0][1] == images.PULL_TIMEOUT_SECONDS
    assert "hack/build-kind-node.sh" in str(caught.value)
    assert "lookup registry-1.docker.io" in str(caught.value)
    assert any("pulling" in line for line in said)


def test_node_image_named_with_the_option() -> None:
    docker = FakeDocker({"my/node:1"})
    chosen = images.resolve_node_image("my/node:1", lambda _: None, docker)
    assert chosen.image == "my/node:1" and docker.pulls() == []
    with pytest.raises(ClusterError, match="--node-image other/node:2: not in Docker"):
        images.resolve_node_image("other/node:2", lambda _: None, FakeDocker(set()))


# 2. cgroup v1 and 3. no default CNI in a locally built node image


def _settings(tmp_path: Path, *, cgroup_v1: bool) -> ClusterSettings:
    return ClusterSettings(
        node_image=LOCAL_NODE_IMAGE,
        cgroup_v1=cgroup_v1,
        cni_dir=tmp_path,
        scale=Scale.fit(DEFAULT, 2000, 24 * 1024**3),
    )


def test_fail_cgroup_v1_false_only_on_cgroup_v1_hosts(tmp_path: Path) -> None:
    def patches(cgroup_v1: bool) -> str:
        config = kind_config(DEFAULT, _settings(tmp_path, cgroup_v1=cgroup_v1))
        return "\n".join(config.get("kubeadmConfigPatches") or [])

    assert "failCgroupV1: false" in patches(True)
    assert "failCgroupV1" not in patches(False)


def test_own_cni_conflist_per_node_with_distinct_subnets(tmp_path: Path) -> None:
    import json

    config = kind_config(DEFAULT, _settings(tmp_path, cgroup_v1=False))
    assert config["networking"]["disableDefaultCNI"] is True
    count = len(config["nodes"])
    write_conflists(tmp_path, count)
    subnets = set()
    for index, node in enumerate(config["nodes"]):
        mounted = {m["hostPath"]: m["containerPath"] for m in node.get("extraMounts") or []}
        assert str(conflist_path(tmp_path, index)) in mounted, node
        conflist = json.loads(conflist_path(tmp_path, index).read_text())
        subnets.add(json.dumps(conflist["plugins"][0]["ipam"], sort_keys=True))
    assert len(subnets) == count


# 4. host limits: inotify and disk


def test_preflight_names_the_inotify_fix(tmp_path: Path) -> None:
    limits = tmp_path / "sys" / "fs" / "inotify"
    limits.mkdir(parents=True)
    (limits / "max_user_instances").write_text("128\n")
    facts = preflight.DockerFacts("20.10", "1", 2, 24 * 1024**3, str(tmp_path))
    problems = preflight.preflight(facts, proc=tmp_path, need_free_bytes=1)
    assert len(problems) == 1
    assert "sudo sysctl -w fs.inotify.max_user_instances=512" in problems[0]
    (limits / "max_user_instances").write_text("512\n")
    assert preflight.preflight(facts, proc=tmp_path, need_free_bytes=1) == []


def test_preflight_names_the_disk_fix(tmp_path: Path) -> None:
    facts = preflight.DockerFacts("20.10", "2", 2, 24 * 1024**3, str(tmp_path))
    problems = preflight.preflight(facts, proc=tmp_path, need_free_bytes=1 << 62)
    assert len(problems) == 1 and "docker system prune" in problems[0]


# 2 again: kind's and kubeadm's own error lines, and the kubelet's reason


def test_failure_summary_keeps_kinds_and_kubeadms_reasons() -> None:
    output = (GOLDEN / "kind-create-failure.txt").read_text()
    summary = preflight.failure_summary(output)
    assert summary.splitlines()[0].startswith("ERROR: failed to create cluster")
    assert "error execution phase wait-control-plane" in summary
    assert "goroutine" not in summary and len(summary.splitlines()) <= 12


def test_kubelet_failures_read_from_the_journal() -> None:
    journal = (GOLDEN / "kubelet-journal-cgroupv1.txt").read_text()
    reasons = preflight.kubelet_failures(journal)
    assert len(reasons) == 1  # two identical restarts, one reason
    assert "kubelet is configured to not run on a host using cgroup v1" in reasons[0]


# 8. the placeholder image comes from what the nodes hold


def _node(name: str, images_held: list[str], label: str | None = None) -> dict[str, Any]:
    labels = {"kprep.dev/node": label} if label else {}
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {"images": [{"names": [n]} for n in images_held], "allocatable": {}},
    }


def test_placeholder_is_the_newest_pause_every_node_holds() -> None:
    nodes = [
        _node("a", ["registry.k8s.io/pause:3.10.2", "registry.k8s.io/pause:3.9"]),
        _node("b", ["docker.io/registry.k8s.io/pause:3.10.2", "registry.k8s.io/pause:3.9"]),
    ]
    nodes[1]["status"]["images"].append({"names": ["registry.k8s.io/pause:3.10.2"]})
    assert images.placeholder_from_nodes(nodes) == "registry.k8s.io/pause:3.10.2"
    assert images.placeholder_from_nodes([_node("c", [])]) == DEFAULT_PLACEHOLDER_IMAGE


# 8. a pod that never started is not placed


def _pod(node: str, phase: str, waiting: str | None = None) -> dict[str, Any]:
    statuses = [{"name": "main", "state": {"waiting": {"reason": waiting, "message": "no"}}}]
    return {
        "metadata": {"name": "p", "labels": {}},
        "spec": {"nodeName": node, "containers": [{"name": "main"}]},
        "status": {"phase": phase, "containerStatuses": statuses if waiting else []},
    }


def test_a_bound_pod_stuck_on_its_image_is_not_placed() -> None:
    view = observe._pod_view(_pod("kprep-worker3", "Pending", "ErrImagePull"), {}, {})
    assert view["scheduled"] is False and view["reason"] == "ErrImagePull"
    assert view["node"] == "kprep-worker3"


def test_on_kwok_a_bound_pod_is_placed_before_kwok_marks_it_running() -> None:
    """kwok starts nothing: bound is the scheduler's verdict (events None = pods never start)."""
    view = observe._pod_view(_pod("gpu-a100-1", "Pending"), {}, {}, None)
    assert view["scheduled"] is True and view["reason"] == ""
    # The same pod on kind is not placed yet, with why.
    view = observe._pod_view(_pod("gpu-a100-1", "Pending"), {}, {}, [])
    assert view["scheduled"] is False and view["reason"] == "NotStarted"


def test_a_running_pod_is_placed_under_its_profile_node_name() -> None:
    running = _pod("kprep-worker3", "Running")
    view = observe._pod_view(running, {}, {"kprep-worker3": "gpu-a100-2"})
    assert view["scheduled"] is True and view["node"] == "gpu-a100-2" and view["reason"] == ""


# 9. cpu and memory scaled to host-sized nodes, read back as written


def test_requests_are_scaled_for_kind_and_read_back_as_written() -> None:
    scale = Scale.fit(DEFAULT, 2000, 24 * 1024**3)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "vllm/vllm-openai:v0.6.0",
                    "resources": {"requests": {"cpu": "2", "memory": "8Gi"}},
                }
            ]
        },
    }
    applied = runnable_on_kind(pod, "registry.k8s.io/pause:3.10.2", scale)
    container = applied["spec"]["containers"][0]
    assert container["image"] == "registry.k8s.io/pause:3.10.2"
    # The biggest profile node (32 cpu) must fit in 2 host cpus: requests shrink 16x or more.
    assert int(container["resources"]["requests"]["cpu"].removesuffix("m")) <= 2000 // 16 + 1
    back = restore(applied)
    assert back["spec"]["containers"][0]["image"] == "vllm/vllm-openai:v0.6.0"
    assert back["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "2", "memory": "8Gi"}
    assert "annotations" not in back["metadata"]


# 10. no control-plane toleration advice; nodes by their profile names


def test_no_advice_to_tolerate_the_control_plane() -> None:
    gpu_node = {
        "name": "gpu-a100-0",
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
    }
    message = (
        "0/9 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 6 node(s) had untolerated taint "
        "{nvidia.com/gpu: present}, 2 Insufficient cpu."
    )
    said = " | ".join(advice.explain(message, [gpu_node]))
    assert "control-plane" not in said
    assert "nvidia.com/gpu" in said


def test_only_profile_nodes_by_their_profile_names() -> None:
    nodes = [
        _node("kprep-control-plane", []),
        _node("kprep-worker", [], "gpu-a100-0"),
        _node("kprep-worker2", [], "cpu-0"),
    ]
    kept = observe.profile_nodes(nodes)
    assert [observe.profile_name(n) for n in kept] == ["gpu-a100-0", "cpu-0"]
    # A foreign cluster (no labels): every node, by its own name.
    plain = [_node("n1", []), _node("n2", [])]
    assert [observe.profile_name(n) for n in observe.profile_nodes(plain)] == ["n1", "n2"]


# Faults: a plugin that crashed on a node shows on that node's status row


def test_status_says_which_node_lost_its_gpus(tmp_path: Path) -> None:
    import json

    from app.cluster.kind import KindProvider
    from app.cluster.nodes import node_rows

    provider = KindProvider(REPO, state_dir=tmp_path)
    provider.state_path.write_text(json.dumps({"profile": "default", "phase": "ready"}))
    ready = [{"type": "Ready", "status": "True"}]
    nodes = []
    for index, spec in enumerate(DEFAULT.nodes):
        allocatable = {k: str(v) for k, v in spec.device_resources.items()}
        if spec.name == "gpu-a100-2":
            allocatable["nvidia.com/gpu"] = "0"  # its plugin is gone: the kubelet says 0
        nodes.append(
            {
                "metadata": {
                    "name": f"kprep-worker{index + 1}",
                    "labels": {"kprep.dev/node": spec.name},
                },
                "status": {"conditions": ready, "allocatable": allocatable},
            }
        )
    rows = provider._with_problems(node_rows(nodes, [], "kprep.dev/node"), nodes)
    lost = {row.profile_node: row.problems for row in rows if row.problems}
    assert lost == {"gpu-a100-2": ("allocatable nvidia.com/gpu is 0, want 4",)}
