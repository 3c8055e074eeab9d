"""The simulated cluster around the controller: the target's pods and the metrics APIs.

This module owns the Deployment's pods as the simulator runs them
(`SimDeployment`: created, started, ready, deleted in the ReplicaSet's order),
the three metrics APIs over them at one instant (`SimMetrics`, values from the
`CapacityModel`), and `steady_state_replicas`, where a run starts.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.autoscale.feed import milli
from app.autoscale.hpa import (
    ClusterView,
    ControllerConfig,
    HorizontalController,
    HPASpec,
    MetricUnavailable,
    PodRequests,
    PodState,
    ResourceSample,
)
from app.autoscale.model import CapacityModel

MAX_SIMULATED_REPLICAS = 5000
"""More pods than this is refused: no answer needs it, and it bounds the run time."""
_LONG_AGO = -1e9


@dataclass
class SimPod:
    name: str
    created: float
    started: float
    ready_at: float

    def __post_init__(self) -> None:
        # The three states a pod goes through, built once (a sync reads every pod).
        self._pending = PodState(self.name, "Pending", None, None, None)
        self._loading = PodState(self.name, "Running", self.started, False, self.started)
        self._ready = PodState(self.name, "Running", self.started, True, self.ready_at)

    def state(self, now: float) -> PodState:
        if now < self.started:
            return self._pending
        if now < self.ready_at:
            return self._loading
        return self._ready


class SimMetrics:
    """The three metrics APIs over the simulated pods at one instant."""

    def __init__(
        self,
        model: CapacityModel,
        pods: Sequence[SimPod],
        now: float,
        load: float,
        requests: PodRequests,
    ):
        self.model = model
        self.sim_pods = pods
        self.now = now
        self.load = load
        self.requests = requests
        ready = [p for p in pods if p.ready_at <= now]
        self.ready_names = {p.name for p in ready}
        self.per_pod_load = load / len(ready) if ready else 0.0

    def _pod_load(self, name: str) -> float:
        return self.per_pod_load if name in self.ready_names else 0.0

    def resource(self, resource: str, container: str | None) -> dict[str, ResourceSample]:
        model = self.model
        if resource not in ("cpu", "memory"):
            raise MetricUnavailable(
                f"no metrics returned from resource metrics API (metrics-server serves cpu "
                f"and memory, not {resource})"
            )
        request = sum(
            c.requests.get(resource, 0)
            for c in self.requests.containers
            if not container or c.name == container
        )
        by_load: dict[float, ResourceSample] = {}  # every pod with the same load reads the same
        samples = {}
        for pod in self.sim_pods:
            if self.now < pod.started + model.resource_metrics_delay:
                continue  # not scraped yet
            pod_load = self._pod_load(pod.name)
            sample = by_load.get(pod_load)
            if sample is None:
                if resource == "cpu":
                    percent = model.cpu_utilization(pod_load)
                    # A pod without a CPU request still burns CPU: count it against one core.
                    base = request or 1000
                else:
                    percent = model.memory_utilization
                    base = request or 1024**3 * 1000
                nanos = round(base * percent / 100 * 1_000_000)
                sample = ResourceSample(-(-nanos // 1_000_000), self.now, model.metrics_window)
                by_load[pod_load] = sample
            samples[pod.name] = sample
        if not samples:
            raise MetricUnavailable("no metrics returned from resource metrics API")
        return samples

    def pods(self, metric: str, selector: Mapping[str, Any] | None) -> dict[str, int]:
        kind = self.model.pod_metrics.get(metric)
        if kind is None or kind == "totalLoad":
            served = ", ".join(sorted(self.model.pod_metrics)) or "none"
            raise MetricUnavailable(
                f"unable to fetch metrics from custom metrics API: the server could not find "
                f"the metric {metric} for pods (the load model serves: {served})"
            )
        ready_value = milli(self.model.pod_value(kind, self.per_pod_load))
        idle_value = milli(self.model.pod_value(kind, 0.0))
        values = {}
        for pod in self.sim_pods:
            if pod.started > self.now:
                continue
            if pod.name in self.ready_names:
                values[pod.name] = ready_value
            elif self.model.pod_metrics_before_ready:
                values[pod.name] = idle_value
        if not values:
            raise MetricUnavailable(
                f"unable to fetch metrics from custom metrics API: no metrics returned for {metric}"
            )
        return values

    def object(
        self, metric: str, described: tuple[str, str, str], selector: Mapping[str, Any] | None
    ) -> int:
        kind = self.model.object_metrics.get(metric)
        if kind != "totalLoad":
            raise MetricUnavailable(
                f"the server could not find the metric {metric} for {described[1].lower()}s "
                "(the load model serves: "
                + (", ".join(sorted(self.model.object_metrics)) or "none")
                + ")"
            )
        return milli(self.load)

    def external(self, metric: str, selector: Mapping[str, Any] | None) -> list[int]:
        kind = self.model.external_metrics.get(metric)
        if kind != "totalLoad":
            raise MetricUnavailable(
                f"the server could not find the requested resource (get {metric}.external."
                "metrics.k8s.io); the load model serves: "
                + (", ".join(sorted(self.model.external_metrics)) or "none")
            )
        return [milli(self.load)]


class SimDeployment:
    """The target's pods, scaled as the ReplicaSet controller scales them."""

    def __init__(self, name: str, replicas: int, model: CapacityModel):
        self.name = name
        self.model = model
        self.serial = 0
        self.pods: list[SimPod] = []
        self.spec_replicas = 0
        self._ready_times: list[float] = []
        self.scale(replicas, _LONG_AGO)

    def _new_pod(self, now: float) -> SimPod:
        self.serial += 1
        started = now + self.model.pending_seconds
        return SimPod(
            f"{self.name}-{self.serial}", now, started, started + self.model.ready_seconds
        )

    def scale(self, replicas: int, now: float) -> None:
        self.spec_replicas = replicas
        while len(self.pods) < replicas:
            self.pods.append(self._new_pod(now))
        if len(self.pods) > replicas:
            # pkg/controller/controller_utils.go `ActivePodsWithRanks`: pending before
            # running, not ready before ready, the most recently ready, the newest.
            def rank(pod: SimPod) -> tuple[bool, bool, float, float]:
                running = pod.started <= now
                ready = pod.ready_at <= now
                return (running, ready, -pod.ready_at if ready else 0.0, -pod.created)

            self.pods.sort(key=rank)
            del self.pods[: len(self.pods) - replicas]
            self.pods.sort(key=lambda p: p.created)
        self._ready_times = sorted(p.ready_at for p in self.pods)

    def ready_count(self, now: float) -> int:
        return bisect.bisect_right(self._ready_times, now)

    def view(self, now: float, load: float, requests: PodRequests) -> ClusterView:
        return ClusterView(
            spec_replicas=self.spec_replicas,
            status_replicas=len(self.pods),
            pods=[p.state(now) for p in self.pods],
            requests=requests,
            metrics=SimMetrics(self.model, self.pods, now, load, requests),
        )


def steady_state_replicas(
    spec: HPASpec,
    model: CapacityModel,
    requests: PodRequests,
    load: float,
    config: ControllerConfig | None = None,
) -> int:
    """The count an HPA rests at under a constant `load`: the smallest count in
    [minReplicas, maxReplicas] at which, with every pod long ready, the metrics ask
    for no more. Runs start here, as a Deployment that has lived with the HPA.

    "Asks for no more" only turns from false to true as the count grows (every
    per-pod metric of the model grows with the per-pod load, which falls as pods
    are added; total-load metrics do not depend on the count), so a binary search
    finds the smallest such count."""
    config = config or ControllerConfig()

    def settled(replicas: int) -> bool:
        deployment = SimDeployment("steady", replicas, model)
        probe = HorizontalController(spec, config)
        proposal = probe.recommend(0.0, deployment.view(0.0, load, requests))
        return proposal is None or proposal <= replicas

    low, high = spec.min_replicas, min(spec.max_replicas, MAX_SIMULATED_REPLICAS)
    if not settled(high):
        return high
    while low < high:
        middle = (low + high) // 2
        if settled(middle):
            high = middle
        else:
            low = middle + 1
    return low
