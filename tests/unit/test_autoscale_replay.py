"""The live run's pure parts: the replay of the real controller's syncs, the
adapter's shared values file, and the pods a watch sees."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from app.autoscale.hpa import ControllerConfig, parse_hpa
from app.autoscale.model import CapacityModel
from app.autoscale.replay import (
    ReplayedSync,
    compare,
    controller_clock,
    differences,
    lags,
    replay,
    sync_period,
)
from app.autoscale.timeline import LiveObservations
from app.live.autoscale_loop import _status_key, pods_now, write_values

MODEL = CapacityModel(capacity=100, pod_metrics={"inference_requests_in_flight": "inFlight"})


def _hpa(**spec):
    return parse_hpa(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                "minReplicas": 1,
                "maxReplicas": 20,
                "metrics": [
                    {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": "inference_requests_in_flight"},
                            "target": {"type": "AverageValue", "averageValue": "1"},
                        },
                    }
                ],
                **spec,
            },
        }
    )


def test_the_period_is_the_median_of_back_to_back_syncs():
    assert sync_period([0.0, 1.1, 2.2, 3.2, 9.0]) == pytest.approx(1.1)
    assert sync_period([0.0, 5.0]) == 1.0  # no back-to-back pair: nominal


def test_unseen_syncs_are_spread_evenly_between_seen_ones():
    clock = controller_clock([2.0, 3.0, 7.0], end=9.5)
    assert clock == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    # 4.5 s between two seen syncs at a 1 s period: 3 unseen, evenly spread.
    assert controller_clock([1.0, 2.0, 6.5], end=6.5)[2:] == pytest.approx(
        [2.0, 3.125, 4.25, 5.375, 6.5]
    )
    assert controller_clock([], end=10) == []


def test_a_decision_one_sync_early_or_late_is_a_shift_not_a_difference():
    late = [ReplayedSync(1.0, 20, 20, True), ReplayedSync(2.0, 18, 20, True)]
    assert compare([*late, ReplayedSync(3.0, 18, 18, True)]) == (
        [],
        ["lab t=2.00s: the controller decided 18 replicas, the simulator 20"],
    )
    early = [ReplayedSync(1.0, 20, 18, True), ReplayedSync(2.0, 18, 18, True)]
    assert compare(early)[0] == [] and len(compare(early)[1]) == 1
    # A count neither sync around it decided is a difference.
    wrong = [
        ReplayedSync(1.0, 3, 3, True),
        ReplayedSync(2.0, 3, 6, True),
        ReplayedSync(3.0, 3, 3, True),
    ]
    assert differences(wrong) == ["lab t=2.00s: the controller decided 3 replicas, the simulator 6"]
    assert differences([ReplayedSync(1.0, 3, 4, True)]) == []  # within one replica


def test_unseen_syncs_are_not_compared_but_their_lag_is_measured():
    syncs = [
        ReplayedSync(1.0, 3, 3, True),
        ReplayedSync(2.0, 3, 7, False),
        ReplayedSync(3.0, 3, 7, False),
        ReplayedSync(4.0, 7, 7, True),
        ReplayedSync(5.0, 7, 14, False),
    ]
    assert differences(syncs) == []
    assert lags(syncs) == [(2.0, 4.0), (5.0, 5.0)]


def test_the_replay_decides_from_the_observed_load_and_ready_pods():
    # 2 ready pods serving 600 req/s at a capacity of 100 each: far over target,
    # and the default scale-up policies allow at most max(4, 2 x 100%) = 4 at once.
    observations = LiveObservations(
        syncs=((1.0, 2, 4),),
        served=((0.0, 600.0, 2),),
        pods=((0.0, 2, 2, 2),),
        spec=((0.0, 2),),
    )
    config = ControllerConfig.for_lab(10)
    replayed = replay(_hpa(), config, MODEL.lab(10), observations, end=1.0)
    assert [(s.t, s.seen) for s in replayed] == [(0.0, False), (1.0, True)]
    assert replayed[-1].real == 4
    assert replayed[-1].simulated == 4
    assert differences(replayed) == []
    # The same inputs with a real controller that did not move: a difference.
    stuck = LiveObservations(
        ((1.0, 2, 2),), observations.served, observations.pods, observations.spec
    )
    assert differences(replay(_hpa(), config, MODEL.lab(10), stuck, end=1.0)) != []


def test_values_of_other_namespaces_are_kept_and_ours_removed(tmp_path):
    path = tmp_path / "values.json"
    ours = {"pods": [{"namespace": "a", "pod": "p", "metric": "m", "value": "1"}]}
    theirs = {"external": [{"namespace": "b", "metric": "e", "value": "2"}]}
    write_values(path, "a", ours)
    write_values(path, "b", theirs)
    both = json.loads(path.read_text())
    assert both["pods"] == ours["pods"] and both["external"] == theirs["external"]
    write_values(path, "a", None)
    assert json.loads(path.read_text()) == {
        "pods": [],
        "objects": [],
        "external": theirs["external"],
    }


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "values.json"

    def write(namespace: str) -> None:
        for i in range(20):
            rule = {"namespace": namespace, "pod": "p", "metric": "m", "value": str(i)}
            write_values(path, namespace, {"pods": [rule]})

    threads = [threading.Thread(target=write, args=(f"ns{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rules = json.loads(path.read_text())["pods"]
    assert sorted(r["namespace"] for r in rules) == ["ns0", "ns1", "ns2", "ns3"]
    assert {r["value"] for r in rules} == {"19"}


def _pod(phase, ready=False, deleting=False, cpu=None):
    meta: dict[str, Any] = {}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if cpu:
        meta["annotations"] = {"kwok.x-k8s.io/usage-cpu": cpu}
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    return {"metadata": meta, "status": {"phase": phase, "conditions": conditions}}


def test_pods_now_leaves_out_deleting_pods_and_counts_ready_ones():
    now = pods_now(
        {
            "a": _pod("Running", ready=True, cpu="300m"),
            "b": _pod("Running"),
            "c": _pod("Pending"),
            "d": _pod("Running", ready=True, deleting=True),
        }
    )
    assert now.running == ["a", "b"] and now.ready == ["a"] and now.pending == 1
    assert now.cpu == {"a": "300m", "b": ""}


def test_a_status_that_only_moves_timestamps_is_not_a_new_sync():
    status: dict[str, Any] = {
        "currentReplicas": 2,
        "desiredReplicas": 2,
        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"}],
    }
    later = {
        **status,
        "lastScaleTime": "2026-01-01T00:00:09Z",
        "conditions": [{**status["conditions"][0], "lastTransitionTime": "x"}],
    }
    assert _status_key(status) == _status_key(later)
    assert _status_key(status) != _status_key({**status, "desiredReplicas": 3})
