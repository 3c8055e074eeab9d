"""What a worker pod will run with (app.live.training) and the placement tree
(app.live.placement): pure functions over API objects shaped as the API server
returns them. The same facts are checked on the real cluster by
tests/live/test_training_live.py."""

from __future__ import annotations

from typing import Any

import pytest

from app.live.placement import build_tree
from app.live.training import (
    container_env,
    launcher_args,
    rendezvous,
    resolve,
    service_views,
    torchrun_flags,
    training_views,
)

INDEX_ENV = {
    "name": "JOB_COMPLETION_INDEX",
    "valueFrom": {
        "fieldRef": {
            "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        }
    },
}
"""What the Job controller appends to every container of an Indexed Job's pod."""


def pod(name: str, index: int, container: dict[str, Any], owner: str = "train") -> dict[str, Any]:
    container = {**container, "env": [*container.get("env", []), INDEX_ENV]}
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "annotations": {"batch.kubernetes.io/job-completion-index": str(index)},
            "labels": {"batch.kubernetes.io/job-completion-index": str(index), "job-name": owner},
            "ownerReferences": [{"kind": "Job", "name": owner, "controller": True}],
        },
        "spec": {
            "hostname": f"{owner}-{index}",
            "subdomain": "workers",
            "nodeName": f"node-{index}",
            "containers": [container],
        },
        "status": {"phase": "Running"},
    }


def flags_of(container: dict[str, Any], index: int = 1) -> dict[str, str]:
    p = pod("p", index, container)
    env = container_env(p, p["spec"]["containers"][0])
    args = launcher_args(p["spec"]["containers"][0], env)
    assert args is not None
    return torchrun_flags(args)


@pytest.mark.parametrize(
    "container",
    [
        {
            "command": [
                "sh",
                "-c",
                'torchrun --nnodes=3 --nproc-per-node=4 --node-rank="${JOB_COMPLETION_INDEX}" '
                "--master-addr=train-0.workers --master-port=29500 train.py",
            ]
        },
        {
            "command": ["torchrun"],
            "args": [
                "--nnodes",
                "3",
                "--nproc_per_node",
                "4",
                "--node_rank",
                "$(JOB_COMPLETION_INDEX)",
                "--master_addr",
                "train-0.workers",
                "train.py",
            ],
        },
        {
            "env": [{"name": "HOST", "value": "train-0.workers"}],
            "command": [
                "bash",
                "-c",
                'export RANK_OF_NODE="${JOB_COMPLETION_INDEX}"\necho hi\n'
                "exec torchrun --nnodes 3 --nproc_per_node 4 \\\n"
                '  --node_rank "$RANK_OF_NODE" --master_addr "${HOST}" train.py --lr 1',
            ],
        },
        {
            "command": ["python", "-m", "torch.distributed.run", "--nnodes=3"],
            "args": [
                "--nproc-per-node=4",
                "--node-rank=$(JOB_COMPLETION_INDEX)",
                "--master-addr=train-0.workers",
                "train.py",
            ],
        },
    ],
    ids=["sh -c", "args list", "bash script with export", "python -m"],
)
def test_torchrun_flags_are_read_however_they_are_written(container: dict[str, Any]) -> None:
    flags = flags_of(container, index=1)
    assert flags["nnodes"] == "3"
    assert flags["nproc_per_node"] == "4"
    assert flags["node_rank"] == "1"
    assert flags["master_addr"] == "train-0.workers"
    assert "lr" not in flags  # the script's own options are not torchrun's


def test_env_resolves_in_order_like_the_kubelet() -> None:
    # `$(JOB_COMPLETION_INDEX)` in a variable defined before the Job controller's one
    # stays as written: the kubelet expands only references to earlier variables.
    container = {
        "env": [
            {"name": "PET_NODE_RANK", "value": "$(JOB_COMPLETION_INDEX)"},
            {"name": "A", "value": "x"},
            {"name": "B", "value": "$(A)-$$(A)"},
        ]
    }
    p = pod("p", 2, container)
    env = container_env(p, p["spec"]["containers"][0])
    assert env["PET_NODE_RANK"] == "$(JOB_COMPLETION_INDEX)"
    assert env["B"] == "x-$(A)"
    assert env["JOB_COMPLETION_INDEX"] == "2"
    settings = rendezvous({}, env, gpus=4)
    assert settings["rank"] == -1  # not a number: no rank torchrun accepts


