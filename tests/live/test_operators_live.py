"""The Kubeflow operators on the real control plane, through `kprep check --live`'s path:
the course's TrainJob and PyTorchJob references become the pods and rendezvous
variables Trainer v2.0.0 (on JobSet v0.8.2) and the training operator v1.8.1 create;
a TrainJob naming a runtime that does not exist is refused with Trainer's own reason;
deleting the attempt removes everything the operators made.

The operators are started by `kprep cluster up` (docs/cluster-addons.md). When they
do not run, these tests fail with that reason; they never skip.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

OPERATOR_KINDS = {
    "TrainJob": "/apis/trainer.kubeflow.org/v1alpha1/clustertrainingruntimes/torch-distributed",
    "PyTorchJob": "/apis/kubeflow.org/v1/pytorchjobs",
    "JobSet": "/apis/jobset.x-k8s.io/v1alpha2/jobsets",
}


@pytest.fixture
def operators(cluster: Any) -> Iterator[Any]:
    """The cluster, once its APIs show the operators' kinds and Trainer's runtime."""
    from app.cluster.kube import ApiError

    for kind, path in OPERATOR_KINDS.items():
        try:
            cluster.kube.get(path)
        except ApiError as exc:
            pytest.fail(
                f"the cluster does not serve what the {kind} operator needs ({path}: {exc}); "
                "`kprep cluster up` starts JobSet, Trainer and the training operator",
                pytrace=False,
            )
    yield cluster


def _reference(course: Any, kind: str) -> str:
    scenario = course.scenario("pytorchjob-to-trainjob")
    docs = [d for d in yaml.safe_load_all(scenario.answer_text()) if d and d["kind"] == kind]
    return yaml.safe_dump_all(docs)


def _grade(course: Any, cluster: Any, text: str, **kwargs: Any) -> Any:
    from app.grading.engine import Grader
    from app.live.attempt import grade_live

    scenario = course.scenario("pytorchjob-to-trainjob")
    grader = Grader(scenario, crd_dir=course.crd_dir)
    return grade_live(course, scenario, grader, text, "answer.yaml", cluster=cluster, **kwargs)


def _pods(report: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        found.extend(node["pods"])
        for child in node["children"]:
            walk(child)

    for root in report.workloads or []:
        walk(root)
    return found


def _namespace(report: Any) -> str:
    return next(n.split()[1] for n in report.notes if n.startswith("namespace "))


def test_trainjob_reference_becomes_jobset_job_and_two_ranked_pods(
    course: Any, operators: Any
) -> None:
    started = time.monotonic()
    report = _grade(course, operators, _reference(course, "TrainJob"), keep=True)
    seconds = time.monotonic() - started
    namespace = _namespace(report)
    try:
        kube = operators.kube
        [root] = report.workloads
        assert (root["kind"], root["name"]) == ("TrainJob", "bert-finetune")
        [jobset] = root["children"]
        assert (jobset["kind"], jobset["name"]) == ("JobSet", "bert-finetune")
        [job] = jobset["children"]
        assert (job["kind"], job["name"]) == ("Job", "bert-finetune-node-0")
        pods = job["pods"]
        assert len(pods) == 2 and len({p["node"] for p in pods}) == 2
        assert all(p["phase"] == "Running" and p["gpus"] == 4 for p in pods)
        env = {
            p["metadata"]["name"]: {
                e["name"]: e.get("value") for e in p["spec"]["containers"][0]["env"]
            }
            for p in kube.get(f"/api/v1/namespaces/{namespace}/pods")["items"]
        }
        for pod in pods:
            variables = env[pod["name"]]
            assert variables["PET_NNODES"] == "2"
            assert variables["PET_NPROC_PER_NODE"] == "4"
            assert variables["PET_MASTER_ADDR"] == "bert-finetune-node-0-0.bert-finetune"
            assert variables["PET_MASTER_PORT"] == "29500"
        ranks = sorted(p["rendezvous"]["nodeRank"] for p in pods)
        assert ranks == ["0", "1"]  # PET_NODE_RANK from each pod's completion index
        rank0 = next(p["name"] for p in pods if p["rendezvous"]["nodeRank"] == "0")
        assert all(p["rendezvous"]["masterPods"] == rank0 for p in pods)
        live = {c.id: c.status for c in report.checks if c.id.startswith("trainjob-")}
        assert live["trainjob-pods-on-cluster"] == "pass"
        assert live["trainjob-rendezvous-on-cluster"] == "pass"
        assert seconds < 10, f"the TrainJob live check took {seconds:.1f}s (budget 10 s)"
    finally:
        from app.cluster.namespaces import delete_attempt_namespace

        delete_attempt_namespace(operators.kube, namespace)


def test_pytorchjob_reference_gets_the_operators_master_and_ranks(
    course: Any, operators: Any
) -> None:
    report = _grade(course, operators, _reference(course, "PyTorchJob"))
    [root] = report.workloads
    assert (root["kind"], root["name"]) == ("PyTorchJob", "bert-finetune")
    pods = {p["name"]: p for p in root["pods"]}
    assert set(pods) == {"bert-finetune-master-0", "bert-finetune-worker-0"}
    assert pods["bert-finetune-master-0"]["node"] != pods["bert-finetune-worker-0"]["node"]
    worker = pods["bert-finetune-worker-0"]["rendezvous"]
    # The operator's RANK and MASTER_ADDR, expanded into the answer's torchrun flags.
    assert worker["nodeRank"] == "1"
    assert worker["masterAddr"] == "bert-finetune-master-0"
    assert worker["masterPort"] == "23456"
    assert worker["masterPods"] == "bert-finetune-master-0"  # the operator's headless Service
    assert pods["bert-finetune-master-0"]["rendezvous"]["nodeRank"] == "0"
    live = {c.id: c.status for c in report.checks if c.id.startswith("pytorchjob-")}
    assert live["pytorchjob-pods-on-cluster"] == "pass"
    assert live["pytorchjob-rendezvous-on-cluster"] == "pass"


def test_pytorchjob_env_from_the_operator(course: Any, operators: Any) -> None:
    """What the training operator v1.8.1 injects, read from the pod it created."""
    report = _grade(course, operators, _reference(course, "PyTorchJob"), keep=True)
    namespace = _namespace(report)
    try:
        pod = operators.kube.get(f"/api/v1/namespaces/{namespace}/pods/bert-finetune-worker-0")
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert env["MASTER_ADDR"] == "bert-finetune-master-0"
        assert env["WORLD_SIZE"] == "8"  # 2 replicas × nprocPerNode 4
        assert env["RANK"] == "1"
        assert env["PET_NNODES"] == "2" and env["PET_NPROC_PER_NODE"] == "4"
    finally:
        from app.cluster.namespaces import delete_attempt_namespace

        delete_attempt_namespace(operators.kube, namespace)


def test_trainjob_with_a_missing_runtime_is_refused_with_trainers_reason(
    course: Any, operators: Any
) -> None:
    text = _reference(course, "TrainJob").replace(
        "name: torch-distributed", "name: no-such-runtime"
    )
    report = _grade(course, operators, text)
    errors = [e for e in report.errors if e.source == "apiserver"]
    assert errors, report.errors
    message = errors[0].message
    assert 'ClusterTrainingRuntime.trainer.kubeflow.org "no-such-runtime" not found' in message
    assert "must be created before the TrainJob is created" in message
    assert errors[0].line is not None
    live = [c for c in report.checks if c.id.endswith("-on-cluster")]
    assert live and all(c.status == "skip" for c in live)
    assert not report.workloads


def test_cleanup_removes_everything_the_operators_made(course: Any, operators: Any) -> None:
    """The attempt's namespace goes, and with it the JobSet, Jobs, pods and Services
    Trainer and the training operator created (no finalizer holds them)."""
    report = _grade(
        course,
        operators,
        _reference(course, "TrainJob") + "---\n" + _reference(course, "PyTorchJob"),
        keep=True,
    )
    namespace = _namespace(report)
    kube = operators.kube
    made = {
        "jobsets": f"/apis/jobset.x-k8s.io/v1alpha2/namespaces/{namespace}/jobsets",
        "jobs": f"/apis/batch/v1/namespaces/{namespace}/jobs",
        "pods": f"/api/v1/namespaces/{namespace}/pods",
        "services": f"/api/v1/namespaces/{namespace}/services",
    }
    before = {name: len(kube.get(path)["items"]) for name, path in made.items()}
    assert before["jobsets"] == 1 and before["jobs"] == 1 and before["pods"] == 4
    assert before["services"] >= 3  # the JobSet's and the operator's per-replica Services
    from app.cluster.kube import ApiError
    from app.cluster.namespaces import delete_attempt_namespace

    delete_attempt_namespace(kube, namespace)
    deadline = time.monotonic() + 60
    while True:
        try:
            kube.get(f"/api/v1/namespaces/{namespace}")
        except ApiError as exc:
            assert exc.status == 404
            break
        assert time.monotonic() < deadline, f"namespace {namespace} still exists after 60 s"
        time.sleep(0.5)
    for path in (
        "/apis/jobset.x-k8s.io/v1alpha2/jobsets",
        "/apis/trainer.kubeflow.org/v1alpha1/trainjobs",
        "/apis/kubeflow.org/v1/pytorchjobs",
    ):
        leftovers = [i for i in kube.get(path)["items"] if i["metadata"]["namespace"] == namespace]
        assert not leftovers, (path, leftovers)
