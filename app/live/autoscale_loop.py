"""The lab-time loop of a live autoscaling run: drive the load, record the controller.

This module owns what happens from the moment the answer's Deployment exists to
the end of the load profile, on the lab clock (`time.monotonic()` seconds
since the load began; negative before it):

- three watches (`app.live.watch`) keep the HPA, the target's pods and the
  Deployment current, and time-stamp every change as it arrives;
- feeding: the load of the current lab second and the pods that are Ready
  become the metrics adapter's values (`app.autoscale.feed`), rewritten as soon
  as either changes (atomically, merged with other namespaces' rules under a
  lock), and, when the HPA reads CPU, each running pod's simulated usage
  annotation for kwok;
- recording: every change of the HPA's status is a sync of the real controller
  and a timeline point; a lab second without one adds a point too (the
  controller synced and kept everything); once per lab second the Deployment's
  count, the Ready pods and the load make a `Sample`, as the simulator samples;
  `observations()` keeps the time-stamped inputs and decisions for the
  differential test's replay.

Times in points and samples are the answer's seconds (lab seconds x timeScale).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.autoscale.feed import adapter_values, cpu_usage
from app.autoscale.hpa import HPASpec, PodRequests
from app.autoscale.load import LoadProfile
from app.autoscale.model import CapacityModel
from app.autoscale.observed import conditions_from_status, metrics_from_status
from app.autoscale.timeline import LiveObservations, Sample, TimelinePoint
from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube
from app.live.watch import Watch

TICK_SECONDS = 0.05
"""How often (lab seconds) the loop looks at the clock: a new second's load is
served within this, and a second without a sync is noticed within this."""
CPU_ANNOTATION = "kwok.x-k8s.io/usage-cpu"


class RunCancelled(Exception):
    """The run was cancelled (the caller set its `cancel` event)."""


def write_values(path: Path, namespace: str, values: Mapping[str, Any] | None) -> None:
    """Replace this namespace's rules in the adapter's values file (None: remove them).

    Other namespaces' rules are kept (two runs may share a cluster); the file is
    replaced atomically, as the adapter requires, under an exclusive lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, ValueError):
            current = {}
        merged: dict[str, list[Any]] = {}
        for section in ("pods", "objects", "external"):
            kept = [
                rule
                for rule in (current.get(section) or [])
                if isinstance(rule, dict) and rule.get("namespace") != namespace
            ]
            merged[section] = kept + list((values or {}).get(section) or [])
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        temporary.write_text(json.dumps(merged), encoding="utf-8")
        temporary.replace(path)


@dataclass
class PodsNow:
    """The target's pods at one instant: which run, which are Ready."""

    running: list[str] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    pending: int = 0
    cpu: dict[str, str] = field(default_factory=dict)
    """The usage annotation each running pod carries."""


def pods_now(objects: Mapping[str, dict[str, Any]]) -> PodsNow:
    now = PodsNow()
    for name, pod in sorted(objects.items()):
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        if meta.get("deletionTimestamp"):
            continue
        if status.get("phase") == "Pending":
            now.pending += 1
        elif status.get("phase") == "Running":
            now.running.append(name)
            now.cpu[name] = str((meta.get("annotations") or {}).get(CPU_ANNOTATION, ""))
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or []
            ):
                now.ready.append(name)
    return now


@dataclass
class LoopSetup:
    """Everything the loop needs, fixed before it starts."""

    kube: Kube
    namespace: str
    hpa_name: str
    deployment_name: str
    selector: str
    """The Deployment's pods, as a label selector string."""
    spec: HPASpec
    model: CapacityModel
    """In lab time (`CapacityModel.lab`)."""
    requests: PodRequests
    profile: LoadProfile
    """In lab time (`LoadProfile.scaled`)."""
    time_scale: float
    values_path: Path
    cancel: threading.Event | None = None
    progress: Callable[[str], None] | None = None

    @property
    def uses_cpu(self) -> bool:
        return any(
            m.type in ("Resource", "ContainerResource") and m.name == "cpu"
            for m in self.spec.metrics
        )


