"""What the terminal app calls to run an answer on the cluster: one object, passed in.

`ClusterLiveService(course).run(...)` connects to kprep's cluster, grades the
answer live and reads every node's GPUs for the placement view, then closes
the connection. The app receives the service through its constructor, so its
tests can hand it a fake one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from app.cluster.kube import ApiError
from app.cluster.provider import Echo
from app.course.loader import Course
from app.course.models import Scenario
from app.grading.engine import Grader
from app.grading.report import Report
from app.k8s.resources import int_quantity, is_gpu_resource
from app.live.attempt import grade_live
from app.live.connect import LiveCluster, connect
from app.live.observe import profile_name, profile_nodes


@dataclass(frozen=True)
class NodeGpus:
    """A node's name and its allocatable GPUs (any vendor, MIG slices counted)."""

    name: str
    gpus: int


@dataclass
class LiveRun:
    """The live report, and the nodes the placement view draws."""

    report: Report
    nodes: list[NodeGpus] = field(default_factory=list)


class LiveService(Protocol):
    """Runs one answer on the cluster; raises ClusterError with what to do."""

    def run(
        self,
        scenario: Scenario,
        grader: Grader,
        text: str,
        file: str,
        *,
        echo: Echo,
        cancel: threading.Event,
    ) -> LiveRun: ...


def node_gpus(cluster: LiveCluster) -> list[NodeGpus]:
    """Every node's allocatable GPUs; empty when the cluster cannot say."""
    try:
        items = cluster.kube.get("/api/v1/nodes").get("items") or []
    except ApiError:
        return []
    nodes = []
    # The profile's nodes by their profile names, as placements name them (kind names its
    # own nodes and adds a control plane).
    for item in profile_nodes(items):
        allocatable = (item.get("status") or {}).get("allocatable") or {}
        gpus = sum(int_quantity(v) for k, v in allocatable.items() if is_gpu_resource(str(k)))
        nodes.append(NodeGpus(profile_name(item), gpus))
    return nodes


class ClusterLiveService:
    """The real service: kprep's active cluster (`kprep cluster up`)."""

    def __init__(self, course: Course) -> None:
        self.course = course

    def run(
        self,
        scenario: Scenario,
        grader: Grader,
        text: str,
        file: str,
        *,
        echo: Echo,
        cancel: threading.Event,
    ) -> LiveRun:
        cluster = connect(self.course, scenario, echo=echo)
        try:
            report = grade_live(
                self.course, scenario, grader, text, file, cluster=cluster, echo=echo, cancel=cancel
            )
            return LiveRun(report, node_gpus(cluster))
        finally:
            cluster.close()
