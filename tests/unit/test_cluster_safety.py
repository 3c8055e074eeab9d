"""What the live grader refuses before anything reaches the cluster."""

from __future__ import annotations

from app.live.safety import allowed_kinds, host_access, kind_refusal


def deployment(pod_spec: dict) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": pod_spec}},
    }


def test_host_namespaces_privileged_and_host_path() -> None:
    spec = {
        "hostNetwork": True,
        "hostPID": True,
        "hostIPC": False,
        "containers": [{"name": "c", "image": "i", "securityContext": {"privileged": True}}],
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
    }
    paths = {r.path for r in host_access(deployment(spec))}
    assert ("spec", "template", "spec", "hostNetwork") in paths
    assert ("spec", "template", "spec", "hostPID") in paths
    assert ("spec", "template", "spec", "containers", 0, "securityContext", "privileged") in paths
    assert ("spec", "template", "spec", "volumes", 0, "hostPath") in paths
    assert len(paths) == 4


def test_pod_specs_inside_custom_resources_are_screened() -> None:
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {
            "pytorchReplicaSpecs": {
                "Worker": {
                    "template": {
                        "spec": {
                            "hostNetwork": True,
                            "containers": [{"name": "pytorch", "image": "i"}],
                        }
                    }
                }
            }
        },
    }
    assert [r.path[-1] for r in host_access(job)] == ["hostNetwork"]


def test_ordinary_answers_pass() -> None:
    spec = {
        "containers": [
            {
                "name": "c",
                "image": "i",
                "securityContext": {"privileged": False, "runAsNonRoot": True},
            }
        ],
        "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory"}}],
    }
    assert host_access(deployment(spec)) == []


def test_kinds() -> None:
    allowed = allowed_kinds((), ["Deployment", "HorizontalPodAutoscaler"])
    assert kind_refusal("Deployment", allowed) is None
    refusal = kind_refusal("ClusterRoleBinding", allowed)
    assert refusal is not None and "ClusterRoleBinding" in refusal.message
    assert allowed_kinds(("Job",), ["Deployment"]) == {"Job"}
