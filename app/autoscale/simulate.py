"""Run an answer's Deployment + HPA against a load profile, without a cluster.

This module owns the simulated cluster around the controller of `hpa.py`: the
Deployment's pods (created, started, ready, deleted in the ReplicaSet's order),
the load model that turns traffic into the metrics the HPA reads
(`CapacityModel`), the clock (the controller's sync times, in lab time when a
`time_scale` compresses the run), and the resulting `AutoscaleRun`.

The load model (per ready replica; load is shared evenly by ready pods, since
the Service sends nothing to a pod that is not ready):

- `capacity`: the load one replica carries at its SLO. Its hard limit is
  `capacity x headroom` (1.25 by default), where it saturates.
- With rho = per-pod load / hard limit, the per-pod metrics follow an M/M/1
  queue, scaled so that at `capacity` they equal the scenario's measured values:
  in flight ~ rho/(1-rho) (`inFlightAtCapacity`, 40), waiting ~ rho^2/(1-rho)
  (`queueAtCapacity`, 8), p99 latency ~ 1/(1-rho) (`latencyAtCapacitySeconds`,
  0.1 s). They grow non-linearly near saturation and stop at
  `saturationMultiple` (10) times their at-capacity value: a saturated server's
  queue is bounded by its own limits and timeouts.
- CPU: `cpuUtilizationAtCapacity` (70%) of the request at `capacity`, in
  proportion to the load served (clipped at the hard limit). Memory: a constant
  share of the request. Other resources: not served by metrics-server.
- Object and External metrics of kind `totalLoad` report the whole load (a load
  balancer's request rate).
- A new pod is Pending for `pendingSeconds`, then Running and not ready for
  `readySeconds` (model loading), then Ready. Its custom metrics appear when it
  is ready (the server exports nothing while loading) unless
  `podMetricsBeforeReady`; its resource metrics `resourceMetricsDelaySeconds`
  after it starts (metrics-server's first scrape), with a `metricsWindowSeconds`
  window.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.autoscale.hpa import (
    ClusterView,
    ContainerRequests,
    ControllerConfig,
    HorizontalController,
    HPASpec,
    HPASpecError,
    MetricUnavailable,
    PodRequests,
    PodState,
    ResourceSample,
    lab_seconds,
    lab_spec,
    milli_value,
    parse_hpa,
)
from app.autoscale.load import LoadProfile
from app.autoscale.timeline import (
    AutoscaleRun,
    RunEvent,
    Sample,
    TimelinePoint,
    fold_event,
    summarize,
)
from app.k8s.quantity import QuantityError, parse_quantity
from app.yamlmap import Document, format_path

METRIC_KINDS = (
    "queueDepth",
    "inFlight",
    "latencySeconds",
    "latencyMilliseconds",
    "loadPerPod",
    "totalLoad",
)
"""What a named metric measures in the load model."""

DEFAULT_POD_METRICS: Mapping[str, str] = {
    "inference_queue_depth": "queueDepth",
    "inference_requests_in_flight": "inFlight",
    "inference_latency_p99_seconds": "latencySeconds",
    # custom-metric-units: an adapter that exports the p99 in milliseconds.
    "inference_latency_p99": "latencyMilliseconds",
    "requests_per_second": "loadPerPod",
}
DEFAULT_OBJECT_METRICS: Mapping[str, str] = {
    "requests_per_second": "totalLoad",
    "lb_requests_per_second": "totalLoad",
}
DEFAULT_EXTERNAL_METRICS: Mapping[str, str] = {
    "lb_requests_per_second": "totalLoad",
    "requests_per_second": "totalLoad",
}

MAX_SIMULATED_REPLICAS = 5000
"""More pods than this is refused: no answer needs it, and it bounds the run time."""
_LONG_AGO = -1e9


class AutoscaleInputError(ValueError):
    """The answer or the model cannot be simulated. Each problem names where."""

    def __init__(self, problems: Sequence[InputProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    def messages(self, documents: Sequence[Document] = (), file: str = "") -> list[str]:
        """`file:line:column: message` for problems inside a document of `documents`
        (as `app.yamlmap` parsed them), else `file: message`."""
        out = []
        for problem in self.problems:
            where = file or "answer"
            if problem.document is not None and problem.document < len(documents):
                line, column = documents[problem.document].locate(problem.path)
                where = f"{where}:{line}:{column}"
            out.append(f"{where}: {problem.message}")
        return out


@dataclass(frozen=True)
class InputProblem:
    message: str
    document: int | None = None
    """Index of the document in the file, when the problem is inside one."""
    path: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class CapacityModel:
    """How load becomes metrics and how pods come up (see the module docstring)."""

    capacity: float
    """Load one ready replica carries at its SLO, in `unit`."""
    unit: str = "req/s"
    headroom: float = 1.25
    """The replica's hard limit, as a multiple of `capacity`."""
    queue_at_capacity: float = 8.0
    in_flight_at_capacity: float = 40.0
    latency_at_capacity: float = 0.1
    """p99 in seconds at `capacity`."""
    saturation_multiple: float = 10.0
    cpu_utilization_at_capacity: float = 70.0
    """Percent of the CPU request used at `capacity`."""
    memory_utilization: float = 50.0
    """Percent of the memory request, whatever the load."""
    pending_seconds: float = 1.0
    ready_seconds: float = 240.0
    resource_metrics_delay: float = 15.0
    metrics_window: float = 15.0
    pod_metrics_before_ready: bool = False
    pod_metrics: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_POD_METRICS))
    object_metrics: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_OBJECT_METRICS))
    external_metrics: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_EXTERNAL_METRICS)
    )

    # -- the per-pod curves ------------------------------------------------------

    def pod_value(self, kind: str, per_pod_load: float) -> float:
        """A per-pod metric of `kind` for a ready pod serving `per_pod_load`."""
        if kind == "loadPerPod":
            return per_pod_load
        limit = self.capacity * self.headroom
        rho = per_pod_load / limit
        rho_c = 1 / self.headroom
        saturated = rho >= 1
        if kind == "inFlight":
            at_capacity = self.in_flight_at_capacity
            value = math.inf if saturated else at_capacity * _in_flight(rho) / _in_flight(rho_c)
        elif kind == "queueDepth":
            at_capacity = self.queue_at_capacity
            value = math.inf if saturated else at_capacity * _waiting(rho) / _waiting(rho_c)
        elif kind in ("latencySeconds", "latencyMilliseconds"):
            at_capacity = self.latency_at_capacity
            value = math.inf if saturated else at_capacity * (1 - rho_c) / (1 - rho)
            if kind == "latencyMilliseconds":
                at_capacity *= 1000
                value *= 1000
        else:
            raise ValueError(f"not a per-pod metric kind: {kind}")
        return min(value, at_capacity * self.saturation_multiple)

    def cpu_utilization(self, per_pod_load: float) -> float:
        """Percent of the CPU request a ready pod uses at `per_pod_load`."""
        served = min(per_pod_load, self.capacity * self.headroom)
        return self.cpu_utilization_at_capacity * served / self.capacity

    def lab(self, time_scale: float) -> CapacityModel:
        """The pod timings in lab time (what a live run configures)."""
        if time_scale == 1:
            return self
        return replace(
            self,
            pending_seconds=float(lab_seconds(self.pending_seconds, time_scale)),
            ready_seconds=float(lab_seconds(self.ready_seconds, time_scale)),
            resource_metrics_delay=float(lab_seconds(self.resource_metrics_delay, time_scale)),
            metrics_window=float(lab_seconds(self.metrics_window, time_scale)),
        )


