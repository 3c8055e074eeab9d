"""The kind provider on a real kind cluster: real kubelets, kprep's device plugin, the scheduler.

Marked `live` (by tests/live/conftest.py) and `kind`. The module creates the
cluster itself with `kprep cluster up --provider kind` in its own KPREP_HOME
(`KPREP_KIND_HOME`, else a temporary folder), next to the kwok cluster the other
live tests use, and deletes it at the end (`test_zz_down_removes_the_containers`,
and again on teardown should a test fail first). Docker, the kind binary or a node
image missing is a failure with kprep's own message saying what to run
(`hack/ci-kind.sh` prepares all three), never a skip.

Few tests, each checking several things, because creating the cluster is most of
the cost (about two minutes for the default profile's nine containers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ORIGINAL_KPREP_HOME, REPO

pytestmark = pytest.mark.kind

KPREP = [sys.executable, "-m", "app.cli"]
PROFILE = "default"
UP_TIMEOUT_SECONDS = 900


def _kprep(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KPREP_HOME": str(home)}
    return subprocess.run(
        [*KPREP, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def _wait(what: str, condition: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)
        time.sleep(1)


class KindCluster:
    """The kind cluster this module created: its KPREP_HOME, API client and profile."""

    def __init__(self, home: Path, kube: Any, up_output: str, up_seconds: float) -> None:
        from app.cluster.profiles import load_profile

        self.home = home
        self.kube = kube
        self.up_output = up_output
        self.up_seconds = up_seconds
        self.profile = load_profile(PROFILE, REPO)

    def nodes(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.kube.get("/api/v1/nodes").get("items") or []
        return items

    def node_by_profile_name(self) -> dict[str, dict[str, Any]]:
        from app.cluster.nodes import PROFILE_NODE_LABEL

        return {
            n["metadata"]["labels"][PROFILE_NODE_LABEL]: n
            for n in self.nodes()
            if PROFILE_NODE_LABEL in n["metadata"].get("labels", {})
        }

    def placeholder(self) -> str:
        state = json.loads((self.home / "data/cluster/kind/state.json").read_text())
        return str(state["placeholder"])


@pytest.fixture(scope="module")
def kind_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KindCluster]:
    from app.cluster.kube import Kube

    home = Path(os.environ.get("KPREP_KIND_HOME") or tmp_path_factory.mktemp("kind-home"))
    start = time.monotonic()
    up = _kprep(home, "cluster", "up", "--provider", "kind", "--profile", PROFILE,
                timeout=UP_TIMEOUT_SECONDS)  # fmt: skip
    seconds = time.monotonic() - start
    if up.returncode != 0:
        _kprep(home, "cluster", "down", "--provider", "kind", timeout=300)
        pytest.fail(
            f"`kprep cluster up --provider kind` failed (exit {up.returncode}) in {seconds:.0f}s "
            f"(prepare the machine with `bash hack/ci-kind.sh`):\n{up.stderr}{up.stdout}",
            pytrace=False,
        )
    kube = Kube(home / "data/cluster/kind/kubeconfig")
    try:
        yield KindCluster(home, kube, up.stderr, seconds)
    finally:
        kube.close()
        _kprep(home, "cluster", "down", "--provider", "kind", timeout=300)


@pytest.fixture
def namespace(kind_cluster: KindCluster) -> Iterator[str]:
    name = f"kprep-kind-{uuid.uuid4().hex[:6]}"
    kind_cluster.kube.request(
        "POST", "/api/v1/namespaces", body={"kind": "Namespace", "metadata": {"name": name}}
    )
    try:
        yield name
    finally:
        kind_cluster.kube.delete(f"/api/v1/namespaces/{name}")


def _gpu_pod(name: str, image: str, gpus: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
            "containers": [
                {"name": "main", "image": image, "resources": {"limits": {"nvidia.com/gpu": gpus}}}
            ],
        },
    }


def test_up_says_which_node_image_and_every_gpu_worker_advertises_its_devices(
    kind_cluster: KindCluster,
) -> None:
    from app.cluster.kind import LOCAL_NODE_IMAGE, PUBLIC_NODE_IMAGE

    output = kind_cluster.up_output
    assert f"node image: {PUBLIC_NODE_IMAGE}" in output or (
        f"node image: {LOCAL_NODE_IMAGE}" in output
    ), output
    by_name = kind_cluster.node_by_profile_name()
    assert sorted(by_name) == sorted(spec.name for spec in kind_cluster.profile.nodes)
    for spec in kind_cluster.profile.nodes:
        node = by_name[spec.name]
        allocatable = node["status"]["allocatable"]
        # The kubelet reports what the device plugin registered: the profile's count, and
        # nothing on nodes without GPUs.
        for resource, count in spec.device_resources.items():
            assert allocatable.get(resource) == str(count), (spec.name, allocatable)
        if not spec.device_resources:
            assert "nvidia.com/gpu" not in allocatable, (spec.name, allocatable)
        assert node["metadata"]["name"].startswith("kprep-worker")
    control_plane = [n for n in kind_cluster.nodes() if n["metadata"]["name"].endswith("plane")]
    assert len(control_plane) == 1
    assert "nvidia.com/gpu" not in control_plane[0]["status"]["allocatable"]
    # `status` shows the profile's node names and the GPUs the kubelets report.
    status = _kprep(kind_cluster.home, "cluster", "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    rows = {r["name"]: r for r in map(json.loads, status.stdout.splitlines())}
    a100 = next(
        s for s in kind_cluster.profile.nodes if s.device_resources.get("nvidia.com/gpu") == 4
    )
    assert rows[a100.name]["gpusAllocatable"] == 4, rows


def test_gpu_pod_is_placed_by_the_scheduler_and_gets_the_plugins_device(
    kind_cluster: KindCluster, namespace: str
) -> None:
    kube = kind_cluster.kube
    pods = f"/api/v1/namespaces/{namespace}/pods"
    kube.request("POST", pods, body=_gpu_pod("trainer", kind_cluster.placeholder(), 2))
    kube.request("POST", pods, body=_gpu_pod("too-big", kind_cluster.placeholder(), 5))

    def running() -> dict[str, Any] | None:
        pod: dict[str, Any] = kube.get(f"{pods}/trainer")
        return pod if pod.get("status", {}).get("phase") == "Running" else None

    pod = _wait("the GPU pod to run", running, timeout=90)
    node_name = pod["spec"]["nodeName"]
    node = kube.get(f"/api/v1/nodes/{node_name}")
    assert node["status"]["allocatable"].get("nvidia.com/gpu") == "4", node_name
    # The kubelet called the plugin's Allocate: the container's environment (below the pod
    # spec, so read from containerd on the node) holds the devices it was given.
    container_id = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    info = subprocess.run(
        ["docker", "exec", node_name, "ctr", "-n", "k8s.io", "containers", "info", container_id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert info.returncode == 0, info.stderr
    env = json.loads(info.stdout)["Spec"]["process"]["env"]
    visible = [e for e in env if e.startswith("NVIDIA_VISIBLE_DEVICES=")]
    assert len(visible) == 1, env
    assert len(visible[0].split("=", 1)[1].split(",")) == 2, visible
    assert any(e.startswith("KPREP_VISIBLE_DEVICES=") for e in env), env
    # No node has 5 GPUs: the real scheduler leaves the pod Pending and says why.
    refused = kube.get(f"{pods}/too-big")
    assert refused["status"]["phase"] == "Pending"
    assert not refused["spec"].get("nodeName")
    condition = next(c for c in refused["status"]["conditions"] if c["type"] == "PodScheduled")
    assert condition["reason"] == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in condition["message"], condition


def test_after_a_kubelet_restart_the_plugin_registers_again_and_reports_health(
    kind_cluster: KindCluster,
) -> None:
    spec = next(s for s in kind_cluster.profile.nodes if s.device_resources.get("nvidia.com/gpu"))
    node_name = kind_cluster.node_by_profile_name()[spec.name]["metadata"]["name"]
    count = spec.device_resources["nvidia.com/gpu"]
    health = "/var/lib/kprep/health/nvidia-com-gpu"

    def allocatable() -> str:
        node = kind_cluster.kube.get(f"/api/v1/nodes/{node_name}")
        return str(node["status"]["allocatable"].get("nvidia.com/gpu"))

    def registered() -> int:
        logs = subprocess.run(
            ["docker", "exec", node_name, "journalctl", "-u", "kubelet", "--no-pager"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        return logs.count("Got registration request from device plugin")

    before = registered()
    assert before >= 1
    # A restarted kubelet forgets every plugin and recreates its socket: the plugin must
    # notice and register again, else the kubelet never hears of its devices' health.
    subprocess.run(["docker", "exec", node_name, "systemctl", "restart", "kubelet"], check=True)
    _wait("the plugin to register again", lambda: registered() > before, timeout=90)
    subprocess.run(["docker", "exec", node_name, "sh", "-c", f"echo 0 > {health}"], check=True)
    try:
        _wait("allocatable to drop", lambda: allocatable() == str(count - 1), timeout=60)
        # `status` names the node that lost a GPU, by its profile name.
        status = _kprep(kind_cluster.home, "cluster", "status", "--format", "json")
        rows = {r["name"]: r for r in map(json.loads, status.stdout.splitlines())}
        assert rows[spec.name]["problems"] == [
            f"allocatable nvidia.com/gpu is {count - 1}, want {count}"
        ], rows[spec.name]
    finally:
        subprocess.run(["docker", "exec", node_name, "rm", "-f", health], check=True)
    _wait("allocatable to come back", lambda: allocatable() == str(count), timeout=60)


def test_check_live_passes_a_course_reference_on_kind(
    kind_cluster: KindCluster, tmp_path: Path
) -> None:
    from app.course.loader import Course

    answer = tmp_path / "answer.yaml"
    answer.write_text(Course(REPO).scenario("gpu-limits").answer_text())
    result = _kprep(
        kind_cluster.home, "check", "-s", "gpu-limits", "--live", "--format", "json", str(answer)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    live = [c for c in report["checks"] if c["id"] == "lands-on-gpu-node"]
    assert live and live[0]["status"] == "pass", report
    placed = report["placement"]
    profile_names = {spec.name for spec in kind_cluster.profile.device_nodes}
    # Placements name the profile's nodes (as on kwok), not kind's containers.
    assert placed and all(p["node"] in profile_names for p in placed), placed


# -- differential: the same answers on kwok and on kind ---------------------------------------
#
# Every scenario of the kind cluster's profile that has live checks: its reference answer
# and every live check's wrong answers, graded on both clusters at once (one thread each:
# the clusters share nothing), compared check by check and by how many pods were placed.
# Which of several equal nodes the scheduler picks is not fixed, so placements are compared
# as counts of placed pods; for answers with an HPA (which acts on kwok's lab-time metrics
# and has none on kind) only the verdicts. The known differences (scenarios/README.md, "on
# kind") are pinned here too: kinds whose controller runs next to the kwok provider only
# are skipped on kind with the reason, never run and waited for. Scenarios of other
# profiles are not compared: each would need the kind cluster recreated (minutes each).


def _cases() -> list[tuple[str, str, str]]:
    from app.authoring.patch import apply_patch
    from app.course.loader import Course

    course = Course(REPO)
    cases = []
    for scenario_id in course.scenario_ids():
        scenario = course.scenario(scenario_id)
        if not scenario.live_checks or scenario.profile != PROFILE:
            continue
        reference = scenario.answer_text()
        cases.append((scenario_id, "reference", reference))
        for check in scenario.live_checks:
            for wrong in check.wrong_answers:
                cases.append((scenario_id, wrong.name, apply_patch(reference, wrong.patch)))
    return cases


Verdict = tuple[dict[str, str], list[bool], list[str]]
"""Live checks' statuses, placed-or-not per pod (sorted), and the report's notes."""


def _verdict(cluster: Any, scenario_id: str, text: str) -> Verdict:
    from app.course.loader import Course
    from app.grading.engine import Grader
    from app.live.attempt import grade_live

    course = Course(REPO)
    scenario = course.scenario(scenario_id)
    grader = Grader(scenario, crd_dir=course.crd_dir)
    report = grade_live(course, scenario, grader, text, cluster=cluster)
    live_ids = {c.check.id for c in grader.live_checks}
    checks: dict[str, str] = {c.id: c.status for c in report.checks if c.id in live_ids}
    placed = sorted(p.reason == "" and bool(p.node) for p in report.placement or [])
    return checks, placed, list(report.notes)


def _connect(home: str, scenario_id: str) -> Any:
    from app.course.loader import Course
    from app.live.connect import connect

    os.environ["KPREP_HOME"] = home
    course = Course(REPO)
    return connect(course, course.scenario(scenario_id))


def test_same_verdicts_on_kwok_and_kind(
    kind_cluster: KindCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from app.cluster.kind.manifests import missing_on_kind
    from app.course.loader import Course
    from app.live.attempt import reference_kinds

    if ORIGINAL_KPREP_HOME is None:
        pytest.fail("the differential test needs the kwok cluster's KPREP_HOME", pytrace=False)
    monkeypatch.setenv("KPREP_HOME", ORIGINAL_KPREP_HOME)
    course = Course(REPO)
    cases = _cases()
    assert len({s for s, _, _ in cases}) >= 15, "every default-profile live scenario"
    differences: list[str] = []
    lacking_seen: set[str] = set()
    first = cases[0][0]
    on_kwok_cluster = _connect(ORIGINAL_KPREP_HOME, first)
    on_kind_cluster = _connect(str(kind_cluster.home), first)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            for scenario_id, case, text in cases:
                kwok_job = pool.submit(_verdict, on_kwok_cluster, scenario_id, text)
                kind_job = pool.submit(_verdict, on_kind_cluster, scenario_id, text)
                on_kwok, on_kind = kwok_job.result(), kind_job.result()
                lacking = missing_on_kind(reference_kinds(course.scenario(scenario_id)))
                if lacking:
                    # Pinned difference: kind says why and runs nothing; kwok grades it.
                    lacking_seen.add(scenario_id)
                    if not (
                        on_kind[0]
                        and set(on_kind[0].values()) == {"skip"}
                        and f"live checks not run: {lacking}" in on_kind[2]
                        and "skip" not in on_kwok[0].values()
                    ):
                        differences.append(f"{scenario_id}/{case}: not the pinned skip: {on_kind}")
                    continue
                # Pods placed, counted: how many replacements of preempted pods exist
                # at the moment of reading is timing. An HPA acts on kwok (lab-time
                # metrics) and not on kind (no metrics pipeline), so its Deployment's
                # replica count differs by design: those answers compare verdicts only.
                placed = (on_kwok[1].count(True), on_kind[1].count(True))
                acts = "HorizontalPodAutoscaler" in reference_kinds(course.scenario(scenario_id))
                if on_kwok[0] != on_kind[0] or (placed[0] != placed[1] and not acts):
                    differences.append(
                        f"{scenario_id}/{case}: kwok {on_kwok[:2]}, kind {on_kind[:2]}"
                    )
    finally:
        on_kwok_cluster.close()
        on_kind_cluster.close()
    assert not differences, "\n".join(differences)
    # The README's known differences are really exercised.
    assert {"pytorchjob-to-trainjob", "dra-gpu-claim"} <= lacking_seen


def test_zz_down_removes_the_containers(kind_cluster: KindCluster) -> None:
    """Last in the file, so last to run: the other tests use the cluster."""
    down = _kprep(kind_cluster.home, "cluster", "down", "--provider", "kind", timeout=300)
    assert down.returncode == 0, down.stderr
    left = subprocess.run(
        ["docker", "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster=kprep", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert left.returncode == 0 and left.stdout.strip() == "", left.stdout
    assert not (kind_cluster.home / "data/cluster/kind/kubeconfig").exists()
