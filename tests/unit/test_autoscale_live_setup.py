"""The live autoscaling runner's set-up, without a cluster: which clusters can run
it, and what it changes in the answer's Deployment."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from app.cluster.addons import ClusterAddons
from app.cluster.errors import ClusterError
from app.live.autoscale import _drop_requests, discover_pipeline
from app.live.connect import LiveCluster
from tests.conftest import REPO


def _cluster(provider):
    return LiveCluster(
        kube=None,  # type: ignore[arg-type]
        provider_name="kwok",
        profile="default",
        description="kwok",
        provider=provider,
    )


def test_a_cluster_without_the_add_ons_is_told_how_to_get_them():
    with pytest.raises(ClusterError, match="no metrics pipeline.*kprep cluster up"):
        discover_pipeline(_cluster(None))
    off = SimpleNamespace(addons=None, addons_enabled=False)
    with pytest.raises(ClusterError, match="KPREP_ADDONS=0"):
        discover_pipeline(_cluster(off))


def test_stopped_adapter_is_named(tmp_path):
    addons = ClusterAddons(tmp_path, tmp_path / "kubeconfig", REPO)
    provider = SimpleNamespace(addons=addons, addons_enabled=True)
    with pytest.raises(ClusterError, match="kprep-metrics-adapter.*not running"):
        discover_pipeline(_cluster(provider))


def test_the_pipeline_has_the_clusters_factor_and_flags(tmp_path, monkeypatch):
    addons = ClusterAddons(tmp_path, tmp_path / "kubeconfig", REPO)
    monkeypatch.setattr(addons, "status", list)  # every process running
    addons.paths.root.mkdir(parents=True)
    addons.paths.state.write_text(json.dumps({"labTimeFactor": 15}))
    pipeline = discover_pipeline(_cluster(SimpleNamespace(addons=addons, addons_enabled=True)))
    assert pipeline.time_scale == 15
    assert pipeline.values_path == addons.paths.values_file
    config = pipeline.controller
    assert (config.sync_period, config.downscale_stabilization) == (1, 20)
    assert (config.cpu_initialization_period, config.initial_readiness_delay) == (20, 2)


def test_requests_the_hpa_does_not_read_are_dropped_from_every_container():
    spec: dict[str, Any] = {
        "template": {
            "spec": {
                "containers": [
                    {"resources": {"limits": {"nvidia.com/gpu": 1, "cpu": "2"}}},
                    {"resources": {"requests": {"example.com/fpga": 1}}},
                ]
            }
        }
    }
    assert _drop_requests(spec, keep={"cpu"}) == {"nvidia.com/gpu", "example.com/fpga"}
    containers = spec["template"]["spec"]["containers"]
    assert containers[0]["resources"]["limits"] == {"cpu": "2"}
    # The HPA reads no CPU: the CPU request goes too (the lab's nodes are shared).
    assert _drop_requests(spec, keep=set()) == {"cpu"}
    assert containers[1]["resources"]["requests"] == {}