def _in_flight(rho: float) -> float:
    return rho / (1 - rho)


def _waiting(rho: float) -> float:
    return rho * rho / (1 - rho)


@dataclass(frozen=True)
class AutoscaleScenario:
    """A scenario's `autoscale` block: the model plus the traffic's bounds."""

    model: CapacityModel
    peak: float
    baseline: float


_MODEL_KEYS: Mapping[str, tuple[str, str]] = {
    # YAML key -> (CapacityModel field, type)
    "unit": ("unit", "str"),
    "headroom": ("headroom", "number"),
    "queueAtCapacity": ("queue_at_capacity", "number"),
    "inFlightAtCapacity": ("in_flight_at_capacity", "number"),
    "latencyAtCapacitySeconds": ("latency_at_capacity", "number"),
    "saturationMultiple": ("saturation_multiple", "number"),
    "cpuUtilizationAtCapacity": ("cpu_utilization_at_capacity", "number"),
    "memoryUtilization": ("memory_utilization", "number"),
    "pendingSeconds": ("pending_seconds", "seconds"),
    "readySeconds": ("ready_seconds", "seconds"),
    "resourceMetricsDelaySeconds": ("resource_metrics_delay", "seconds"),
    "metricsWindowSeconds": ("metrics_window", "seconds"),
    "podMetricsBeforeReady": ("pod_metrics_before_ready", "bool"),
    "podMetrics": ("pod_metrics", "kinds"),
    "objectMetrics": ("object_metrics", "kinds"),
    "externalMetrics": ("external_metrics", "kinds"),
}