class LiveLoop:
    """Feeds the metrics and records the controller for one run (module docstring)."""

    def __init__(self, setup: LoopSetup):
        self.setup = setup
        self.end = math.ceil(setup.profile.duration)
        self.loads = setup.profile.every_second(self.end)
        self.timeline: list[TimelinePoint] = []
        self.samples: list[Sample] = []
        self.syncs: list[tuple[float, int, int]] = []
        self.served: list[tuple[float, float, int]] = []
        self.pods: list[tuple[float, int, int, int]] = []
        self.spec: list[tuple[float, int]] = []
        self.start = time.monotonic() + 3600.0  # until `run`, times are "before the load"
        self.start_wall = 0.0
        """time.time() at the run's t = 0, to place the controller's events."""
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._pods_now = PodsNow()
        self._replicas = 0
        self._status: dict[str, Any] = {}
        self._status_key: Any = None
        self._last_values: Any = None
        self._synced_this_second = False
        base = f"/namespaces/{setup.namespace}"
        self._watches = [
            Watch(
                setup.kube,
                f"/apis/autoscaling/v2{base}/horizontalpodautoscalers",
                self._on_hpa,
                query={"fieldSelector": f"metadata.name={setup.hpa_name}"},
                stop=self._stop,
            ),
            Watch(
                setup.kube,
                f"/api/v1{base}/pods",
                self._on_pods,
                query={"labelSelector": setup.selector},
                stop=self._stop,
            ),
            Watch(
                setup.kube,
                f"/apis/apps/v1{base}/deployments",
                self._on_deployment,
                query={"fieldSelector": f"metadata.name={setup.deployment_name}"},
                stop=self._stop,
            ),
        ]

    # -- the clock and the state ---------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.start

    def load_at(self, t: float) -> float:
        return self.loads[min(max(int(t), 0), self.end)]

    def observations(self) -> LiveObservations:
        with self._lock:
            return LiveObservations(
                tuple(self.syncs), tuple(self.served), tuple(self.pods), tuple(self.spec)
            )

    def ready_pods(self) -> int:
        with self._lock:
            return len(self._pods_now.ready)

    def hpa_synced(self) -> bool:
        with self._lock:
            return bool(self._status.get("conditions"))

    # -- what the watches report -----------------------------------------------------

    def _on_pods(self, objects: Mapping[str, dict[str, Any]]) -> None:
        with self._lock:
            t = self.now()
            self._pods_now = pods = pods_now(objects)
            counts = (len(pods.running) + pods.pending, len(pods.running), len(pods.ready))
            if not self.pods or self.pods[-1][1:] != counts:
                self.pods.append((t, *counts))
            self._feed(t)

    def _on_deployment(self, objects: Mapping[str, dict[str, Any]]) -> None:
        deployment = objects.get(self.setup.deployment_name) or {}
        replicas = int((deployment.get("spec") or {}).get("replicas") or 0)
        with self._lock:
            if replicas != self._replicas:
                self._replicas = replicas
                self.spec.append((self.now(), replicas))

    def _on_hpa(self, objects: Mapping[str, dict[str, Any]]) -> None:
        hpa = objects.get(self.setup.hpa_name) or {}
        status = dict(hpa.get("status") or {})
        key = _status_key(status)
        with self._lock:
            if key == self._status_key:
                return
            t = self.now()
            if self._status_key is not None and t >= 0:
                self.syncs.append(
                    (
                        t,
                        int(status.get("currentReplicas") or 0),
                        int(status.get("desiredReplicas") or 0),
                    )
                )
                self._point(t, status)
                self._synced_this_second = True
            self._status_key = key
            self._status = status

    # -- feeding and recording (under the lock) -----------------------------------------

    def _feed(self, t: float) -> None:
        setup = self.setup
        pods = self._pods_now
        load = self.load_at(t)
        loading = [p for p in pods.running if p not in set(pods.ready)]
        values = adapter_values(
            namespace=setup.namespace,
            model=setup.model,
            spec=setup.spec,
            load=load,
            ready_pods=pods.ready,
            loading_pods=loading,
        )
        if values != self._last_values:
            write_values(setup.values_path, setup.namespace, values)
            self._last_values = values
            self.served.append((t, load, len(pods.ready)))
        if setup.uses_cpu:
            usage = cpu_usage(setup.model, setup.requests, load, pods.ready, pods.running)
            for pod, value in usage.items():
                if pods.cpu.get(pod) != value:
                    pods.cpu[pod] = value
                    with contextlib.suppress(ApiError, ClusterError):  # it may be going away
                        setup.kube.request(
                            "PATCH",
                            f"/api/v1/namespaces/{setup.namespace}/pods/{pod}",
                            body={"metadata": {"annotations": {CPU_ANNOTATION: value}}},
                            content_type="application/merge-patch+json",
                        )

    def _point(self, t: float, status: Mapping[str, Any]) -> None:
        self.timeline.append(
            TimelinePoint(
                t=t * self.setup.time_scale,
                load=self.load_at(t),
                metrics=metrics_from_status(status),
                desired_replicas=int(status.get("desiredReplicas") or 0),
                replicas=int(status.get("currentReplicas") or 0),
                ready_replicas=len(self._pods_now.ready),
                conditions=conditions_from_status(status),
            )
        )

    # -- the run ----------------------------------------------------------------------

    def start_watching(self) -> None:
        for watch in self._watches:
            watch.start()

    def stop_watching(self) -> None:
        self._stop.set()
        for watch in self._watches:
            watch.join(timeout=10)

    def failure(self) -> str | None:
        return next((w.error for w in self._watches if w.error), None)

    def run(self) -> None:
        """From t = 0 to the profile's end, in lab time. Raises RunCancelled, or
        ClusterError when a watch fails for good."""
        setup = self.setup
        k = setup.time_scale
        with self._lock:
            self.start = time.monotonic()
            self.start_wall = time.time()
            self._point(0.0, self._status)
        second_done = -1
        report_every = max(1, self.end // 10)
        while True:
            now = self.now()
            second = min(int(now), self.end)
            with self._lock:
                if second > second_done:
                    self._feed(now)
                    if second_done >= 0 and not self._synced_this_second:
                        self._point(now, self._status)
                    self._synced_this_second = False
                    second_done = second
                    ready = len(self._pods_now.ready)
                    self.samples.append(
                        Sample(second * k, self.loads[second], self._replicas, ready)
                    )
                    if setup.progress and second % report_every == 0:
                        setup.progress(
                            f"t={second * k:g}s/{self.end * k:g}s load {self.loads[second]:g} "
                            f"replicas {self._replicas} (ready {ready})"
                        )
            if second >= self.end:
                return
            problem = self.failure()
            if problem:
                raise ClusterError(problem)
            if setup.cancel is not None and setup.cancel.is_set():
                raise RunCancelled("the live run was cancelled")
            time.sleep(TICK_SECONDS)


def _status_key(status: Mapping[str, Any]) -> Any:
    """What makes two statuses the same sync outcome (timestamps aside)."""
    conditions = sorted(
        (str(c.get("type")), str(c.get("status")), str(c.get("reason")))
        for c in status.get("conditions") or []
        if isinstance(c, Mapping)
    )
    return (
        status.get("currentReplicas"),
        status.get("desiredReplicas"),
        json.dumps(status.get("currentMetrics"), sort_keys=True),
        tuple(conditions),
    )
