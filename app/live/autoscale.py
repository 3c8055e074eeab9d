"""`kprep autoscale --live`: the answer's HPA scaling its Deployment on the local cluster.

One run, like one `kprep check --live` attempt (`app.live.attempt`): the same
screening (allowed kinds, no host access, at most 50 objects), a fresh
namespace `kprep-<scenario>-<random>` labelled as kprep's, a server-side dry
run whose refusals name the answer's lines, and the namespace deleted at the
end, on errors and on cancel. Then, in lab time (every duration divided by the
cluster's factor, `ControllerConfig.for_lab`):

1. the Deployment is applied at the count the HPA rests at under the first load
   (`steady_state_replicas`, as the simulator starts), its pods annotated so
   kwok keeps new ones Running but not Ready while the model loads
   (`kprep.dev/ready-after`; the first ones skip it: `kprep.dev/slow-from`);
2. the first load is served (`app.autoscale.feed`), then the HPA is applied
   with its `behavior` in lab time (`lab_hpa_document`); the run starts at its
   first sync;
3. `app.live.autoscale_loop` drives the load and records the controller's
   status until the profile ends; the controller's Events are read last.

Every wait is bounded; `cancel` stops the run between two ticks. Errors:
`LiveRunRefused` (the answer: refused, or rejected by the API server) and
`ClusterError` (no cluster, no metrics pipeline, the cluster failed).
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.autoscale.hpa import ControllerConfig, lab_hpa_document, parse_hpa
from app.autoscale.inputs import pod_requests
from app.autoscale.observed import event_times, run_event
from app.autoscale.runs import PreparedRun
from app.autoscale.simcluster import steady_state_replicas
from app.autoscale.timeline import AutoscaleRun, RunEvent, fold_event, summarize
from app.cluster.addon_binaries import ADDONS_ENV
from app.cluster.addon_config import lab_time_controller_args
from app.cluster.addons import ClusterAddons
from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube, UnknownKindError
from app.cluster.namespaces import (
    NAMESPACE_RESOURCE,
    OWNED_LABEL,
    SCENARIO_LABEL,
    delete_attempt_namespace,
)
from app.cluster.provider import Echo
from app.cluster.wait import WaitTimeout, poll_until
from app.course.loader import Course
from app.course.models import Scenario
from app.live import safety
from app.live.apierrors import is_answer_error
from app.live.attempt import new_namespace_name, reference_kinds
from app.live.autoscale_loop import LiveLoop, LoopSetup, RunCancelled, write_values
from app.live.connect import LiveCluster, connect

SETTLE_SECONDS = 30.0
"""Longest wait for the first replicas to be Ready and the HPA's first sync (wall)."""
FIRST_PODS_MARGIN_SECONDS = 8.0
"""Pods created within this of the apply skip the model's loading (the run's first
replicas); the HPA is applied only after it has passed."""
APISERVICES = {
    "Resource": "v1beta1.metrics.k8s.io",
    "ContainerResource": "v1beta1.metrics.k8s.io",
    "Pods": "v1beta1.custom.metrics.k8s.io",
    "Object": "v1beta1.custom.metrics.k8s.io",
    "External": "v1beta1.external.metrics.k8s.io",
}
"""The aggregated API each metric source type is read from."""
PIPELINE = ("metrics-server", "kprep-metrics-adapter")
"""The add-on processes a live autoscaling run needs."""


class LiveRunRefused(Exception):
    """The answer cannot run: refused by kprep's rules or by the API server.
    `messages` are `file:line: reason` lines."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


@dataclass(frozen=True)
class MetricsPipeline:
    """What the cluster's metrics pipeline offers a live run."""

    values_path: Path
    """The values file kprep's metrics adapter serves."""
    controller: ControllerConfig
    """The HPA settings kube-controller-manager runs with (in lab time)."""
    time_scale: float
    """The lab-time factor those settings were made for."""