def scenario_from_mapping(data: object, where: str = "autoscale") -> AutoscaleScenario:
    """Read a scenario's `autoscale:` block:

        autoscale:
          capacityPerReplica: 1250   # required
          peak: 10000                # required
          baseline: 1500             # required
          readySeconds: 240          # and any other CapacityModel field, camelCase

    Raises `AutoscaleInputError` naming `where.key` for each bad entry.
    """
    problems: list[InputProblem] = []

    def bad(key: str, message: str) -> None:
        problems.append(InputProblem(f"{where}.{key}: {message}"))

    if not isinstance(data, Mapping):
        raise AutoscaleInputError([InputProblem(f"{where}: must be a mapping")])

    def number(key: str, *, required: bool, positive: bool = False) -> float | None:
        value = data.get(key)
        if value is None:
            if required:
                bad(key, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            bad(key, f"must be a number, not {value!r}")
            return None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            bad(key, "must be a finite number " + ("> 0" if positive else ">= 0"))
            return None
        return float(value)

    capacity = number("capacityPerReplica", required=True, positive=True)
    peak = number("peak", required=True, positive=True)
    baseline = number("baseline", required=True)
    if peak is not None and baseline is not None and peak <= baseline:
        bad("peak", f"must be above baseline ({baseline:g})")
    overrides: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("capacityPerReplica", "peak", "baseline"):
            continue
        if key not in _MODEL_KEYS:
            bad(str(key), "unknown field (known: " + ", ".join(sorted(_MODEL_KEYS)) + ")")
            continue
        attribute, kind = _MODEL_KEYS[key]
        if kind == "str":
            if not isinstance(value, str) or not value:
                bad(key, "must be a non-empty string")
                continue
            overrides[attribute] = value
        elif kind == "bool":
            if not isinstance(value, bool):
                bad(key, "must be true or false")
                continue
            overrides[attribute] = value
        elif kind == "kinds":
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and v in METRIC_KINDS for k, v in value.items()
            ):
                bad(key, "must map metric names to one of: " + ", ".join(METRIC_KINDS))
                continue
            overrides[attribute] = dict(value)
        else:
            parsed = number(key, required=False, positive=(key == "headroom"))
            if parsed is not None:
                overrides[attribute] = parsed
    if "headroom" in overrides and overrides["headroom"] <= 1:
        bad("headroom", "must be above 1 (the hard limit is above the SLO capacity)")
    if problems or capacity is None or peak is None or baseline is None:
        raise AutoscaleInputError(problems)
    return AutoscaleScenario(CapacityModel(capacity=capacity, **overrides), peak, baseline)


# --- the answer's documents --------------------------------------------------------


