"""The course's CRDs: vendored from the upstream Go modules, read by the offline grader."""

from __future__ import annotations

import subprocess
import sys

import yaml

from app.grading.schema import SchemaValidator, crd_schemas
from tests.conftest import REPO

PYTORCHJOB = """\
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: ddp}
spec:
  nprocPerNode: "4"
  runPolicy: {cleanPodPolicy: None, backoffLimit: 3}
  elasticPolicy: {minReplicas: 2, maxReplicas: 4, rdzvBackend: c10d}
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      restartPolicy: OnFailure
      template:
        metadata: {labels: {app: ddp}}
        spec:
          containers:
            - name: pytorch
              image: pytorch:2
              resources: {limits: {nvidia.com/gpu: 4, memory: 64Gi}}
    Worker:
      replicas: 3
      restartPolicy: OnFailure
      template:
        spec:
          tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
          containers:
            - {name: pytorch, image: "pytorch:2", resources: {limits: {nvidia.com/gpu: 4}}}
"""
TRAINJOB = """\
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: llm}
spec:
  runtimeRef: {name: torch-distributed, kind: ClusterTrainingRuntime,
               apiGroup: trainer.kubeflow.org}
  trainer:
    image: ghcr.io/example/train:1
    command: [torchrun, train.py]
    numNodes: 2
    numProcPerNode: auto
    resourcesPerNode: {limits: {nvidia.com/gpu: 8}}
    env: [{name: NCCL_DEBUG, value: INFO}]
"""
JOBSET = """\
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js}
spec:
  successPolicy: {operator: All, targetReplicatedJobs: [workers]}
  replicatedJobs:
    - name: workers
      replicas: 2
      template:
        spec:
          parallelism: 4
          completions: 4
          completionMode: Indexed
          template:
            spec:
              restartPolicy: Never
              containers: [{name: w, image: "w:1"}]
"""


def errors(text: str) -> list[str]:
    validator = SchemaValidator(REPO / "crds")
    data = yaml.safe_load(text)
    return [e.message for e in validator.validate(data["apiVersion"], data["kind"], data)]


def test_offline_grader_reads_the_course_crds() -> None:
    schemas = crd_schemas(str(REPO / "crds"))
    assert {
        ("kubeflow.org/v1", "PyTorchJob"),
        ("trainer.kubeflow.org/v1alpha1", "TrainJob"),
        ("jobset.x-k8s.io/v1alpha2", "JobSet"),
    } <= set(schemas)


def test_valid_custom_resources_pass() -> None:
    assert errors(PYTORCHJOB) == []
    assert errors(TRAINJOB) == []
    assert errors(JOBSET) == []


def test_typos_inside_embedded_pod_templates_are_caught() -> None:
    assert set(errors(PYTORCHJOB.replace("resources: {limits", "resource: {limits"))) == {
        'unknown field "resource"'
    }
    assert errors(TRAINJOB.replace("numNodes", "numNode")) == ['unknown field "numNode"']
    assert any(
        "is not one of" in e or "enum" in e
        for e in errors(JOBSET.replace("operator: All", "operator: Every"))
    )


def test_num_proc_per_node_is_int_or_string() -> None:
    assert errors(TRAINJOB.replace("numProcPerNode: auto", "numProcPerNode: 8")) == []
    assert errors(TRAINJOB.replace("numProcPerNode: auto", "numProcPerNode: [8]"))


def test_vendored_crds_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "hack" / "vendor-crds.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_vendored_addon_manifests_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "hack" / "vendor-addons.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_profiles_list_only_existing_crds() -> None:
    from app.cluster.crds import resolve_crd_paths
    from app.cluster.profiles import list_profiles, load_profile

    for name in list_profiles(REPO):
        resolve_crd_paths(load_profile(name, REPO), REPO)