def discover_pipeline(cluster: LiveCluster) -> MetricsPipeline:
    """The running cluster's metrics pipeline (`app.cluster.addons`, started by
    `kprep cluster up`), or a ClusterError saying how to get one."""
    addons = getattr(cluster.provider, "addons", None)
    enabled = bool(getattr(cluster.provider, "addons_enabled", False))
    if not isinstance(addons, ClusterAddons) or not enabled:
        raise ClusterError(
            f"the {cluster.description} cluster runs no metrics pipeline for live autoscaling "
            "(metrics-server and kprep's custom metrics adapter; only kprep's kwok cluster "
            f"has them, and not with {ADDONS_ENV}=0): run the simulated `kprep autoscale`, "
            "or `kprep cluster up` with the kwok provider"
        )
    stopped = [row.name for row in addons.status() if row.name in PIPELINE and not row.running]
    if stopped:
        raise ClusterError(
            f"the cluster's {' and '.join(stopped)} {'is' if len(stopped) == 1 else 'are'} not "
            "running (logs in the cluster's addons/logs folder); `kprep cluster up` restarts "
            "the add-ons"
        )
    factor = addons.running_lab_time_factor() or addons.factor
    flags = lab_time_controller_args(factor)

    def seconds(flag: str) -> float:
        return float(flags[f"horizontal-pod-autoscaler-{flag}"].removesuffix("s"))

    controller = ControllerConfig(
        sync_period=seconds("sync-period"),
        downscale_stabilization=seconds("downscale-stabilization"),
        cpu_initialization_period=seconds("cpu-initialization-period"),
        initial_readiness_delay=seconds("initial-readiness-delay"),
    )
    return MetricsPipeline(addons.paths.values_file, controller, float(factor))


def check_apis(kube: Kube, prepared: PreparedRun) -> None:
    """Each metrics API the HPA reads must be registered and Available."""
    for api in sorted({APISERVICES[m.type] for m in prepared.spec.metrics}):
        try:
            service = kube.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{api}")
        except ApiError as exc:
            if exc.status != 404:
                raise ClusterError(f"cannot read APIService {api}: {exc.message}") from exc
            raise ClusterError(
                f"the cluster serves no {api.split('.', 1)[1]} API (APIService {api} is not "
                "registered), which the answer's HPA reads; `kprep cluster up` starts it"
            ) from exc
        available: dict[str, Any] = next(
            (
                c
                for c in (service.get("status") or {}).get("conditions") or []
                if c.get("type") == "Available"
            ),
            {},
        )
        if available.get("status") != "True":
            raise ClusterError(
                f"APIService {api} is not Available ({available.get('reason', 'no status')}: "
                f"{available.get('message', '')}); `kprep cluster up` restarts the metrics "
                "pipeline"
            )


def _label(manifest: dict[str, Any], namespace: str, scenario_id: str) -> dict[str, Any]:
    out = copy.deepcopy(manifest)
    meta = out.setdefault("metadata", {})
    labels = meta.setdefault("labels", {})
    labels[OWNED_LABEL] = "true"
    labels[SCENARIO_LABEL] = scenario_id[:63]
    meta["namespace"] = namespace
    return out


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _deployment_manifest(
    prepared: PreparedRun, namespace: str, replicas: int, model: Any, cluster: LiveCluster
) -> dict[str, Any]:
    """The Deployment to apply (its `kprep.dev/slow-from` is set by `_slow_from`)."""
    assert prepared.deployment is not None
    manifest = _label(dict(prepared.deployment), namespace, prepared.scenario_id)
    spec = manifest.setdefault("spec", {})
    spec["replicas"] = replicas
    read = {m.name for m in prepared.spec.metrics if m.type in ("Resource", "ContainerResource")}
    dropped = _drop_requests(spec, keep=read)
    if dropped:
        prepared.notes.append(
            f"the live run ignores the pods' {', '.join(sorted(dropped))} requests (the HPA "
            "reads no metric of them), so every replica the HPA asks for can start whatever "
            "the cluster's nodes and devices, as the simulator assumes; `kprep check --live` "
            "is where placement is graded"
        )
    template = spec.setdefault("template", {}).setdefault("metadata", {})
    annotations = template.setdefault("annotations", {})
    annotations["kprep.dev/ready-after"] = f"{model.ready_seconds:g}s"
    annotations["kprep.dev/start-after"] = f"{model.pending_seconds:g}s"
    return cluster.runnable(manifest) or manifest


def _slow_from(deployment: dict[str, Any]) -> float:
    """Mark the instant (time.time()) from which the Deployment's new pods load their
    model, just before it is applied; returns it.

    The replicas the run starts with have long loaded theirs: kwok makes pods
    created before this instant Ready at once. A margin, because on a busy machine
    the ReplicaSet controller creates them seconds after the apply."""
    slow_from = float(math.ceil(time.time() + FIRST_PODS_MARGIN_SECONDS))
    template = deployment.setdefault("spec", {}).setdefault("template", {})
    annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
    annotations["kprep.dev/slow-from"] = _rfc3339(slow_from)
    return slow_from


