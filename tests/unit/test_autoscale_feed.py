"""What a live run serves (feed) and how it reads the controller back (observed):
the same numbers and names as the simulator's."""

from __future__ import annotations

from app.autoscale.feed import adapter_values, cpu_usage, milli
from app.autoscale.hpa import ContainerRequests, PodRequests, parse_hpa
from app.autoscale.model import CapacityModel, scenario_from_mapping
from app.autoscale.observed import (
    conditions_from_status,
    event_times,
    metrics_from_status,
    parse_time,
    run_event,
)

MODEL = CapacityModel(
    capacity=1250,
    pod_metrics={"inference_queue_depth": "queueDepth", "inference_requests_in_flight": "inFlight"},
    external_metrics={"lb_requests_per_second": "totalLoad"},
    object_metrics={"requests_per_second": "totalLoad"},
)


def hpa(*metrics):
    return parse_hpa(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                "maxReplicas": 10,
                "metrics": list(metrics),
            },
        }
    )


PODS = {
    "type": "Pods",
    "pods": {
        "metric": {"name": "inference_queue_depth"},
        "target": {"type": "AverageValue", "averageValue": "8"},
    },
}
EXTERNAL = {
    "type": "External",
    "external": {
        "metric": {"name": "lb_requests_per_second", "selector": {"matchLabels": {"service": "m"}}},
        "target": {"type": "AverageValue", "averageValue": "875"},
    },
}
OBJECT = {
    "type": "Object",
    "object": {
        "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "i"},
        "metric": {"name": "requests_per_second"},
        "target": {"type": "Value", "value": "10k"},
    },
}


def test_each_ready_pod_gets_the_models_value_at_its_share_of_the_load():
    values = adapter_values(
        namespace="ns",
        model=MODEL,
        spec=hpa(PODS),
        load=5000,
        ready_pods=["a", "b", "c", "d"],
        loading_pods=["e"],
    )
    # 1,250 req/s each is the capacity, where the model gives the load test's 8 and 40.
    by_metric: dict[str, dict[str, str]] = {}
    for rule in values["pods"]:
        by_metric.setdefault(rule["metric"], {})[rule["pod"]] = rule["value"]
    assert by_metric == {
        "inference_queue_depth": dict.fromkeys("abcd", "8000m"),
        "inference_requests_in_flight": dict.fromkeys("abcd", "40000m"),
    }
    assert all(rule["namespace"] == "ns" for rule in values["pods"])
    assert values["objects"] == values["external"] == []


def test_a_loading_pod_reports_idle_values_only_when_the_model_says_so():
    model = CapacityModel(
        capacity=1250, pod_metrics={"q": "queueDepth"}, pod_metrics_before_ready=True
    )
    values = adapter_values(
        namespace="ns", model=model, spec=hpa(PODS), load=0, ready_pods=[], loading_pods=["e"]
    )
    assert values["pods"] == [{"namespace": "ns", "pod": "e", "metric": "q", "value": "0m"}]


def test_external_and_object_metrics_carry_the_whole_load():
    values = adapter_values(
        namespace="ns",
        model=MODEL,
        spec=hpa(EXTERNAL, OBJECT),
        load=1234.5678,
        ready_pods=["a"],
    )
    assert values["external"] == [
        {
            "namespace": "ns",
            "metric": "lb_requests_per_second",
            "labels": {"service": "m"},
            "value": "1234568m",
        }
    ]
    assert values["objects"] == [
        {
            "namespace": "ns",
            "resource": "ingresses.networking.k8s.io",
            "name": "i",
            "metric": "requests_per_second",
            "value": "1234568m",
        }
    ]


def test_a_metric_the_scenario_does_not_serve_gets_no_rule():
    unserved = {
        "type": "External",
        "external": {
            "metric": {"name": "other"},
            "target": {"type": "AverageValue", "averageValue": "875"},
        },
    }
    values = adapter_values(
        namespace="ns", model=MODEL, spec=hpa(unserved), load=10, ready_pods=["a"]
    )
    assert values["external"] == []


def test_cpu_usage_follows_the_load_of_ready_pods_only():
    requests = PodRequests((ContainerRequests("main", {"cpu": 2000}),))
    usage = cpu_usage(MODEL, requests, 2500, ready_pods=["a", "b"], running_pods=["a", "b", "c"])
    # 1,250 req/s per ready pod is 70% of a 2-CPU request; a loading pod burns ~nothing.
    assert usage == {"a": "1400m", "b": "1400m", "c": "1m"}


def test_milli_rounds_like_the_simulator():
    assert (milli(0.3765), milli(0.0004), milli(2.0)) == (377, 0, 2000)


def test_the_block_reads_into_the_same_model():
    setup = scenario_from_mapping(
        {
            "capacityPerReplica": 1250,
            "peak": 10000,
            "baseline": 1500,
            "podMetrics": {"q": "inFlight"},
        }
    )
    assert setup.model.pod_metrics == {"q": "inFlight"}


def test_status_metrics_are_keyed_and_valued_as_the_simulators():
    status = {
        "currentMetrics": [
            {
                "type": "Pods",
                "pods": {"metric": {"name": "q"}, "current": {"averageValue": "376m"}},
            },
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": 35, "averageValue": "700m"},
                },
            },
            {
                "type": "ContainerResource",
                "containerResource": {
                    "name": "memory",
                    "container": "app",
                    "current": {"averageValue": "1Gi"},
                },
            },
            {
                "type": "External",
                "external": {"metric": {"name": "rps"}, "current": {"value": "10k"}},
            },
            {"type": "Pods", "pods": {"metric": {"name": "broken"}, "current": {}}},
        ],
        "conditions": [
            {"type": "AbleToScale", "status": "True", "reason": "ScaleUpStabilized"},
            {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange"},
        ],
    }
    assert metrics_from_status(status) == {
        "q": 0.376,
        "cpu": 35.0,
        "memory/app": float(1024**3),
        "rps": 10000.0,
    }
    assert conditions_from_status(status) == {
        "AbleToScale": "ScaleUpStabilized",
        "ScalingLimited": "DesiredWithinRange",
    }


def test_events_keep_their_times_and_repeats():
    legacy = {
        "type": "Warning",
        "reason": "FailedGetPodsMetric",
        "message": "no metrics",
        "count": 3,
        "firstTimestamp": "2026-05-01T10:00:00Z",
        "lastTimestamp": "2026-05-01T10:00:02Z",
    }
    first, last = event_times(legacy)
    assert first is not None and last is not None and last - first == 2
    event = run_event(legacy, 15.0, 45.0)
    assert (event.reason, event.count, event.last_t) == ("FailedGetPodsMetric", 3, 45.0)
    start = parse_time("2026-05-01T10:00:00Z")
    assert start is not None
    assert parse_time("2026-05-01T10:00:00.250000Z") == start + 0.25
    assert parse_time("yesterday") is None
