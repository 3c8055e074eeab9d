"""The shell side of the kind path: the runc wrapper and the build scripts' pins.

hack/runc-capstrip rewrites OCI specs before runc sees them; these tests run it for
real (sh + jq) against a stand-in runc that records what it was given, once as a
machine whose bounding set lacks CAP_SYS_RESOURCE and once as a normal one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WRAPPER = REPO / "hack" / "runc-capstrip"
CAPS = ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE", "CAP_NET_ADMIN"]
WITHOUT = "000001fffeffffff"
"""CapBnd of kprep's CI VM: every capability but 24 (CAP_SYS_RESOURCE)."""
WITH = "000001ffffffffff"


@pytest.fixture
def fake_runc(tmp_path: Path) -> Path:
    """A stand-in runc: records its arguments and the spec as it finds it."""
    script = tmp_path / "runc"
    script.write_text(
        "#!/bin/sh\n"
        'out="$FAKE_RUNC_OUT"\n'
        'printf "%s\\n" "$@" > "$out/args"\n'
        '[ -n "$FAKE_SPEC" ] && cp "$FAKE_SPEC" "$out/seen.json"\n'
        "exit 0\n"
    )
    script.chmod(0o755)
    return script


def run_wrapper(
    args: list[str], capbnd: str, fake_runc: Path, spec: Path, out: Path
) -> subprocess.CompletedProcess[str]:
    if shutil.which("jq") is None:
        pytest.fail("jq is required by hack/runc-capstrip (apt-get install jq)")
    env = {
        **os.environ,
        "KPREP_REAL_RUNC": str(fake_runc),
        "KPREP_CAPBND": capbnd,
        "FAKE_RUNC_OUT": str(out),
        "FAKE_SPEC": str(spec),
    }
    return subprocess.run(
        ["sh", str(WRAPPER), *args], env=env, capture_output=True, text=True, check=True
    )


def bundle_spec(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    caps = {k: list(CAPS) for k in ("bounding", "effective", "permitted", "inheritable")}
    spec = {"ociVersion": "1.0.2", "process": {"args": ["/pause"], "capabilities": caps}}
    path = bundle / "config.json"
    path.write_text(json.dumps(spec))
    return path


def test_create_drops_sys_resource_from_every_list_when_the_kernel_lacks_it(
    tmp_path: Path, fake_runc: Path
) -> None:
    spec = bundle_spec(tmp_path)
    args = ["--root", "/run/x", "--log", "/l", "create", "--bundle", str(spec.parent), "id1"]
    run_wrapper(args, WITHOUT, fake_runc, spec, tmp_path)
    seen = json.loads((tmp_path / "seen.json").read_text())
    for name, caps in seen["process"]["capabilities"].items():
        assert caps == ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"], name
    assert (tmp_path / "args").read_text().split() == args  # same arguments, same order


def test_exec_process_file_is_rewritten_too(tmp_path: Path, fake_runc: Path) -> None:
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["sh"], "capabilities": {"bounding": CAPS}}))
    run_wrapper(
        ["exec", "--process", str(process), "--detach", "id1"],
        WITHOUT,
        fake_runc,
        process,
        tmp_path,
    )
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["capabilities"]["bounding"] == ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"]


def test_bundle_given_with_equals_and_short_flag(tmp_path: Path, fake_runc: Path) -> None:
    spec = bundle_spec(tmp_path)
    for flag in ([f"--bundle={spec.parent}"], ["-b", str(spec.parent)]):
        spec.write_text(
            json.dumps({"process": {"capabilities": {"bounding": ["CAP_SYS_RESOURCE"]}}})
        )
        run_wrapper(["create", *flag, "id"], WITHOUT, fake_runc, spec, tmp_path)
        assert json.loads(spec.read_text())["process"]["capabilities"]["bounding"] == []


def test_a_normal_machine_passes_everything_through_untouched(
    tmp_path: Path, fake_runc: Path
) -> None:
    spec = bundle_spec(tmp_path)
    before = spec.read_text()
    run_wrapper(["create", "--bundle", str(spec.parent), "id1"], WITH, fake_runc, spec, tmp_path)
    assert spec.read_text() == before


def test_other_subcommands_are_passed_through(tmp_path: Path, fake_runc: Path) -> None:
    spec = bundle_spec(tmp_path)
    before = spec.read_text()
    run_wrapper(["--root", "/r", "delete", "--force", "id1"], WITHOUT, fake_runc, spec, tmp_path)
    assert spec.read_text() == before
    assert (tmp_path / "args").read_text().split() == ["--root", "/r", "delete", "--force", "id1"]


def pinned(script: str, name: str) -> str:
    text = (REPO / "hack" / script).read_text()
    match = re.search(rf"^{name}=(\S+)$", text, re.M)
    assert match, f"{name} not pinned in hack/{script}"
    return match.group(1)


def test_kind_node_pins_agree_with_the_control_plane_build() -> None:
    for name in ("K8S_VERSION", "ETCD_VERSION"):
        assert pinned("build-kind-node.sh", name) == pinned("build-binaries.sh", name), name
    assert pinned("build-kind-node.sh", "KIND_VERSION") == "0.33.0"
    assert pinned("build-kind-node.sh", "CONTAINERD_VERSION") == "2.3.7"
    kind_mod = (REPO / "hack" / "modules" / "kind" / "go.mod").read_text()
    assert "sigs.k8s.io/kind v0.33.0" in kind_mod
    containerd_mod = (REPO / "hack" / "modules" / "containerd" / "go.mod").read_text()
    assert "github.com/containerd/containerd/v2 v2.3.7" in containerd_mod


def test_node_containerd_sandbox_image_is_the_pause_the_node_holds() -> None:
    config = (REPO / "hack" / "kind-node" / "containerd.toml").read_text()
    pause = pinned("build-kind-node.sh", "PAUSE_VERSION")
    assert f'sandbox_image = "registry.k8s.io/pause:{pause}"' in config
    assert "restrict_oom_score_adj = true" in config
    assert 'BinaryName = "/usr/local/sbin/runc-capstrip"' in config


def test_plugin_wheels_satisfy_the_generated_stubs() -> None:
    stubs = (REPO / "app" / "deviceplugin" / "v1beta1" / "api_pb2_grpc.py").read_text()
    generated = re.search(r"GRPC_GENERATED_VERSION = '([\d.]+)'", stubs)
    assert generated
    grpcio = pinned("build-plugin-image.sh", "GRPCIO_VERSION")
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    assert as_tuple(grpcio) >= as_tuple(generated.group(1))
    protobuf = pinned("build-plugin-image.sh", "PROTOBUF_VERSION")
    runtime = re.search(
        r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+)",
        (REPO / "app" / "deviceplugin" / "v1beta1" / "api_pb2.py").read_text(),
    )
    assert runtime
    major, minor, patch = (int(g) for g in runtime.groups())
    assert as_tuple(protobuf)[0] == major
    assert as_tuple(protobuf) >= (major, minor, patch)