def pick_documents(
    documents: Sequence[Document],
) -> tuple[int, Mapping[str, Any], int | None, Mapping[str, Any] | None]:
    """The HPA and the Deployment it scales, out of a parsed answer file.

    Returns (hpa index, hpa, deployment index, deployment); the Deployment is None
    when the file has none. Raises `AutoscaleInputError` when there is no HPA or
    more than one."""
    hpas = [d for d in documents if d.kind == "HorizontalPodAutoscaler"]
    if not hpas:
        raise AutoscaleInputError(
            [InputProblem("the file has no HorizontalPodAutoscaler to simulate")]
        )
    if len(hpas) > 1:
        raise AutoscaleInputError(
            [
                InputProblem(
                    "the file has several HorizontalPodAutoscalers; the simulator runs one",
                    hpas[1].index,
                    ("kind",),
                )
            ]
        )
    hpa = hpas[0]
    target = (hpa.data.get("spec") or {}).get("scaleTargetRef") or {}
    name = target.get("name") if isinstance(target, Mapping) else None
    deployments = [d for d in documents if d.kind == "Deployment"]
    chosen = next((d for d in deployments if d.name == name), None)
    if chosen is None and len(deployments) == 1:
        chosen = deployments[0]
    if chosen is None:
        return hpa.index, hpa.data, None, None
    return hpa.index, hpa.data, chosen.index, chosen.data


def _pod_requests(
    deployment: Mapping[str, Any], document: int | None
) -> tuple[PodRequests, list[InputProblem]]:
    """Requests per container, as the API server defaults them (a request left out
    takes the limit: pkg/apis/core/v1/defaults.go `SetDefaults_Pod`)."""
    problems: list[InputProblem] = []
    template = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}

    def read(resources: object, path: tuple[str | int, ...]) -> dict[str, int]:
        if not isinstance(resources, Mapping):
            return {}
        requests: dict[str, int] = {}
        for section in ("limits", "requests"):  # requests win over defaulted limits
            values = resources.get(section)
            if not isinstance(values, Mapping):
                continue
            for name, raw in values.items():
                try:
                    requests[str(name)] = milli_value(parse_quantity(raw))
                except QuantityError as exc:
                    problems.append(
                        InputProblem(
                            f"{format_path((*path, section, name))}: {exc}",
                            document,
                            (*path, section, name),
                        )
                    )
        return requests

    containers = []
    for group in ("containers", "initContainers"):
        items = template.get(group)
        if not isinstance(items, list):
            continue
        for index, container in enumerate(items):
            if not isinstance(container, Mapping):
                continue
            sidecar = container.get("restartPolicy") == "Always"
            if group == "initContainers" and not sidecar:
                continue
            path = ("spec", "template", "spec", group, index, "resources")
            containers.append(
                ContainerRequests(
                    str(container.get("name", "")),
                    read(container.get("resources"), path),
                    restartable_init=group == "initContainers",
                )
            )
    pod_level = None
    if isinstance(template.get("resources"), Mapping):
        pod_level = read(template["resources"], ("spec", "template", "spec", "resources"))
        pod_level = pod_level or None
    return PodRequests(tuple(containers), pod_level), problems


def _check_target(
    spec: HPASpec,
    hpa_index: int | None,
    deployment: Mapping[str, Any] | None,
) -> list[InputProblem]:
    """The controller reads the target's scale subresource; a wrong reference gets
    FailedGetScale and nothing ever scales. Say so before simulating."""
    path = ("spec", "scaleTargetRef")
    problems = []
    if spec.target_kind != "Deployment":
        problems.append(
            InputProblem(
                f"scaleTargetRef.kind is {spec.target_kind!r}: the simulator scales a Deployment",
                hpa_index,
                (*path, "kind"),
            )
        )
    name = ((deployment or {}).get("metadata") or {}).get("name") or ""
    if deployment is not None and spec.target_name != name:
        problems.append(
            InputProblem(
                f"scaleTargetRef.name is {spec.target_name!r} but the Deployment is {name!r}: "
                "the controller would report FailedGetScale and never scale",
                hpa_index,
                (*path, "name"),
            )
        )
    if spec.target_api_version != "apps/v1":
        problems.append(
            InputProblem(
                f"scaleTargetRef.apiVersion is {spec.target_api_version!r}: a Deployment's "
                "scale subresource is served at apps/v1 (FailedGetScale otherwise)",
                hpa_index,
                (*path, "apiVersion"),
            )
        )
    return problems