def test_rendezvous_falls_back_on_pet_variables_and_counts_gpu() -> None:
    env = {"PET_NNODES": "2:4", "PET_NPROC_PER_NODE": "gpu", "PET_RDZV_BACKEND": "c10d"}
    settings = rendezvous({"nnodes": "3"}, env, gpus=8)
    assert settings["nodes"] == 3  # the flag wins over PET_NNODES
    assert settings["procs"] == 8
    assert settings["static"] is False and settings["rank"] == -1
    assert rendezvous({}, {}, gpus=0)["rank"] == 0  # static and no rank: torchrun's 0


def test_flag_that_contradicts_the_operator_is_a_conflict() -> None:
    container = {
        "env": [
            {"name": "PET_NNODES", "value": "2"},
            {"name": "PET_NPROC_PER_NODE", "value": "auto"},
            {"name": "WORLD_SIZE", "value": "2"},
            {"name": "RANK", "value": "1"},
        ],
        "command": ["torchrun", "--nnodes=3", "--nproc-per-node=4", "--node-rank=0", "t.py"],
        "resources": {"limits": {"nvidia.com/gpu": 4}},
    }
    views = training_views([pod("p", 1, container)], [], "ns")
    assert views["p"]["conflicts"] == [
        "--nnodes=3 but the pod's PET_NNODES is 2",
        "RANK is 1 but --node-rank is 0",
    ]  # auto means 4 processes on 4 GPUs; torchrun sets WORLD_SIZE itself
    same = {**container, "command": ["torchrun", "--nnodes=2:2", "--node-rank=1", "t.py"]}
    assert training_views([pod("p", 1, same)], [], "ns")["p"]["conflicts"] == []
    eight = {**container, "command": ["torchrun", "--nproc-per-node=8", "t.py"]}
    assert training_views([pod("p", 1, eight)], [], "ns")["p"]["conflicts"] == [
        "--nproc-per-node=8 but the pod's PET_NPROC_PER_NODE is auto"
    ]


def endpoint_slice(service: str, entries: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"kubernetes.io/service-name": service}},
        "endpoints": [
            {"targetRef": {"kind": "Pod", "name": name}, "hostname": host, "conditions": {}}
            for name, host in entries
        ],
    }


def test_resolve_follows_headless_service_hostnames() -> None:
    services = service_views(
        [
            {
                "metadata": {"name": "workers"},
                "spec": {"clusterIP": "None", "selector": {"a": "b"}},
            },
            {
                "metadata": {"name": "api"},
                "spec": {"clusterIP": "10.0.0.1", "selector": {"a": "c"}},
            },
        ],
        [endpoint_slice("workers", [("train-0-x", "train-0"), ("train-1-y", "train-1")])],
    )
    assert resolve("train-0.workers", "ns", services) == ["train-0-x"]
    assert resolve("train-1.workers.ns.svc.cluster.local:29400", "ns", services) == ["train-1-y"]
    assert resolve("train-2.workers", "ns", services) == []
    assert resolve("workers", "ns", services) == ["train-0-x", "train-1-y"]
    assert resolve("train-0.api", "ns", services) == []  # not headless: no pod records


def test_master_pods_of_a_worker() -> None:
    container = {
        "command": [
            "sh",
            "-c",
            'torchrun --nnodes=2 --node-rank="${JOB_COMPLETION_INDEX}" '
            "--master-addr=train-0.workers t.py",
        ]
    }
    pods = [pod("train-0-x", 0, container), pod("train-1-y", 1, container)]
    services = service_views(
        [{"metadata": {"name": "workers"}, "spec": {"clusterIP": "None"}}],
        [endpoint_slice("workers", [("train-0-x", "train-0"), ("train-1-y", "train-1")])],
    )
    views = training_views(pods, services, "ns")
    assert views["train-1-y"]["rendezvous"]["masterPods"] == ["train-0-x"]
    assert views["train-1-y"]["rendezvous"]["rank"] == 1
    # Without the Service's endpoints the name resolves to nothing.
    assert training_views(pods, [], "ns")["train-1-y"]["rendezvous"]["masterPods"] == []


