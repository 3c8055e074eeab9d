"""The live grader's pod budget: what an answer can create, totalled before anything is applied."""

from __future__ import annotations

import pytest

from app.k8s.pods import expected_pods, pod_sources
from app.live.safety import pod_budget, pod_limit


def deployment(replicas, name="web"):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas},
    }


def test_the_limit_follows_the_cluster_s_gpus():
    assert pod_limit(0) == 50 and pod_limit(12) == 50 and pod_limit(18) == 72


@pytest.mark.parametrize(
    "obj,pods",
    [
        (
            {
                "kind": "PyTorchJob",
                "spec": {
                    "pytorchReplicaSpecs": {"Master": {"replicas": 1}, "Worker": {"replicas": 7}}
                },
            },
            8,
        ),
        ({"kind": "PyTorchJob", "spec": {"pytorchReplicaSpecs": {"Worker": {}}}}, 1),
        (
            {
                "kind": "JobSet",
                "spec": {
                    "replicatedJobs": [
                        {"replicas": 3, "template": {"spec": {"parallelism": 4, "completions": 4}}},
                        {"template": {"spec": {}}},
                    ]
                },
            },
            13,
        ),
        (
            {
                "kind": "LeaderWorkerSet",
                "spec": {"replicas": 2, "leaderWorkerTemplate": {"size": 8}},
            },
            16,
        ),
        ({"kind": "TrainJob", "spec": {"trainer": {"numNodes": 4}}}, 4),
        ({"kind": "TrainJob", "spec": {}}, 1),
        ({"kind": "Job", "spec": {"parallelism": 5, "completions": 3}}, 3),
        ({"kind": "Job", "spec": {"parallelism": 5, "suspend": True}}, 0),
        ({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"parallelism": 6}}}}, 6),
    ],
)
def test_operator_and_batch_counts(obj, pods):
    assert expected_pods(obj, operators=True) == pods
    assert sum(s.pods for s in pod_sources(obj) or []) == pods


def test_the_live_observer_still_waits_only_for_built_in_controllers():
    job = {"kind": "PyTorchJob", "spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 7}}}}
    assert expected_pods(job) == 0
    assert expected_pods({"kind": "DaemonSet"}) is None
    assert expected_pods({"kind": "DaemonSet"}, nodes=8) == 8


@pytest.mark.parametrize("odd", [None, 5, "x", [], {"replicas": "3"}, {"replicas": True}])
def test_counts_are_total_over_wrong_types(odd):
    for kind in ("Deployment", "Job", "PyTorchJob", "JobSet", "LeaderWorkerSet", "TrainJob"):
        assert isinstance(expected_pods({"kind": kind, "spec": odd}, operators=True), int)


def test_a_replicas_typo_is_refused_naming_the_field_and_number():
    refusal = pod_budget([deployment(100000)], gpus=18, nodes=8)
    assert refusal is not None and refusal.document == 0
    assert refusal.path == ("spec", "replicas")
    assert "replicas 100000 means 100000 pods" in refusal.message
    assert "more than the 72" in refusal.message and "4 x its 18 GPUs" in refusal.message


def test_a_reasonable_answer_is_not_refused():
    assert pod_budget([deployment(10), {"kind": "Service"}], gpus=18, nodes=8) is None


def test_an_hpa_counts_its_max_replicas():
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 500},
    }
    refusal = pod_budget([deployment(2), hpa], gpus=0, nodes=8)
    assert refusal is not None and refusal.document == 1
    assert refusal.path == ("spec", "maxReplicas") and "maxReplicas 500" in refusal.message
    lws = {
        "kind": "LeaderWorkerSet",
        "metadata": {"name": "llm"},
        "spec": {"replicas": 1, "leaderWorkerTemplate": {"size": 8}},
    }
    scaled = {
        "kind": "HorizontalPodAutoscaler",
        "spec": {"scaleTargetRef": {"kind": "LeaderWorkerSet", "name": "llm"}, "maxReplicas": 8},
    }
    assert pod_budget([lws, scaled], gpus=0, nodes=8) is not None  # 8 groups x 8 pods


def test_many_small_workloads_add_up():
    refusal = pod_budget([deployment(30, "a"), deployment(40, "b")], gpus=0, nodes=8)
    assert refusal is not None and refusal.document == 1
    assert "70 pods in all, 40 of them from spec.replicas" in refusal.message


def test_a_daemonset_counts_one_pod_per_node():
    assert pod_budget([{"kind": "DaemonSet"}], gpus=0, nodes=8) is None
    assert pod_budget([{"kind": "DaemonSet"}], gpus=0, nodes=60) is not None
