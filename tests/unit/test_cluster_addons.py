"""The add-ons' pure parts: binary folders (same hash as hack/build-addons.sh), the
control-plane configuration, command lines and registrations."""

from __future__ import annotations

import base64
import contextlib
import subprocess
import time
from pathlib import Path

import pytest

from app.cluster import addon_binaries, addon_config
from app.cluster.addon_config import AddonPaths, Ports
from app.cluster.errors import ClusterError
from tests.conftest import REPO

SCRIPT = REPO / "hack" / "build-addons.sh"


def _script_function(name: str, *args: str) -> str:
    """Run one shell function of hack/build-addons.sh as the script defines it."""
    program = f'repo={REPO}\neval "$(sed -n \'/^{name}() {{/,/^}}/p\' {SCRIPT})"\n{name} "$@"\n'
    result = subprocess.run(
        ["bash", "-c", program, "bash", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


@pytest.mark.parametrize("group", sorted(addon_binaries.GROUP_BINARIES))
def test_group_hash_is_the_build_scripts(group: str) -> None:
    assert addon_binaries.group_hash(group) == _script_function("group_hash", group)


@pytest.mark.parametrize("group", sorted(addon_binaries.GROUP_BINARIES))
def test_group_binaries_are_the_build_scripts(group: str) -> None:
    built = _script_function("binaries_of", group).split()
    assert tuple(built) == addon_binaries.GROUP_BINARIES[group]


def test_group_hash_changes_with_the_module_sources(tmp_path: Path) -> None:
    module = tmp_path / "hack" / "modules" / "metrics"
    (module / "cmd").mkdir(parents=True)
    (module / "go.mod").write_text("module x\n")
    (module / "cmd" / "main.go").write_text("package main\n")
    (module / "README.md").write_text("not hashed\n")
    before = addon_binaries.group_hash("metrics", tmp_path)
    (module / "README.md").write_text("still not hashed\n")
    assert addon_binaries.group_hash("metrics", tmp_path) == before
    (module / "cmd" / "main.go").write_text("package main\n\nfunc main() {}\n")
    assert addon_binaries.group_hash("metrics", tmp_path) != before


def test_missing_binaries_name_the_build_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "addons"
    folder.mkdir()
    (folder / "metrics-server").write_text("#!/bin/sh\n")
    (folder / "metrics-server").chmod(0o755)
    monkeypatch.setenv(addon_binaries.ADDONS_BIN_DIR_ENV, str(folder))
    with pytest.raises(ClusterError) as info:
        addon_binaries.find_addon_binaries()
    message = str(info.value)
    assert "hack/build-addons.sh" in message
    assert "kprep-metrics-adapter" in message and "training-operator" in message
    assert "metrics-server (" not in message  # present, so not reported


def _paths(tmp_path: Path) -> AddonPaths:
    return AddonPaths(tmp_path / "state" / "addons", tmp_path / "state" / "kubeconfig")


PORTS = Ports(40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008)


def test_lab_time_divides_the_hpa_durations_with_a_floor_of_one_second() -> None:
    assert addon_config.lab_time_controller_args(10) == {
        "horizontal-pod-autoscaler-sync-period": "1s",
        "horizontal-pod-autoscaler-cpu-initialization-period": "30s",
        "horizontal-pod-autoscaler-initial-readiness-delay": "3s",
        "horizontal-pod-autoscaler-downscale-stabilization": "30s",
    }
    slow = addon_config.lab_time_controller_args(1000)
    assert set(slow.values()) == {"1s"}


def test_kwokctl_config_sets_the_front_proxy_and_lab_time(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    config = addon_config.kwokctl_config(paths)
    assert config["kind"] == "KwokctlConfiguration"
    patches = {
        p["name"]: {a["key"]: a for a in p["extraArgs"]} for p in config["componentsPatches"]
    }
    apiserver = patches["kube-apiserver"]
    assert apiserver["requestheader-client-ca-file"]["value"] == str(
        paths.pki / "front-proxy-ca.crt"
    )
    assert apiserver["requestheader-allowed-names"]["value"] == "front-proxy-client"
    # kwokctl sets its own proxy client certificate; only `override` replaces it.
    assert apiserver["proxy-client-cert-file"]["override"] is True
    assert apiserver["proxy-client-key-file"]["value"] == str(paths.pki / "front-proxy-client.key")
    manager = patches["kube-controller-manager"]
    assert manager["horizontal-pod-autoscaler-sync-period"]["value"] == "1s"
    flags = addon_config.kwokctl_create_flags()
    assert "--enable-crds=Metric,ClusterResourceUsage,ResourceUsage" in flags
    assert "--kube-feature-gates=GenericWorkload=true,GangScheduling=true" in flags


def test_every_process_names_the_clusters_state_folder(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    specs = addon_config.process_specs(paths, PORTS)
    assert [s.name for s in specs] == [
        "metrics-server",
        "kprep-metrics-adapter",
        "jobset-controller",
        "trainer-controller-manager",
        "training-operator",
    ]
    for spec in specs:
        # The pid ownership check (a reused pid is never signalled) relies on this.
        assert any(str(paths.root.parent) in arg for arg in spec.args), spec.name
        assert spec.ready_url.startswith("http")
    ports_in_use = [s.ready_url.rsplit(":", 1)[1].split("/")[0] for s in specs]
    assert len(set(ports_in_use)) == len(specs)


def test_the_pki_covers_the_aggregated_services(tmp_path: Path) -> None:
    args = addon_config.pki_args(_paths(tmp_path))
    hosts = [args[i + 1] for i, a in enumerate(args) if a == "--host"]
    assert "127.0.0.1" in hosts
    assert "metrics-server.kprep-system.svc" in hosts
    assert "kprep-metrics-adapter.kprep-system.svc" in hosts
    assert "--front-proxy" in args


def test_apiservices_name_externalname_services_on_the_loopback(tmp_path: Path) -> None:
    objects = addon_config.metrics_registrations(PORTS, "Q0E=")
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    assert services["metrics-server"]["spec"]["externalName"] == "127.0.0.1"
    assert services["metrics-server"]["spec"]["ports"][0]["port"] == PORTS.metrics_server
    apiservices = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "APIService"}
    assert set(apiservices) == {
        "v1beta1.metrics.k8s.io",
        "v1beta1.custom.metrics.k8s.io",
        "v1beta2.custom.metrics.k8s.io",
        "v1beta1.external.metrics.k8s.io",
    }
    metrics = apiservices["v1beta1.metrics.k8s.io"]
    assert (metrics["group"], metrics["version"]) == ("metrics.k8s.io", "v1beta1")
    assert metrics["service"] == {
        "name": "metrics-server",
        "namespace": "kprep-system",
        "port": PORTS.metrics_server,
    }
    assert apiservices["v1beta1.external.metrics.k8s.io"]["service"]["port"] == (
        PORTS.metrics_adapter
    )
    assert all(s["caBundle"] == "Q0E=" for s in apiservices.values())
    assert objects[0]["kind"] == "Namespace"  # the Services' namespace comes first


@pytest.mark.parametrize("process", sorted(addon_config.WEBHOOK_FILES))
def test_webhooks_call_the_host_process_by_url(process: str) -> None:
    bundle = base64.b64encode(b"ca").decode()
    configurations = addon_config.webhook_configurations(process, 41000, bundle)
    assert configurations
    upstream = addon_config.load_manifests(addon_config.WEBHOOK_FILES[process])
    for configuration, original in zip(configurations, upstream, strict=True):
        for webhook, before in zip(configuration["webhooks"], original["webhooks"], strict=True):
            path = before["clientConfig"]["service"]["path"]
            assert webhook["clientConfig"] == {
                "url": f"https://127.0.0.1:41000{path}",
                "caBundle": bundle,
            }
            assert webhook["failurePolicy"] == before["failurePolicy"]


def test_jobset_runs_without_its_certificate_rotator(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    config = addon_config.jobset_config(paths, PORTS)
    assert config["internalCertManagement"] == {"enable": False}
    assert config["webhook"] == {
        "port": PORTS.jobset_webhook,
        "host": "127.0.0.1",
        "certDir": str(paths.serving_dir),
    }
    assert config["leaderElection"] == {"leaderElect": False}


def test_processes_start_detached_and_stop_without_leftovers(tmp_path: Path) -> None:
    import os

    from app.cluster import addon_processes
    from app.cluster.addon_config import ProcessSpec

    paths = _paths(tmp_path)
    # `sh -c 'sleep 30' STATE`: the command line names the state folder, as every add-on's does.
    spec = ProcessSpec("sleeper", "sh", ("-c", "sleep 30", str(paths.root.parent)), "http://x")
    pid = addon_processes.start(paths, spec, Path("/bin/sh"))
    try:
        assert addon_processes.pid_file(paths, "sleeper").read_text().strip() == str(pid)
        assert os.getsid(pid) == pid  # its own session: it outlives `kprep cluster up`
        deadline = time.monotonic() + 5
        while addon_processes.running_pid(paths, "sleeper") is None:
            assert time.monotonic() < deadline, "never seen running"
            time.sleep(0.05)
        assert addon_processes.stop(paths, ["sleeper"]) == ["sleeper"]
        assert addon_processes.exited(paths, "sleeper")
        assert not addon_processes.pid_file(paths, "sleeper").exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def test_a_pid_that_is_not_this_clusters_is_never_signalled(tmp_path: Path) -> None:
    import os

    from app.cluster import addon_processes

    paths = _paths(tmp_path)
    paths.pids.mkdir(parents=True)
    # Our own pid: alive, but its command line does not name the cluster's state folder.
    addon_processes.pid_file(paths, "metrics-server").write_text(f"{os.getpid()}\n")
    assert addon_processes.running_pid(paths, "metrics-server") is None
    assert addon_processes.stop(paths, ["metrics-server"]) == []