# --- the simulated cluster ---------------------------------------------------------


@dataclass
class _SimPod:
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


class _SimMetrics:
    """The three metrics APIs over the simulated pods at one instant."""

    def __init__(
        self,
        model: CapacityModel,
        pods: Sequence[_SimPod],
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
        ready_value = _milli(self.model.pod_value(kind, self.per_pod_load))
        idle_value = _milli(self.model.pod_value(kind, 0.0))
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
        return _milli(self.load)

    def external(self, metric: str, selector: Mapping[str, Any] | None) -> list[int]:
        kind = self.model.external_metrics.get(metric)
        if kind != "totalLoad":
            raise MetricUnavailable(
                f"the server could not find the requested resource (get {metric}.external."
                "metrics.k8s.io); the load model serves: "
                + (", ".join(sorted(self.model.external_metrics)) or "none")
            )
        return [_milli(self.load)]


def _milli(value: float) -> int:
    """A value as an adapter would serve it: rounded to milli-units."""
    return math.floor(value * 1000 + 0.5)


class _Deployment:
    """The target's pods, scaled as the ReplicaSet controller scales them."""

    def __init__(self, name: str, replicas: int, model: CapacityModel):
        self.name = name
        self.model = model
        self.serial = 0
        self.pods: list[_SimPod] = []
        self.spec_replicas = 0
        self._ready_times: list[float] = []
        self.scale(replicas, _LONG_AGO)

    def _new_pod(self, now: float) -> _SimPod:
        self.serial += 1
        started = now + self.model.pending_seconds
        return _SimPod(
            f"{self.name}-{self.serial}", now, started, started + self.model.ready_seconds
        )

    def scale(self, replicas: int, now: float) -> None:
        self.spec_replicas = replicas
        while len(self.pods) < replicas:
            self.pods.append(self._new_pod(now))
        if len(self.pods) > replicas:
            # pkg/controller/controller_utils.go `ActivePodsWithRanks`: pending before
            # running, not ready before ready, the most recently ready, the newest.
            def rank(pod: _SimPod) -> tuple[bool, bool, float, float]:
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
            metrics=_SimMetrics(self.model, self.pods, now, load, requests),
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
        deployment = _Deployment("steady", replicas, model)
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


# --- the run -----------------------------------------------------------------------


def simulate(
    hpa: Mapping[str, Any],
    deployment: Mapping[str, Any] | None,
    profile: LoadProfile,
    model: CapacityModel,
    *,
    time_scale: float = 1.0,
    config: ControllerConfig | None = None,
    initial_replicas: int | None = None,
    scenario: str = "",
    file: str = "",
    hpa_document: int | None = None,
    deployment_document: int | None = None,
) -> AutoscaleRun:
    """Simulate the HPA scaling the Deployment under `profile`.

    `hpa` and `deployment` are parsed documents (`Document.data`); without a
    Deployment the target's pods request no resources (pass the scenario's
    Deployment when the answer has none and the HPA uses Resource metrics). With
    `time_scale` k > 1 the run happens in lab time as a live run would (every
    duration divided by k, at least 1 s; controller settings from
    `ControllerConfig.for_lab`), and reports times multiplied back by k.
    `initial_replicas` defaults to `steady_state_replicas` for the profile's
    first load. The `*_document` indexes locate problems in the file.

    Raises `AutoscaleInputError` for anything the run cannot start with.
    """
    if not (isinstance(time_scale, int | float) and math.isfinite(time_scale) and time_scale >= 1):
        raise AutoscaleInputError([InputProblem("timeScale must be a number >= 1")])
    try:
        answer_spec = parse_hpa(hpa)
    except HPASpecError as exc:
        raise AutoscaleInputError(
            [
                InputProblem(f"{format_path(p.path)}: {p.message}", hpa_document, p.path)
                for p in exc.problems
            ]
        ) from None
    problems = _check_target(answer_spec, hpa_document, deployment)
    requests = PodRequests(())
    if deployment is not None:
        requests, request_problems = _pod_requests(deployment, deployment_document)
        problems += request_problems
    if answer_spec.max_replicas > MAX_SIMULATED_REPLICAS:
        problems.append(
            InputProblem(
                f"maxReplicas {answer_spec.max_replicas} is above the {MAX_SIMULATED_REPLICAS} "
                "pods the simulator runs",
                hpa_document,
                ("spec", "maxReplicas"),
            )
        )
    if problems:
        raise AutoscaleInputError(problems)
    if deployment is None:
        # No Deployment in the file (some scenarios ask for the HPA alone): pods of one
        # container that requests nothing, so Resource metrics fail as they would.
        requests = PodRequests((ContainerRequests("main", {}),))

    config = config or ControllerConfig.for_lab(time_scale)
    spec = lab_spec(answer_spec, time_scale)
    lab_model = model.lab(time_scale)
    lab_profile = profile.scaled(time_scale)
    sync_every = max(1, round(config.sync_period))

    if initial_replicas is None:
        initial_replicas = steady_state_replicas(
            spec, lab_model, requests, lab_profile.at(0), config
        )
    target = _Deployment(answer_spec.target_name or "deployment", initial_replicas, lab_model)
    controller = HorizontalController(spec, config)

    timeline: list[TimelinePoint] = []
    events: list[RunEvent] = []
    samples: list[Sample] = []
    end = math.ceil(lab_profile.duration)
    loads = lab_profile.every_second(end)
    for second in range(end + 1):
        now = float(second)
        load = loads[second]
        answer_t = now * time_scale
        if second % sync_every == 0:
            result = controller.sync(now, target.view(now, load, requests))
            timeline.append(
                TimelinePoint(
                    t=answer_t,
                    load=load,
                    metrics={m.key: m.value for m in result.metrics if m.value is not None},
                    desired_replicas=result.desired_replicas,
                    replicas=result.current_replicas,
                    ready_replicas=target.ready_count(now),
                    conditions=result.conditions,
                )
            )
            for event in result.events:
                fold_event(events, RunEvent(answer_t, event.type, event.reason, event.message))
            if result.rescale:
                target.scale(result.desired_replicas, now)
        samples.append(Sample(answer_t, load, target.spec_replicas, target.ready_count(now)))

    return AutoscaleRun(
        scenario=scenario,
        file=file,
        mode="simulated",
        load_profile=profile.name,
        time_scale=time_scale,
        timeline=tuple(timeline),
        events=tuple(events),
        summary=summarize(samples, model.capacity, answer_spec.max_replicas),
        capacity=model.capacity,
        unit=model.unit,
        min_replicas=answer_spec.min_replicas,
        max_replicas=answer_spec.max_replicas,
        samples=tuple(samples),
    )


def simulate_documents(
    documents: Sequence[Document],
    profile: LoadProfile,
    model: CapacityModel,
    **options: Any,
) -> AutoscaleRun:
    """`simulate` on a parsed answer file (`ParsedFile.documents`); problems locate
    into it with `AutoscaleInputError.messages(documents, file)`."""
    hpa_index, hpa, deployment_index, deployment = pick_documents(documents)
    return simulate(
        hpa,
        deployment,
        profile,
        model,
        hpa_document=hpa_index,
        deployment_document=deployment_index,
        **options,
    )


__all__ = [
    "AutoscaleInputError",
    "AutoscaleScenario",
    "CapacityModel",
    "InputProblem",
    "METRIC_KINDS",
    "pick_documents",
    "scenario_from_mapping",
    "simulate",
    "simulate_documents",
    "steady_state_replicas",
]