def _drop_requests(spec: dict[str, Any], *, keep: set[str]) -> set[str]:
    """Remove from the pod template's containers every extended resource (GPUs and
    other devices) and every other resource not in `keep` (those the HPA reads);
    returns their names. A live autoscaling run is about the HPA: a replica stuck
    Pending for want of a GPU or of CPU on a shared lab cluster would make it
    diverge from the simulator, which never runs out of nodes."""
    dropped: set[str] = set()
    pod = (spec.get("template") or {}).get("spec") or {}
    for group in ("containers", "initContainers"):
        for container in pod.get(group) or []:
            resources = container.get("resources") if isinstance(container, dict) else None
            if not isinstance(resources, dict):
                continue
            for section in ("requests", "limits"):
                values = resources.get(section)
                if isinstance(values, dict):
                    for name in [n for n in values if "/" in str(n) or str(n) not in keep]:
                        dropped.add(str(name))
                        del values[name]
    return dropped


def _screen(scenario: Scenario, prepared: PreparedRun) -> list[str]:
    allowed = safety.allowed_kinds(scenario.allowed_kinds, reference_kinds(scenario))
    allowed |= {"Deployment", "HorizontalPodAutoscaler"}
    problems: list[str] = []
    documents = prepared.documents
    if len(documents) > safety.MAX_OBJECTS:
        problems.append(f"{prepared.file}: more than {safety.MAX_OBJECTS} objects")
    for doc in documents:
        refusals = []
        refusal = safety.kind_refusal(str(doc.kind), allowed)
        if refusal is not None:
            refusals.append(refusal)
        refusals += safety.host_access(doc.data)
        for item in refusals:
            line, column = doc.locate(item.path)
            problems.append(f"{prepared.file}:{line}:{column}: {doc.describe()}: {item.message}")
    return problems


def run_live(
    course: Course,
    scenario: Scenario,
    prepared: PreparedRun,
    *,
    time_scale: float | None = None,
    cancel: threading.Event | None = None,
    echo: Echo | None = None,
    cluster: LiveCluster | None = None,
    pipeline: MetricsPipeline | None = None,
) -> AutoscaleRun:
    """Run the prepared answer on the cluster (see the module docstring).

    `time_scale` must be the cluster's (None: the cluster's). Raises
    `LiveRunRefused`, `ClusterError`, or `RunCancelled` when `cancel` is set.
    """
    say = echo or (lambda _message: None)
    problems = _screen(scenario, prepared)
    if problems:
        raise LiveRunRefused(problems)
    own_cluster = cluster is None
    cluster = cluster or connect(course, scenario, echo=say)
    try:
        pipeline = pipeline or discover_pipeline(cluster)
        factor = pipeline.time_scale if time_scale is None else time_scale
        if factor != pipeline.time_scale:
            raise ClusterError(
                f"the cluster's controller-manager runs in lab time at 1/{pipeline.time_scale:g} "
                f"(its HPA flags are fixed when it starts), not 1/{factor:g}: run with "
                f"--time-scale {pipeline.time_scale:g}, or without --time-scale"
            )
        check_apis(cluster.kube, prepared)
        return _run(cluster, scenario, prepared, pipeline, factor, cancel, say)
    finally:
        if own_cluster:
            cluster.close()


