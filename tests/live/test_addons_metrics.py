"""The metrics APIs `kprep cluster up` serves: resource metrics from kwok's simulated usage
(metrics-server), custom and external metrics from the values file (kprep-metrics-adapter)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRAPE_TIMEOUT_SECONDS = 60.0
"""metrics-server reports CPU as a rate of two scrapes 10 s apart: ~20 s, more under load."""


@pytest.fixture
def addons(provider: Any) -> Any:
    if not provider.addons_enabled:
        pytest.fail("the cluster runs without add-ons (KPREP_ADDONS=0)", pytrace=False)
    return provider.addons


@pytest.fixture
def metric_values(addons: Any) -> Iterator[dict[str, Any]]:
    """The adapter's values, restored afterwards (other tests may have rules in the file)."""
    import json

    path: Path = addons.paths.values_file
    before = path.read_text(encoding="utf-8") if path.exists() else "{}"
    values: dict[str, Any] = json.loads(before) or {}
    try:
        yield values
    finally:
        addons.write_metric_values(json.loads(before) or {})


def _pod(name: str, cpu: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"kwok.x-k8s.io/usage-cpu": cpu, "kwok.x-k8s.io/usage-memory": "300Mi"},
        },
        "spec": {
            "nodeSelector": {"node-role": "general"},
            "containers": [
                {"name": "server", "image": "server:v1", "resources": {"requests": {"cpu": "1"}}}
            ],
        },
    }


def _wait_running(kube: Any, namespace: str, names: list[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = kube.get(f"/api/v1/namespaces/{namespace}/pods")["items"]
        ready = {
            p["metadata"]["name"]
            for p in pods
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        }
        if set(names) <= ready:
            return
        time.sleep(0.5)
    pytest.fail(f"pods {names} not Ready in {namespace} after 30s")


def _nanocores(quantity: str) -> float:
    from app.k8s.quantity import parse_quantity

    return float(parse_quantity(quantity)) * 1e9


def test_resource_metrics_report_the_usage_kwok_simulates(
    kube: Any, scratch_namespace: str
) -> None:
    from app.cluster.kube import ApiError

    kube.request(
        "POST",
        f"/api/v1/namespaces/{scratch_namespace}/pods",
        body=_pod("busy", "800m", {"app": "busy"}),
    )
    path = f"/apis/metrics.k8s.io/v1beta1/namespaces/{scratch_namespace}/pods/busy"
    deadline = time.monotonic() + SCRAPE_TIMEOUT_SECONDS
    metrics: dict[str, Any] | None = None
    while metrics is None and time.monotonic() < deadline:
        try:
            metrics = kube.get(path)
        except ApiError as exc:
            assert exc.status == 404, exc  # not scraped yet; anything else is a failure
            time.sleep(2)
    assert metrics is not None, f"no pod metrics at {path} after {SCRAPE_TIMEOUT_SECONDS}s"
    usage = metrics["containers"][0]["usage"]
    assert abs(_nanocores(usage["cpu"]) - 800e6) < 40e6, usage  # 800m, within 5%
    assert usage["memory"] == "300Mi"


def test_custom_and_external_metrics_serve_what_kprep_wrote(
    kube: Any, scratch_namespace: str, addons: Any, metric_values: dict[str, Any]
) -> None:
    for name in ("llm-0", "llm-1"):
        kube.request(
            "POST",
            f"/api/v1/namespaces/{scratch_namespace}/pods",
            body=_pod(name, "100m", {"app": "llm"}),
        )
    _wait_running(kube, scratch_namespace, ["llm-0", "llm-1"])
    rules = {
        "pods": [
            *metric_values.get("pods", []),
            {
                "namespace": scratch_namespace,
                "selector": "app=llm",
                "metric": "inference_queue_depth",
                "value": "12",
            },
            {
                "namespace": scratch_namespace,
                "selector": "app=llm",
                "metric": "inference_requests_in_flight",
                "total": 30,
            },
        ],
        "objects": metric_values.get("objects", []),
        "external": [
            *metric_values.get("external", []),
            {
                "namespace": scratch_namespace,
                "metric": "queue_messages_ready",
                "labels": {"queue": "inference"},
                "value": 42,
            },
        ],
    }
    addons.write_metric_values(rules)
    base = f"/apis/custom.metrics.k8s.io/v1beta2/namespaces/{scratch_namespace}/pods/*"
    depth = kube.get(f"{base}/inference_queue_depth", labelSelector="app=llm")
    assert {i["describedObject"]["name"]: i["value"] for i in depth["items"]} == {
        "llm-0": "12",
        "llm-1": "12",
    }
    # `total` is split over the Ready pods, as a Service spreads requests.
    in_flight = kube.get(f"{base}/inference_requests_in_flight", labelSelector="app=llm")
    assert sorted(i["value"] for i in in_flight["items"]) == ["15", "15"]
    external = kube.get(
        f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{scratch_namespace}/queue_messages_ready",
        labelSelector="queue=inference",
    )
    assert [i["value"] for i in external["items"]] == ["42"]

    # A new value is served on the next request, with no restart.
    rules["pods"][-2]["value"] = "250m"
    addons.write_metric_values(rules)
    depth = kube.get(f"{base}/inference_queue_depth", labelSelector="app=llm")
    assert {i["value"] for i in depth["items"]} == {"250m"}


def test_a_metric_no_rule_names_is_not_found(kube: Any, scratch_namespace: str) -> None:
    from app.cluster.kube import ApiError

    with pytest.raises(ApiError) as info:
        kube.get(
            f"/apis/custom.metrics.k8s.io/v1beta2/namespaces/{scratch_namespace}/pods/*/"
            "no_such_metric",
            labelSelector="app=llm",
        )
    assert info.value.status == 404


def test_status_lists_every_add_on_running(addons: Any) -> None:
    rows = addons.status()
    assert [r.name for r in rows] == [
        "metrics-server",
        "kprep-metrics-adapter",
        "jobset-controller",
        "trainer-controller-manager",
        "training-operator",
    ]
    assert all(r.running for r in rows), [(r.name, r.log) for r in rows if not r.running]


def test_the_controller_manager_runs_the_hpa_in_lab_time(provider: Any, addons: Any) -> None:
    assert addons.running_lab_time_factor() == 10
    manager_pid = provider.component_pids()["kube-controller-manager"]
    command = Path(f"/proc/{manager_pid}/cmdline").read_bytes().decode().split("\0")
    assert "--horizontal-pod-autoscaler-sync-period=1s" in command
    assert "--horizontal-pod-autoscaler-downscale-stabilization=30s" in command


def test_the_api_server_trusts_the_front_proxy_client(provider: Any) -> None:
    apiserver_pid = provider.component_pids()["kube-apiserver"]
    command = Path(f"/proc/{apiserver_pid}/cmdline").read_bytes().decode().split("\0")
    pki = provider.addons.paths.pki
    assert f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}" in command
    assert f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}" in command