def test_tree_links_trainjob_jobset_jobs_and_pods() -> None:
    def obj(kind: str, name: str, owner: tuple[str, str] | None = None) -> dict[str, Any]:
        refs = [{"kind": owner[0], "name": owner[1], "controller": True}] if owner else []
        return {"kind": kind, "metadata": {"name": name, "ownerReferences": refs}}

    workloads = [
        obj("Job", "bert-node-0", ("JobSet", "bert")),
        obj("JobSet", "bert", ("TrainJob", "bert")),
        obj("TrainJob", "bert"),
        obj("Job", "other"),
    ]
    worker = {"command": ["torchrun", "--nnodes=2", "t.py"]}
    pods = [
        pod("bert-node-0-0-a", 0, worker, "bert-node-0"),
        pod("bert-node-0-1-b", 1, worker, "bert-node-0"),
    ]
    pods.append({"metadata": {"name": "bare"}, "spec": {}, "status": {"phase": "Pending"}})
    roots = build_tree(workloads, pods, {"bert-node-0-0-a": {"nnodes": "2", "masterPods": ""}})
    assert [(r.kind, r.name) for r in roots] == [
        ("TrainJob", "bert"),
        ("Job", "other"),
        ("Pod", "bare"),
    ]
    jobset = roots[0].children[0]
    assert (jobset.kind, jobset.name) == ("JobSet", "bert")
    job = jobset.children[0]
    assert [p.name for p in job.pods] == ["bert-node-0-0-a", "bert-node-0-1-b"]
    assert job.pods[1].node == "node-1"
    assert job.pods[0].rendezvous == {"nnodes": "2"}  # empty settings are left out
    assert [p.name for p in roots[0].all_pods()] == ["bert-node-0-0-a", "bert-node-0-1-b"]


def test_tree_text_shows_nodes_gpus_and_rendezvous() -> None:
    from rich.console import Console

    from app.grading.tree_render import is_training_tree, workload_tree

    roots: list[dict[str, Any]] = [
        {
            "kind": "TrainJob",
            "name": "bert",
            "status": "Created",
            "children": [
                {
                    "kind": "Job",
                    "name": "bert-node-0",
                    "status": "2 active",
                    "children": [],
                    "pods": [
                        {
                            "name": "bert-node-0-0-a",
                            "node": "gpu-a100-0",
                            "phase": "Running",
                            "gpus": 4,
                            "reason": "",
                            "rendezvous": {
                                "nnodes": "2",
                                "nprocPerNode": "4",
                                "nodeRank": "0",
                                "masterAddr": "bert-node-0-0.bert",
                                "masterPort": "29500",
                                "masterPods": "bert-node-0-0-a",
                            },
                        },
                        {
                            "name": "bert-node-0-1-b",
                            "node": "",
                            "phase": "Pending",
                            "gpus": 4,
                            "reason": "0/8 nodes are available",
                            "rendezvous": {"masterAddr": "nowhere", "masterPods": ""},
                        },
                    ],
                }
            ],
            "pods": [],
        }
    ]
    console = Console(width=200, record=True)
    console.print(workload_tree(roots))
    text = console.export_text()
    assert "TrainJob bert Created" in text
    assert "pod bert-node-0-0-a -> gpu-a100-0 (Running) 4 GPU" in text
    assert (
        "torchrun nnodes=2 nproc=4 rank=0 master=bert-node-0-0.bert:29500 "
        "(master resolves to bert-node-0-0-a)" in text
    )
    assert "pod bert-node-0-1-b Pending, not scheduled 4 GPU: 0/8 nodes are available" in text
    assert "master=nowhere (master resolves to no pod)" in text
    assert is_training_tree(roots)
    flat = [
        {
            "kind": "Deployment",
            "name": "d",
            "children": [],
            "pods": [{"name": "d-1", "node": "", "phase": "Pending", "gpus": 1, "rendezvous": {}}],
        }
    ]
    assert not is_training_tree(flat)


def test_kprep_placement_without_a_cluster_says_what_to_do() -> None:
    from click.testing import CliRunner

    from app.cli import main_group

    result = CliRunner().invoke(main_group, ["placement"])
    assert result.exit_code == 3
    assert "no cluster is up; start it with `kprep cluster up`" in result.output