def _run(
    cluster: LiveCluster,
    scenario: Scenario,
    prepared: PreparedRun,
    pipeline: MetricsPipeline,
    factor: float,
    cancel: threading.Event | None,
    say: Echo,
) -> AutoscaleRun:
    kube = cluster.kube
    model = prepared.model.lab(factor)
    profile = prepared.profile.scaled(factor)
    hpa_manifest = lab_hpa_document(prepared.hpa, factor)
    lab_spec = parse_hpa(hpa_manifest)
    assert prepared.deployment is not None
    requests = pod_requests(prepared.deployment, None)[0]
    initial = steady_state_replicas(lab_spec, model, requests, profile.at(0), pipeline.controller)
    namespace = new_namespace_name(scenario.id)
    deployment = _deployment_manifest(prepared, namespace, initial, model, cluster)
    hpa = _label(hpa_manifest, namespace, scenario.id)
    others = [
        _label(d.data, namespace, scenario.id)
        for i, d in enumerate(prepared.documents)
        if d.kind not in ("Deployment", "HorizontalPodAutoscaler") and i != prepared.hpa_index
    ]
    selector = ",".join(
        f"{k}={v}"
        for k, v in sorted(
            ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels", {}).items()
        )
    )
    loop = LiveLoop(
        LoopSetup(
            kube=kube,
            namespace=namespace,
            hpa_name=str(hpa["metadata"].get("name")),
            deployment_name=str(deployment["metadata"].get("name")),
            selector=selector,
            spec=lab_spec,
            model=model,
            requests=requests,
            profile=profile,
            time_scale=factor,
            values_path=pipeline.values_path,
            cancel=cancel,
            progress=say,
        )
    )
    created = False
    try:
        kube.request(
            "POST",
            NAMESPACE_RESOURCE.path(),
            body={
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": namespace,
                    "labels": {OWNED_LABEL: "true", SCENARIO_LABEL: scenario.id[:63]},
                },
            },
        )
        created = True
        with contextlib.suppress(ApiError):
            kube.request(
                "POST",
                f"/api/v1/namespaces/{namespace}/serviceaccounts",
                body={
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "default"},
                },
            )
        _apply_all(kube, prepared, namespace, [deployment, *others, hpa], dry_run=True)
        loop.start_watching()
        slow_from = _slow_from(deployment)
        _apply_all(kube, prepared, namespace, [deployment, *others], dry_run=False)
        say(
            f"applied the Deployment at {initial} replicas in namespace {namespace}; "
            f"lab time 1/{factor:g}, {profile.duration:g} s of load"
        )
        _settle(
            lambda: loop.ready_pods() >= initial,
            cancel,
            f"the Deployment's {initial} first pods were not Ready after {SETTLE_SECONDS:g} s "
            "(is the cluster's profile able to place them? `kprep cluster status`)",
        )
        # Every pod the HPA adds must load its model: wait out the first pods' margin.
        _settle(
            lambda: time.time() >= slow_from + 1,
            cancel,
            "the clock did not pass the first pods' margin",
        )
        _apply_all(kube, prepared, namespace, [hpa], dry_run=False)
        _settle(
            loop.hpa_synced,
            cancel,
            f"the HPA controller did not sync the new HPA within {SETTLE_SECONDS:g} s; is "
            "kube-controller-manager running? (`kprep cluster status`)",
        )
        loop.run()
        events = _events(kube, namespace, loop.start_wall, factor)
    except ApiError as exc:
        raise ClusterError(f"the API server refused a kprep request: {exc}") from exc
    finally:
        loop.stop_watching()
        write_values(pipeline.values_path, namespace, None)
        if created:
            delete_attempt_namespace(kube, namespace)
    spec = prepared.spec
    return AutoscaleRun(
        scenario=prepared.scenario_id,
        file=prepared.file,
        mode="live",
        load_profile=prepared.profile.name,
        time_scale=factor,
        timeline=tuple(loop.timeline),
        events=tuple(events),
        summary=summarize(loop.samples, prepared.model.capacity, spec.max_replicas),
        capacity=prepared.model.capacity,
        unit=prepared.model.unit,
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        samples=tuple(loop.samples),
        observations=loop.observations(),
    )


def _apply_all(
    kube: Kube,
    prepared: PreparedRun,
    namespace: str,
    manifests: list[dict[str, Any]],
    *,
    dry_run: bool,
) -> None:
    problems = []
    for manifest in manifests:
        try:
            kube.create(manifest, namespace=namespace, dry_run=dry_run)
        except UnknownKindError as exc:
            problems.append(f"{prepared.file}: {exc}")
        except ApiError as exc:
            if not is_answer_error(exc):
                raise
            kind, name = manifest.get("kind"), (manifest.get("metadata") or {}).get("name")
            problems.append(
                f"{prepared.file}: {kind}/{name}: the API server refused it: {exc.message}"
            )
    if problems:
        raise LiveRunRefused(problems)


def _settle(done: Callable[[], bool], cancel: threading.Event | None, failure: str) -> None:
    """Wait (bounded) until `done()`; a timeout is a ClusterError saying `failure`."""
    try:
        poll_until(done, timeout=SETTLE_SECONDS, interval=0.05, cancel=cancel)
    except WaitTimeout:
        if cancel is not None and cancel.is_set():
            raise RunCancelled("the live run was cancelled") from None
        raise ClusterError(failure) from None


def _events(kube: Kube, namespace: str, start_wall: float, factor: float) -> list[RunEvent]:
    listed = kube.get(
        f"/api/v1/namespaces/{namespace}/events",
        fieldSelector="involvedObject.kind=HorizontalPodAutoscaler",
    )
    found = []
    for event in listed.get("items") or []:
        first, last = event_times(event)
        if first is None:
            continue
        t = max(0.0, (first - start_wall) * factor)
        last_t = max(0.0, ((last or first) - start_wall) * factor)
        found.append((first, run_event(event, t, last_t)))
    events: list[RunEvent] = []
    for _, event in sorted(found, key=lambda item: item[0]):
        fold_event(events, event)
    return events
