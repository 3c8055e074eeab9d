"""The training operators `kprep cluster up` runs: the course's TrainJob and PyTorchJob
references become the JobSets, Jobs and pods the real Kubeflow controllers create, their
admission webhooks answer, and stopping the add-ons leaves no process behind."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

REFERENCE = REPO / "answers" / "pytorchjob-to-trainjob" / "answer.yaml"
WAIT_SECONDS = 30.0


def _reference(kind: str) -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all(REFERENCE.read_text()) if d]
    return next(d for d in documents if d["kind"] == kind)


def _wait(probe: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what} not there after {WAIT_SECONDS}s", pytrace=False)


def _pods(kube: Any, namespace: str, selector: str) -> list[dict[str, Any]]:
    return list(kube.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=selector)["items"])


def _wait_pods(kube: Any, namespace: str, selector: str, count: int) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        found = _pods(kube, namespace, selector)
        return found if len(found) == count else None

    return list(_wait(enough, f"{count} pods with {selector}"))


def _env(pod: dict[str, Any]) -> dict[str, str]:
    container = pod["spec"]["containers"][0]
    return {e["name"]: e.get("value", "<from field>") for e in container.get("env") or []}


def test_the_trainjob_reference_becomes_a_jobset_and_worker_pods(
    kube: Any, scratch_namespace: str
) -> None:
    kube.create(_reference("TrainJob"), namespace=scratch_namespace)
    jobset = _wait(
        lambda: kube.get(f"/apis/jobset.x-k8s.io/v1alpha2/namespaces/{scratch_namespace}/jobsets")[
            "items"
        ],
        "the JobSet Trainer creates",
    )[0]
    assert jobset["metadata"]["name"] == "bert-finetune"
    assert jobset["metadata"]["ownerReferences"][0]["kind"] == "TrainJob"
    # JobSet's mutating webhook ran (defaults only it sets).
    assert jobset["spec"]["network"]["enableDNSHostnames"] is True
    pods = _wait_pods(kube, scratch_namespace, "jobset.sigs.k8s.io/jobset-name=bert-finetune", 2)
    for pod in pods:
        env = _env(pod)
        assert env["PET_NNODES"] == "2"
        assert env["PET_MASTER_ADDR"] == "bert-finetune-node-0-0.bert-finetune"
        assert env["PET_MASTER_PORT"] == "29500"
        assert pod["spec"]["containers"][0]["image"] == "registry.example.com/bert-finetune:3.2.0"
    service = kube.get(f"/api/v1/namespaces/{scratch_namespace}/services/bert-finetune")
    assert service["spec"]["clusterIP"] == "None"  # headless: one DNS name per worker


def test_a_trainjob_naming_a_missing_runtime_is_refused_by_trainers_webhook(
    kube: Any, scratch_namespace: str
) -> None:
    from app.cluster.kube import ApiError

    job = _reference("TrainJob")
    job["spec"]["runtimeRef"]["name"] = "no-such-runtime"
    with pytest.raises(ApiError) as info:
        kube.create(job, namespace=scratch_namespace)
    assert "no-such-runtime" in info.value.message
    assert "must be created before the TrainJob" in info.value.message


def test_the_pytorchjob_reference_becomes_master_and_worker_pods(
    kube: Any, scratch_namespace: str
) -> None:
    kube.create(_reference("PyTorchJob"), namespace=scratch_namespace)
    pods = _wait_pods(kube, scratch_namespace, "training.kubeflow.org/job-name=bert-finetune", 2)
    by_name = {p["metadata"]["name"]: _env(p) for p in pods}
    assert set(by_name) == {"bert-finetune-master-0", "bert-finetune-worker-0"}
    worker = by_name["bert-finetune-worker-0"]
    assert worker["MASTER_ADDR"] == "bert-finetune-master-0"
    assert worker["WORLD_SIZE"] == "8"  # 2 nodes x nprocPerNode 4
    assert worker["RANK"] == "1"
    assert by_name["bert-finetune-master-0"]["RANK"] == "0"


def test_the_pytorchjob_webhook_refuses_an_invalid_job(kube: Any, scratch_namespace: str) -> None:
    from app.cluster.kube import ApiError

    job = _reference("PyTorchJob")
    # The training operator's validator requires a container named "pytorch".
    for spec in job["spec"]["pytorchReplicaSpecs"].values():
        spec["template"]["spec"]["containers"][0]["name"] = "trainer"
    with pytest.raises(ApiError) as info:
        kube.create(job, namespace=scratch_namespace)
    assert "validator.pytorchjob.training-operator.kubeflow.org" in info.value.message


def _addon_processes(state_dir: Path) -> list[str]:
    """Command lines of running processes that belong to this cluster's add-ons."""
    from app.cluster.addon_binaries import GROUP_BINARIES

    names = {b for group in GROUP_BINARIES.values() for b in group}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if state != "Z" and str(state_dir) in command and Path(command.split()[0]).name in names:
            found.append(command)
    return found


def test_stopping_the_add_ons_leaves_no_process_and_up_brings_them_back(
    provider: Any, kube: Any
) -> None:
    from app.cluster.addon_binaries import find_addon_binaries

    assert len(_addon_processes(provider.state_dir)) == 5
    stopped = provider.addons.stop()
    assert len(stopped) == 5
    try:
        assert _addon_processes(provider.state_dir) == []
        assert all(not row.running for row in provider.addons.status())
    finally:
        # What `cluster up` does on a running control plane whose add-ons are gone.
        provider.addons.start(kube, find_addon_binaries(), echo=lambda _line: None)
    assert len(_addon_processes(provider.state_dir)) == 5
    assert kube.get("/apis/metrics.k8s.io/v1beta1")["groupVersion"] == "metrics.k8s.io/v1beta1"
