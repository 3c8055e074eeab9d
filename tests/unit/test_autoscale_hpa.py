"""The HPA algorithm of app.autoscale.hpa, rule by rule, against cases computed by
hand from kube-controller-manager v1.36's own code (pkg/controller/podautoscaler)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from app.autoscale.hpa import (
    ClusterView,
    ContainerRequests,
    ControllerConfig,
    HorizontalController,
    HPASpecError,
    MetricUnavailable,
    PodRequests,
    PodState,
    ResourceSample,
    ScalingPolicy,
    lab_hpa_document,
    lab_seconds,
    parse_hpa,
)

# --- helpers -------------------------------------------------------------------------


def hpa_doc(
    *,
    metrics: list[dict[str, Any]] | None = None,
    behavior: dict[str, Any] | None = None,
    min_replicas: int | None = 1,
    max_replicas: int | None = 100,
    **spec_extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        **spec_extra,
    }
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    if max_replicas is not None:
        spec["maxReplicas"] = max_replicas
    if metrics is not None:
        spec["metrics"] = metrics
    if behavior is not None:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": spec,
    }


def pods_metric(name: str = "queue", average: str = "8") -> dict[str, Any]:
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": name},
            "target": {"type": "AverageValue", "averageValue": average},
        },
    }


def cpu_metric(utilization: int = 50) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": utilization},
        },
    }


WINDOWS_ZERO = {
    "scaleUp": {"stabilizationWindowSeconds": 0},
    "scaleDown": {"stabilizationWindowSeconds": 0},
}


class FakeMetrics:
    """The metrics APIs answering fixed values (milli-units)."""

    def __init__(
        self,
        pods: Mapping[str, Mapping[str, int]] | None = None,
        cpu: Mapping[str, ResourceSample] | None = None,
        external: Mapping[str, list[int]] | None = None,
        objects: Mapping[str, int] | None = None,
    ):
        self._pods = pods or {}
        self._cpu = cpu or {}
        self._external = external or {}
        self._objects = objects or {}

    def resource(self, resource: str, container: str | None) -> dict[str, ResourceSample]:
        if resource != "cpu" or not self._cpu:
            raise MetricUnavailable("no metrics returned from resource metrics API")
        return dict(self._cpu)

    def pods(self, metric: str, selector: Mapping[str, Any] | None) -> dict[str, int]:
        if metric not in self._pods:
            raise MetricUnavailable(f"the server could not find the metric {metric} for pods")
        return dict(self._pods[metric])

    def object(self, metric: str, described: Any, selector: Any) -> int:
        if metric not in self._objects:
            raise MetricUnavailable("not found")
        return self._objects[metric]

    def external(self, metric: str, selector: Any) -> list[int]:
        if metric not in self._external:
            raise MetricUnavailable("not found")
        return list(self._external[metric])


def ready_pod(name: str, started: float = -10_000.0) -> PodState:
    return PodState(name, "Running", started, True, started)


def view(
    replicas: int,
    *,
    pods: list[PodState] | None = None,
    metrics: FakeMetrics | None = None,
    cpu_request: int = 1000,
) -> ClusterView:
    pods = pods if pods is not None else [ready_pod(f"p{i}") for i in range(replicas)]
    return ClusterView(
        spec_replicas=replicas,
        status_replicas=len(pods),
        pods=pods,
        requests=PodRequests((ContainerRequests("app", {"cpu": cpu_request}),)),
        metrics=metrics or FakeMetrics(),
    )


def queue_view(replicas: int, per_pod_milli: int, metric: str = "queue") -> ClusterView:
    values = {f"p{i}": per_pod_milli for i in range(replicas)}
    return view(replicas, metrics=FakeMetrics(pods={metric: values}))


def controller(doc: dict[str, Any], **config: Any) -> HorizontalController:
    return HorizontalController(parse_hpa(doc), ControllerConfig(**config))


# --- defaulting and validation (pkg/apis/autoscaling/v2/defaults.go, validation.go) -----


def test_min_replicas_defaults_to_one_and_metrics_to_cpu_80():
    spec = parse_hpa(hpa_doc(min_replicas=None))
    assert spec.min_replicas == 1
    assert len(spec.metrics) == 1
    metric = spec.metrics[0]
    assert (metric.type, metric.name, metric.target.type) == ("Resource", "cpu", "Utilization")
    assert metric.target.average_utilization == 80
    assert spec.behavior is None


def test_empty_behavior_gets_both_default_rule_sets():
    spec = parse_hpa(hpa_doc(metrics=[pods_metric()], behavior={}))
    assert spec.behavior is not None
    up, down = spec.behavior.scale_up, spec.behavior.scale_down
    assert up.stabilization_window_seconds == 0
    assert up.select_policy == "Max"
    assert up.policies == (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15))
    # The scale-down window stays nil: the controller's flag decides it.
    assert down.stabilization_window_seconds is None
    assert down.select_policy == "Max"
    assert down.policies == (ScalingPolicy("Percent", 100, 15),)


@pytest.mark.parametrize(
    ("scale_up", "expected"),
    [
        ({"selectPolicy": "Min"}, (0, "Min", 2)),
        ({"stabilizationWindowSeconds": 60}, (60, "Max", 2)),
        (
            {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}]},
            (0, "Max", 1),
        ),
        (None, (0, "Max", 2)),
    ],
)
def test_scale_up_fields_are_defaulted_one_by_one(scale_up, expected):
    behavior: dict[str, Any] = {"scaleDown": {"selectPolicy": "Disabled"}}
    if scale_up is not None:
        behavior["scaleUp"] = scale_up
    spec = parse_hpa(hpa_doc(metrics=[pods_metric()], behavior=behavior))
    assert spec.behavior is not None
    up = spec.behavior.scale_up
    assert (up.stabilization_window_seconds, up.select_policy, len(up.policies)) == expected
    down = spec.behavior.scale_down
    assert down.select_policy == "Disabled"
    assert down.policies == (ScalingPolicy("Percent", 100, 15),)
    assert down.stabilization_window_seconds is None


def test_tolerance_is_read_per_direction():
    spec = parse_hpa(hpa_doc(metrics=[pods_metric()], behavior={"scaleUp": {"tolerance": "50m"}}))
    assert spec.behavior is not None
    assert spec.behavior.scale_up.tolerance == pytest.approx(0.05)
    assert spec.behavior.scale_down.tolerance is None


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        (hpa_doc(max_replicas=None), "spec.maxReplicas", "must be set and greater than 0"),
        (hpa_doc(min_replicas=5, max_replicas=3), "spec.maxReplicas", "`minReplicas`"),
        (hpa_doc(min_replicas=0), "spec.minReplicas", "greater than or equal to 1"),
        (
            hpa_doc(behavior={"scaleUp": {"policies": []}}),
            "spec.behavior.scaleUp.policies",
            "must specify at least one Policy",
        ),
        (
            hpa_doc(behavior={"scaleDown": {"selectPolicy": "Fastest"}}),
            "spec.behavior.scaleDown.selectPolicy",
            "Unsupported value",
        ),
        (
            hpa_doc(behavior={"scaleDown": {"stabilizationWindowSeconds": 3601}}),
            "spec.behavior.scaleDown.stabilizationWindowSeconds",
            "3600",
        ),
        (
            hpa_doc(
                behavior={
                    "scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 15}]}
                }
            ),
            "spec.behavior.scaleUp.policies[0].value",
            "greater than zero",
        ),
        (
            hpa_doc(
                metrics=[
                    {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": "q"},
                            "target": {"type": "Value", "value": "1"},
                        },
                    }
                ]
            ),
            "spec.metrics[0].pods.target.averageValue",
            "must specify a positive target averageValue",
        ),
        (
            hpa_doc(metrics=[pods_metric(average="-1")]),
            "spec.metrics[0].pods.target.averageValue",
            "must be positive",
        ),
    ],
)
def test_specs_the_api_server_refuses_are_refused_with_their_field(doc, path, message):
    with pytest.raises(HPASpecError) as caught:
        parse_hpa(doc)
    text = str(caught.value)
    assert path in text
    assert message in text


def test_autoscaling_v1_is_read_as_its_cpu_target():
    doc = hpa_doc()
    doc["apiVersion"] = "autoscaling/v1"
    doc["spec"]["targetCPUUtilizationPercentage"] = 60
    spec = parse_hpa(doc)
    assert spec.metrics[0].target.average_utilization == 60
    assert spec.behavior is None
    doc["spec"]["metrics"] = [pods_metric()]
    with pytest.raises(HPASpecError, match="autoscaling/v1 has no field"):
        parse_hpa(doc)


# --- the tolerance (replica_calculator.go Tolerances.isWithin) -------------------------


def test_tolerance_edge_holds_at_exactly_ten_percent():
    ctl = controller(hpa_doc(metrics=[pods_metric(average="8")]))
    # 8.8 / 8 = 1.1: inside [0.9, 1.1], keep 4.
    assert ctl.recommend(0, queue_view(4, 8800)) == 4
    # 8.804 / 8 = 1.1005: ceil(1.1005 * 4) = 5.
    assert ctl.recommend(0, queue_view(4, 8804)) == 5
    # 7.2 / 8 = 0.9: keep 10; 7.192 / 8 = 0.899: ceil(8.99) = 9.
    assert ctl.recommend(0, queue_view(10, 7200)) == 10
    assert ctl.recommend(0, queue_view(10, 7192)) == 9


def test_per_hpa_tolerance_and_its_feature_gate():
    doc = hpa_doc(metrics=[pods_metric(average="8")], behavior={"scaleUp": {"tolerance": "0.05"}})
    # 8.5 / 8 = 1.0625: outside 5%, inside the global 10%.
    assert controller(doc).recommend(0, queue_view(4, 8500)) == 5
    assert controller(doc, configurable_tolerance=False).recommend(0, queue_view(4, 8500)) == 4
    # The scale-down side keeps the global 0.1: 7.3 / 8 = 0.9125 holds.
    assert controller(doc).recommend(0, queue_view(4, 7300)) == 4


# --- several metrics (horizontal.go computeReplicasForMetrics) -------------------------


def test_the_largest_proposal_wins():
    doc = hpa_doc(metrics=[pods_metric("a", "10"), pods_metric("b", "10")])
    metrics = FakeMetrics(
        pods={"a": {f"p{i}": 12_500 for i in range(4)}, "b": {f"p{i}": 17_500 for i in range(4)}}
    )
    # a: ceil(1.25 * 4) = 5; b: ceil(1.75 * 4) = 7.
    assert controller(doc).recommend(0, view(4, metrics=metrics)) == 7


def test_a_failed_metric_blocks_scale_down_but_not_scale_up():
    doc = hpa_doc(
        metrics=[pods_metric("a", "10"), pods_metric("missing", "10")], behavior=WINDOWS_ZERO
    )
    up = FakeMetrics(pods={"a": {f"p{i}": 20_000 for i in range(4)}})
    result = controller(doc).sync(0, view(4, metrics=up))
    assert result.desired_replicas == 8 and result.rescale
    assert any(e.reason == "FailedGetPodsMetric" for e in result.events)

    down = FakeMetrics(pods={"a": {f"p{i}": 2_000 for i in range(4)}})
    result = controller(doc).sync(0, view(4, metrics=down))
    assert not result.rescale
    failed = [e for e in result.events if e.reason == "FailedComputeMetricsReplicas"]
    assert failed and "invalid metrics (1 invalid out of 2)" in failed[0].message
    assert result.conditions["ScalingActive"] == "FailedGetPodsMetric"


# --- missing and unready pods (replica_calculator.go groupPods and its callers) --------


def test_missing_pods_count_as_zero_on_scale_up_and_as_target_on_scale_down():
    doc = hpa_doc(metrics=[pods_metric(average="8")])
    ctl = controller(doc)
    # 2 of 4 pods report 16 (ratio 2); the 2 missing count as 0 -> 8/8 = 1.0: hold.
    up = FakeMetrics(pods={"queue": {"p0": 16_000, "p1": 16_000}})
    assert ctl.recommend(0, view(4, metrics=up)) == 4
    # 2 report 2 (ratio 0.25); missing count as the target 8 -> (4+16)/4 = 5 -> ceil(0.625*4) = 3.
    down = FakeMetrics(pods={"queue": {"p0": 2_000, "p1": 2_000}})
    assert ctl.recommend(0, view(4, metrics=down)) == 3


def test_pending_pods_count_as_zero_on_scale_up():
    doc = hpa_doc(metrics=[pods_metric(average="8")])
    pods = [ready_pod("p0"), ready_pod("p1"), PodState("p2", "Pending", None, None, None)]
    metrics = FakeMetrics(pods={"queue": {"p0": 24_000, "p1": 24_000}})
    # Ready-only ratio 3; with the pending pod at 0: 48/3 = 16 -> ratio 2 -> ceil(2 * 3) = 6.
    assert controller(doc).recommend(0, view(3, pods=pods, metrics=metrics)) == 6


def cpu_sample(milli: int, at: float = 0.0, window: float = 15.0) -> ResourceSample:
    return ResourceSample(milli, at, window)


def test_unready_cpu_pods_count_as_zero_on_scale_up():
    doc = hpa_doc(metrics=[cpu_metric(50)])
    now = 100.0
    ready = [ready_pod(f"r{i}") for i in range(3)]
    # Started 10 s ago, still loading: within the CPU-initialization period and unready.
    loading = [PodState(f"u{i}", "Running", now - 10, False, now - 10) for i in range(3)]
    cpu = {p.name: cpu_sample(900, now) for p in ready} | {
        p.name: cpu_sample(1000, now) for p in loading
    }
    # Averaging everything: 95% -> ratio 1.9 -> 12. The controller: unready pods at 0
    # -> 2700/6000 = 45% -> ratio 0.9, inside the tolerance -> hold at 6.
    assert (
        controller(doc).recommend(now, view(6, pods=ready + loading, metrics=FakeMetrics(cpu=cpu)))
        == 6
    )


def test_unready_cpu_pods_are_left_out_on_scale_down():
    doc = hpa_doc(metrics=[cpu_metric(50)])
    now = 100.0
    ready = [ready_pod(f"r{i}") for i in range(3)]
    loading = [PodState(f"u{i}", "Running", now - 10, False, now - 10) for i in range(3)]
    cpu = {p.name: cpu_sample(200, now) for p in ready} | {
        p.name: cpu_sample(1000, now) for p in loading
    }
    # Ready only: 20% -> ratio 0.4 -> ceil(0.4 * 3) = 2 (the unready pods are not added back).
    assert (
        controller(doc).recommend(now, view(6, pods=ready + loading, metrics=FakeMetrics(cpu=cpu)))
        == 2
    )


def test_cpu_readiness_rules_after_the_initialization_period():
    doc = hpa_doc(metrics=[cpu_metric(50)])
    now = 1000.0
    start = 0.0  # 1000 s ago: past the 300 s CPU-initialization period
    never_ready = PodState("never", "Running", start, False, start + 5)  # within the 30 s delay
    was_ready = PodState("was", "Running", start, False, start + 500)  # turned unready later
    ready = ready_pod("ok", start)
    cpu = {"ok": cpu_sample(800, now), "never": cpu_sample(1000, now), "was": cpu_sample(1000, now)}
    # "never" is unready (0 on scale-up); "was" counts with its 100%.
    # Ready set: ok 80% + was 100% -> 90% -> ratio 1.8 > 1 with an unready pod:
    # add never at 0 -> 1800/3000 = 60% -> ratio 1.2 -> ceil(1.2 * 3) = 4.
    # (Were "was" unready too: ok alone, then 800/3000 = 26% flips direction -> 3.)
    pods = [ready, never_ready, was_ready]
    assert controller(doc).recommend(now, view(3, pods=pods, metrics=FakeMetrics(cpu=cpu))) == 4
    # If "was" had never been ready it would be unready too: ok alone 50% -> ratio 1.0 -> hold;
    # raise ok to 100% and the two unready count 0 -> 1000/3000 = 33% -> ratio 0.66, which
    # flips direction (ratio 2 before) -> hold at 3.
    cpu["ok"] = cpu_sample(1000, now)
    was_never = PodState("was", "Running", start, False, start + 10)
    pods = [ready, never_ready, was_never]
    assert controller(doc).recommend(now, view(3, pods=pods, metrics=FakeMetrics(cpu=cpu))) == 3


def test_a_cpu_sample_from_before_the_pod_turned_ready_is_ignored():
    doc = hpa_doc(metrics=[cpu_metric(50)])
    now = 100.0
    fresh = PodState("fresh", "Running", now - 60, True, now - 5)  # ready 5 s ago
    old = ready_pod("old")
    cpu = {"old": cpu_sample(1000, now), "fresh": cpu_sample(1000, now, window=15)}
    # fresh's sample covers a window that started before it turned ready: unready.
    # old alone: 100% -> ratio 2; fresh added at 0 -> 50% -> ratio 1.0 -> hold at 2.
    assert (
        controller(doc).recommend(now, view(2, pods=[old, fresh], metrics=FakeMetrics(cpu=cpu)))
        == 2
    )
    # 20 s later the window has passed: both count, 100% -> ceil(2 * 2) = 4.
    later = {k: cpu_sample(v.milli, now + 20) for k, v in cpu.items()}
    assert (
        controller(doc).recommend(
            now + 20, view(2, pods=[old, fresh], metrics=FakeMetrics(cpu=later))
        )
        == 4
    )


# --- External and Object metrics -------------------------------------------------------


def test_external_value_and_average_value_targets():
    value_doc = hpa_doc(
        metrics=[
            {
                "type": "External",
                "external": {
                    "metric": {"name": "rps"},
                    "target": {"type": "Value", "value": "875"},
                },
            }
        ]
    )
    metrics = FakeMetrics(external={"rps": [5_000_000, 1_000_000]})
    # Value: 6000 / 875 = 6.857 of the ready pods (4) -> ceil(27.43) = 28.
    assert controller(value_doc).recommend(0, view(4, metrics=metrics)) == 28
    average_doc = hpa_doc(
        metrics=[
            {
                "type": "External",
                "external": {
                    "metric": {"name": "rps"},
                    "target": {"type": "AverageValue", "averageValue": "875"},
                },
            }
        ]
    )
    # AverageValue: ceil(6000 / 875) = 7, whatever the pods.
    assert controller(average_doc).recommend(0, view(4, metrics=metrics)) == 7


def test_object_value_target():
    doc = hpa_doc(
        metrics=[
            {
                "type": "Object",
                "object": {
                    "describedObject": {
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "Ingress",
                        "name": "web",
                    },
                    "metric": {"name": "rps"},
                    "target": {"type": "Value", "value": "1k"},
                },
            }
        ]
    )
    # 3000 / 1000 = 3 -> ceil(3 * 2 ready) = 6.
    assert (
        controller(doc).recommend(0, view(2, metrics=FakeMetrics(objects={"rps": 3_000_000}))) == 6
    )


# --- min/max clamps (reconcileAutoscaler, convertDesiredReplicasWith*) ---------------------


def test_counts_outside_the_bounds_are_brought_back_without_metrics():
    doc = hpa_doc(min_replicas=3, max_replicas=20, metrics=[pods_metric()])
    above = controller(doc).sync(0, view(25))
    assert above.desired_replicas == 20
    assert (
        above.events[-1].message
        == "New size: 20; reason: Current number of replicas above Spec.MaxReplicas"
    )
    below = controller(doc).sync(0, view(1))
    assert below.desired_replicas == 3
    assert "below Spec.MinReplicas" in below.events[-1].message


def test_metric_proposals_are_clamped_to_max_and_min():
    doc = hpa_doc(
        min_replicas=3, max_replicas=20, metrics=[pods_metric(average="8")], behavior=WINDOWS_ZERO
    )
    result = controller(doc).sync(0, queue_view(10, 80_000))  # asks for 100
    assert result.desired_replicas == 20
    assert result.conditions["ScalingLimited"] == "TooManyReplicas"
    result = controller(doc).sync(0, queue_view(10, 100))  # asks for 1
    assert result.desired_replicas == 3
    assert result.conditions["ScalingLimited"] == "TooFewReplicas"


# --- behavior: policies and selectPolicy (calculateScale*LimitWith*) ----------------------


def up_policies(select: str) -> dict[str, Any]:
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": select,
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        }
    }


@pytest.mark.parametrize(("select", "expected"), [("Max", 20), ("Min", 14), ("Disabled", 10)])
def test_select_policy_on_scale_up(select, expected):
    doc = hpa_doc(metrics=[pods_metric(average="8")], behavior=up_policies(select))
    # 10 pods at 32 (ratio 4) ask for 40; Pods allows 10+4, Percent 10*2.
    result = controller(doc).sync(0, queue_view(10, 32_000))
    assert result.desired_replicas == expected
    assert result.rescale == (expected != 10)


@pytest.mark.parametrize(("select", "expected"), [("Max", 5), ("Min", 7), ("Disabled", 10)])
def test_select_policy_on_scale_down(select, expected):
    behavior = {
        "scaleDown": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": select,
            "policies": [
                {"type": "Pods", "value": 3, "periodSeconds": 60},
                {"type": "Percent", "value": 50, "periodSeconds": 60},
            ],
        }
    }
    doc = hpa_doc(metrics=[pods_metric(average="8")], behavior=behavior)
    # 10 pods at 0.8 ask for 1; Pods allows 10-3 = 7, Percent int(10*0.5) = 5.
    result = controller(doc).sync(0, queue_view(10, 800))
    assert result.desired_replicas == expected


def test_default_scale_up_policy_is_four_pods_or_double_per_15_seconds():
    doc = hpa_doc(
        metrics=[pods_metric(average="8")],
        behavior={"scaleDown": {"stabilizationWindowSeconds": 0}},
    )
    ctl = controller(doc)
    # 2 pods asking for 20: max(2+4, 2*2) = 6.
    assert ctl.sync(0, queue_view(2, 80_000)).desired_replicas == 6
    # 5 s later, inside the same 15 s period: the period started at 2 -> still 6.
    held = ctl.sync(5, queue_view(6, 80_000))
    assert held.desired_replicas == 6 and not held.rescale
    assert held.conditions["ScalingLimited"] == "ScaleUpLimit"
    # At 15 s the event at 0 is outside the period: max(6+4, 12) = 12.
    assert ctl.sync(15, queue_view(6, 80_000)).desired_replicas == 12
    # From 10 pods: max(14, 20) = 20 (Percent wins once above 4 pods).
    assert controller(doc).sync(0, queue_view(10, 80_000)).desired_replicas == 20


def test_without_behavior_scale_up_is_capped_per_sync_at_double_or_four():
    doc = hpa_doc(metrics=[pods_metric(average="8")])
    ctl = controller(doc)
    # calculateScaleUpLimit: max(2 * 1, 4) = 4 (not 1 + 4 as with behavior).
    assert ctl.sync(0, queue_view(1, 80_000)).desired_replicas == 4
    # No period memory: 5 s later it doubles again.
    assert ctl.sync(5, queue_view(4, 80_000)).desired_replicas == 8
    with_behavior = controller(hpa_doc(metrics=[pods_metric(average="8")], behavior={}))
    assert with_behavior.sync(0, queue_view(1, 80_000)).desired_replicas == 5


# --- stabilization windows (stabilizeRecommendation*) -------------------------------------


def run_drop(ctl: HorizontalController, until: float, step: float = 15) -> float | None:
    """10 pods at target at t=0, then load that asks for 2: when does it scale down?"""
    ctl.sync(0, queue_view(10, 8_000))
    t = step
    while t <= until:
        result = ctl.sync(t, queue_view(10, 1_600))
        if result.rescale:
            return t
        t += step
    return None


def test_default_scale_down_window_is_300_seconds_from_the_flag():
    omitted = hpa_doc(metrics=[pods_metric(average="8")], behavior={"scaleUp": {}})
    assert run_drop(controller(omitted), 600) == 300
    assert run_drop(controller(omitted, downscale_stabilization=60), 600) == 60
    no_behavior = hpa_doc(metrics=[pods_metric(average="8")])
    assert run_drop(controller(no_behavior), 600) == 300


def test_an_explicit_scale_down_window_holds_the_highest_recent_recommendation():
    doc = hpa_doc(
        metrics=[pods_metric(average="8")],
        behavior={"scaleDown": {"stabilizationWindowSeconds": 600}},
    )
    ctl = controller(doc)
    ctl.sync(0, queue_view(10, 8_000))
    held = ctl.sync(300, queue_view(10, 1_600))
    assert not held.rescale
    assert held.conditions["AbleToScale"] == "ScaleDownStabilized"
    assert run_drop(controller(doc), 900) == 600


def test_a_scale_up_window_takes_the_lowest_recent_recommendation():
    doc = hpa_doc(
        metrics=[pods_metric(average="8")],
        behavior={"scaleUp": {"stabilizationWindowSeconds": 30}},
    )
    ctl = controller(doc)
    ctl.sync(0, queue_view(4, 8_000))  # recommends 4
    first = ctl.sync(15, queue_view(4, 16_000))  # asks for 8; 4 is within 30 s
    assert not first.rescale and first.conditions["AbleToScale"] == "ScaleUpStabilized"
    second = ctl.sync(30, queue_view(4, 16_000))  # the 4s at 0 are on the cutoff: outside
    assert second.desired_replicas == 8


def test_first_sync_seeds_the_history_with_the_current_count():
    doc = hpa_doc(
        metrics=[pods_metric(average="8")],
        behavior={"scaleDown": {"stabilizationWindowSeconds": 60}},
    )
    ctl = controller(doc)
    first = ctl.sync(0, queue_view(10, 800))  # asks for 1, but 10 was just recorded
    assert not first.rescale
    assert ctl.sync(60, queue_view(10, 800)).desired_replicas == 1


# --- lab time -----------------------------------------------------------------------------


def test_lab_seconds_divides_rounds_half_up_and_keeps_at_least_one_second():
    assert lab_seconds(300, 10) == 30
    assert lab_seconds(15, 10) == 2
    assert lab_seconds(14, 10) == 1
    assert lab_seconds(4, 10) == 1
    assert lab_seconds(0, 10) == 0
    assert lab_seconds(15, 1) == 15


def test_lab_document_writes_the_defaulted_behavior_in_lab_time():
    doc = hpa_doc(
        metrics=[pods_metric()],
        behavior={
            "scaleDown": {
                "stabilizationWindowSeconds": 600,
                "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
            }
        },
    )
    lab = lab_hpa_document(doc, 10)
    assert lab["spec"]["behavior"]["scaleUp"] == {
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 2},
            {"type": "Percent", "value": 100, "periodSeconds": 2},
        ],
        "stabilizationWindowSeconds": 0,
    }
    assert lab["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60
    assert lab["spec"]["behavior"]["scaleDown"]["policies"][0]["periodSeconds"] == 6
    assert doc["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 600  # untouched
    no_behavior = hpa_doc(metrics=[pods_metric()])
    assert "behavior" not in lab_hpa_document(no_behavior, 10)["spec"]


def test_lab_controller_config_and_its_flags():
    config = ControllerConfig.for_lab(10)
    assert (config.sync_period, config.downscale_stabilization) == (1.0, 30.0)
    assert (config.cpu_initialization_period, config.initial_readiness_delay) == (30.0, 3.0)
    assert "--horizontal-pod-autoscaler-downscale-stabilization=30s" in config.flags()
    assert "--horizontal-pod-autoscaler-sync-period=1s" in config.flags()
    assert ControllerConfig.for_lab(1) == ControllerConfig()
