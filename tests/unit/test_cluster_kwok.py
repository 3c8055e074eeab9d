"""The kwok provider without running it: nodes from profiles, binaries, kwokctl arguments."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from app.cluster import crds, kwok, kwok_binaries, kwok_nodes
from app.cluster.errors import ClusterError
from app.cluster.profiles import list_profiles, load_profile
from tests.conftest import REPO


@pytest.mark.parametrize("name", list_profiles(REPO))
def test_every_node_advertises_its_devices_in_capacity_and_allocatable(name: str) -> None:
    profile = load_profile(name, REPO)
    for node in profile.nodes:
        manifest = kwok_nodes.node_manifest(node, profile)
        status = manifest["status"]
        assert status["capacity"] == status["allocatable"]
        for resource, count in node.device_resources.items():
            assert status["allocatable"][resource] == str(count)
        assert manifest["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
        labels = manifest["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == node.name
        assert (
            labels[kwok_nodes.NODE_LABEL] == node.name and labels[kwok_nodes.PROFILE_LABEL] == name
        )
        assert manifest["spec"].get("taints", []) == [t.as_dict() for t in node.taints]


def test_default_profile_shape() -> None:
    profile = load_profile("default", REPO)
    a100 = [n for n in profile.nodes if n.labels.get("gpu-type") == "a100"]
    assert len(a100) == 4 and all(n.gpu_count == 4 for n in a100)
    assert {n.zone for n in a100} == {"zone-a", "zone-b"}
    assert sum(n.gpu_count for n in profile.nodes) == 18
    taint = kwok_nodes.node_manifest(a100[0], profile)["spec"]["taints"]
    assert taint == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]


def test_the_node_hash_changes_with_the_profile_entry() -> None:
    profile = load_profile("default", REPO)
    node = profile.nodes[0]
    first = kwok_nodes.node_manifest(node, profile)["metadata"]["annotations"][
        kwok_nodes.SPEC_ANNOTATION
    ]
    mig = load_profile("mig", REPO)
    other = kwok_nodes.node_manifest(mig.nodes[0], mig)["metadata"]["annotations"][
        kwok_nodes.SPEC_ANNOTATION
    ]
    assert first != other


@pytest.mark.parametrize("name", list_profiles(REPO))
def test_profile_crds_resolve_against_the_course(name: str) -> None:
    profile = load_profile(name, REPO)
    paths = crds.resolve_crd_paths(profile, REPO)
    documents = crds.crd_documents(paths)
    assert len(documents) >= len(paths)  # every file holds at least one CRD
    assert all(d["kind"] == "CustomResourceDefinition" for d in documents)


def test_versions_match_the_build_script() -> None:
    script = (REPO / "hack" / "build-binaries.sh").read_text()
    for name, value in (
        ("K8S_VERSION", kwok_binaries.K8S_VERSION),
        ("ETCD_VERSION", kwok_binaries.ETCD_VERSION),
        ("KWOK_VERSION", kwok_binaries.KWOK_VERSION),
    ):
        assert re.search(rf"^{name}={re.escape(value)}$", script, re.M), name
    for binary in kwok_binaries.BINARIES:
        assert binary in script


def fake_bin_dir(tmp_path: Path, skip: str = "") -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in kwok_binaries.BINARIES:
        if name == skip:
            continue
        path = folder / name
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


def test_missing_binaries_say_how_to_build_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fake_bin_dir(tmp_path, skip="kubectl")
    monkeypatch.setenv(kwok_binaries.BIN_DIR_ENV, str(folder))
    with pytest.raises(ClusterError, match="kubectl") as info:
        kwok_binaries.find_binaries()
    assert "hack/build-binaries.sh" in str(info.value)


def test_kwokctl_gets_every_binary_and_never_the_users_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fake_bin_dir(tmp_path)
    monkeypatch.setenv("KUBECONFIG", "/home/someone/.kube/config")
    provider = kwok.KwokProvider(REPO, state_dir=tmp_path / "state", bin_dir=folder)
    binaries = kwok_binaries.find_binaries(folder)
    args = provider.create_args(binaries)
    assert "--kubeconfig=" in args and "--runtime" in args and "binary" in args
    for flag, name in (
        ("--etcd-binary", "etcd"),
        ("--kube-apiserver-binary", "kube-apiserver"),
        ("--kube-controller-manager-binary", "kube-controller-manager"),
        ("--kube-scheduler-binary", "kube-scheduler"),
        ("--kwok-controller-binary", "kwok"),
    ):
        assert args[args.index(flag) + 1] == str(folder / name)
    env = provider._env(binaries)
    assert env["KWOK_WORKDIR"] == str(tmp_path / "state" / "work")
    assert env["PATH"].split(":")[0] == str(folder)  # our kubectl before any other
    assert "KUBECONFIG" not in env


def test_state_lives_under_kprep_home(kprep_home: Path) -> None:
    provider = kwok.KwokProvider(REPO)
    assert kprep_home in provider.kubeconfig_path.parents
    assert kprep_home in provider.workdir.parents


def test_status_without_a_cluster_is_a_clear_error() -> None:
    from app.cluster.errors import ClusterNotRunning

    with pytest.raises(ClusterNotRunning, match="kprep cluster up"):
        kwok.KwokProvider(REPO).status()


def test_kwok_stages_keep_job_pods_running() -> None:
    import yaml

    stages = {
        d["metadata"]["name"]: d for d in yaml.safe_load_all(kwok.STAGES_PATH.read_text()) if d
    }
    # Providing any Stage replaces all of kwokctl's defaults: the full set must be there.
    assert set(stages) == {
        "node-initialize",
        "node-heartbeat-with-lease",
        "pod-ready",
        "pod-complete",
        "pod-delete",
        "pod-start-loading",
        "pod-loaded",
    }
    assert stages["pod-complete"]["spec"]["delay"]["durationMilliseconds"] >= 60_000
    assert "delay" not in stages["pod-ready"]["spec"]
    # Only pods that ask for a loading delay take the slow path; the others stay instant.
    delayed = '.metadata.annotations["kprep.dev/ready-after"]'
    ready_keys = {
        e["key"]: e["operator"] for e in stages["pod-ready"]["spec"]["selector"]["matchExpressions"]
    }
    assert ready_keys[delayed] == "DoesNotExist"
    for name in ("pod-start-loading", "pod-loaded"):
        keys = {
            e["key"]: e["operator"] for e in stages[name]["spec"]["selector"]["matchExpressions"]
        }
        assert keys[delayed] == "Exists", name


def test_create_args_pass_the_stages_and_a_fast_hpa_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPREP_ADDONS", "0")
    folder = fake_bin_dir(tmp_path)
    args = kwok.KwokProvider(REPO, bin_dir=folder).create_args(kwok_binaries.find_binaries(folder))
    assert args[args.index("--config") + 1] == str(kwok.STAGES_PATH)
    assert "kube-controller-manager=horizontal-pod-autoscaler-sync-period=1s" in args
    assert not any(a.startswith("--enable-crds") for a in args)


def test_create_args_with_add_ons_pass_their_config_before_the_subcommand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KPREP_ADDONS", raising=False)
    folder = fake_bin_dir(tmp_path)
    provider = kwok.KwokProvider(REPO, state_dir=tmp_path / "state", bin_dir=folder)
    args = provider.create_args(kwok_binaries.find_binaries(folder))
    configs = [args[i + 1] for i, a in enumerate(args) if a == "--config"]
    assert configs == [str(kwok.STAGES_PATH), str(provider.addons.paths.kwokctl_config)]
    assert args.index("create") > args.index(configs[1])  # global flags come first
    assert "--enable-crds=Metric,ClusterResourceUsage,ResourceUsage" in args
    # kwokctl's --extra-args panics with more than one component: only the config is used.
    assert "--extra-args" not in args


def test_nodes_point_metrics_server_at_kwoks_resource_metrics() -> None:
    from app.cluster.profiles import load_profile

    profile = load_profile("default", REPO)
    node = kwok_nodes.node_manifest(profile.nodes[0], profile)
    assert node["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"] == (
        f"/metrics/nodes/{profile.nodes[0].name}/metrics/resource"
    )


def test_down_stops_the_add_ons_before_the_control_plane(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = kwok.KwokProvider(REPO, state_dir=tmp_path / "state")
    calls: list[str] = []

    def stop_addons() -> list[str]:
        calls.append("addons")
        return []

    monkeypatch.setattr(provider.addons, "stop", stop_addons)
    monkeypatch.setattr(provider, "_kill_components", lambda: calls.append("control plane"))
    provider.down()
    assert calls == ["addons", "control plane"]


def _running(manifest: dict, uid: str = "u-1") -> dict:
    """A node as the API server returns it after kprep created it from `manifest`."""
    import copy

    node = copy.deepcopy(manifest)
    node["metadata"]["uid"] = uid
    return node


def test_a_node_the_next_profile_keeps_is_updated_in_place_not_recreated() -> None:
    default, sharing = load_profile("default", REPO), load_profile("sharing", REPO)
    cpu_default = next(n for n in default.nodes if n.name == "cpu-0")
    cpu_sharing = next(n for n in sharing.nodes if n.name == "cpu-0")
    before = _running(kwok_nodes.node_manifest(cpu_sharing, sharing))
    before["metadata"]["labels"]["left-over"] = "x"
    after = kwok_nodes.node_manifest(cpu_default, default)
    patch = kwok_nodes.node_update(before, after)
    assert patch is not None
    labels = patch["metadata"]["labels"]
    assert labels["left-over"] is None  # a label the new profile lacks is removed
    assert labels[kwok_nodes.PROFILE_LABEL] == "default"
    assert (
        patch["metadata"]["annotations"][kwok_nodes.SPEC_ANNOTATION]
        == after["metadata"]["annotations"][kwok_nodes.SPEC_ANNOTATION]
    )
    # the same node, already the profile's: nothing to do
    assert kwok_nodes.node_update(_running(after), after) is None


def test_a_gpu_node_reshaped_loses_the_old_devices_and_taints() -> None:
    default, mixed = load_profile("default", REPO), load_profile("mixed-vendors", REPO)
    gpu = default.nodes[0]
    before = _running(kwok_nodes.node_manifest(gpu, default))
    other = next(n for n in mixed.nodes if n.gpu_resource != gpu.gpu_resource)
    after = kwok_nodes.node_manifest(other, mixed)
    after["metadata"]["name"] = before["metadata"]["name"]
    patch = kwok_nodes.node_update(before, after)
    assert patch is not None
    assert patch["spec"]["taints"] == after["spec"].get("taints")
    status = kwok_nodes.status_update(before, after)["status"]
    for field in ("capacity", "allocatable"):
        assert status[field][gpu.gpu_resource] is None
        assert status[field][other.gpu_resource] == after["status"][field][other.gpu_resource]
    # a new node: the manifest's status as is
    assert (
        kwok_nodes.status_update(None, after)["status"]["capacity"] == after["status"]["capacity"]
    )


def test_a_lease_left_by_an_earlier_node_of_that_name_is_not_current() -> None:
    nodes = [
        {"metadata": {"name": "cpu-0", "uid": "new"}},
        {"metadata": {"name": "cpu-1", "uid": "b"}},
        {"metadata": {"name": "gpu-0", "uid": "c"}},
        {"metadata": {"name": "gpu-1", "uid": "d"}},
    ]

    def lease(name: str, uid: str | None) -> dict:
        owners = [{"kind": "Node", "name": name, "uid": uid}] if uid else []
        return {"metadata": {"name": name, "ownerReferences": owners}}

    leases = [lease("cpu-0", "old"), lease("cpu-1", "b"), lease("gpu-0", None)]
    # cpu-0's belongs to the node it replaced; gpu-1 has none yet; gpu-0's owner is
    # set by kwok on its next renewal (it is the node's own, made before the owner was known)
    assert kwok_nodes.leases_not_current(nodes, leases) == ["cpu-0", "gpu-1"]
