"""The simulator end to end: the load model, the summary's definitions, the seed's
HPA under a spike, lab time, bad input, the JSON contract and the chart."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from rich.console import Console

from app.autoscale.chart import AutoscaleChart, summary_lines
from app.autoscale.inputs import AutoscaleInputError, pick_documents, pod_requests
from app.autoscale.load import LoadProfile, builtin_profile
from app.autoscale.model import CapacityModel, scenario_from_mapping
from app.autoscale.simcluster import SimDeployment, steady_state_replicas
from app.autoscale.simulate import simulate, simulate_documents
from app.autoscale.timeline import Sample, summarize
from app.yamlmap import load_documents
from tests.conftest import REPO

# The hpa-ml-serving scenario: 1,250 req/s per A100 replica, 1,500 to 10,000 req/s.
MODEL = CapacityModel(capacity=1250)
SPIKE = builtin_profile("spike", peak=10_000, baseline=1_500)


def answer(scenario: str = "hpa-ml-serving", name: str = "answer.yaml"):
    folder = "answers" if name == "answer.yaml" else "scenarios"
    return load_documents((REPO / folder / scenario / name).read_text()).documents


def rescales(run) -> list[tuple[float, int]]:
    return [
        (e.t, int(e.message.split(";")[0].removeprefix("New size: ")))
        for e in run.events
        if e.reason == "SuccessfulRescale"
    ]


# --- the load model --------------------------------------------------------------------


def test_metrics_equal_the_measured_values_at_capacity():
    assert MODEL.pod_value("queueDepth", 1250) == pytest.approx(8)
    assert MODEL.pod_value("inFlight", 1250) == pytest.approx(40)
    assert MODEL.pod_value("latencySeconds", 1250) == pytest.approx(0.1)
    assert MODEL.pod_value("latencyMilliseconds", 1250) == pytest.approx(100)
    assert MODEL.cpu_utilization(1250) == pytest.approx(70)


def test_metrics_grow_faster_than_load_and_stop_at_saturation():
    queue = [MODEL.pod_value("queueDepth", load) for load in (500, 1000, 1250, 1500)]
    assert queue == sorted(queue)
    # Non-linear: the last 250 req/s add more queue than the first 1000.
    assert queue[3] - queue[2] > queue[1] - 0
    assert MODEL.pod_value("queueDepth", 1_562.5) == 80  # the hard limit: capped at 10x
    assert MODEL.pod_value("queueDepth", 50_000) == 80
    assert MODEL.pod_value("latencySeconds", 50_000) == pytest.approx(1.0)
    assert MODEL.cpu_utilization(50_000) == pytest.approx(70 * 1.25)  # clipped at the limit


def test_scenario_block_is_read_and_checked():
    block = {"capacityPerReplica": 1250, "peak": 10000, "baseline": 1500, "readySeconds": 120}
    scenario = scenario_from_mapping(block)
    assert scenario.model.capacity == 1250 and scenario.model.ready_seconds == 120
    assert (scenario.peak, scenario.baseline) == (10000, 1500)
    with pytest.raises(AutoscaleInputError) as caught:
        scenario_from_mapping({"peak": 5, "baseline": 9, "readySecs": 1, "podMetrics": {"q": "x"}})
    text = str(caught.value)
    assert "autoscale.capacityPerReplica: required" in text
    assert "autoscale.peak: must be above baseline (9)" in text
    assert "autoscale.readySecs: unknown field" in text
    assert "autoscale.podMetrics: must map metric names to one of" in text


# --- the summary's definitions -----------------------------------------------------------


def samples(loads, ready, replicas, step=10.0):
    return [
        Sample(i * step, load, count, up)
        for i, (load, up, count) in enumerate(zip(loads, ready, replicas, strict=True))
    ]


def test_summary_definitions_on_a_hand_made_run():
    run = samples(
        loads=[100, 100, 500, 500, 500, 500, 100, 100, 100, 100],
        ready=[1, 1, 1, 3, 5, 5, 5, 5, 2, 2],
        replicas=[1, 1, 3, 5, 5, 5, 5, 5, 2, 2],
    )
    summary = summarize(run, capacity=100, max_replicas=5)
    assert summary.peak_replicas == 5
    assert summary.seconds_to_scale_up == 20  # rise at 20, 5 ready carry 500 at 40
    assert summary.seconds_to_scale_down == 20  # drop at 60, settled at 2 from 80
    assert summary.time_at_max == 50  # t = 30..70
    assert summary.unmet_load_seconds == 20  # t = 20 (500 > 100) and 30 (500 > 300)
    assert (summary.load_rise_at, summary.load_drop_at) == (20, 60)


def test_summary_reports_none_when_a_phase_never_happens():
    flat = samples([100] * 4, [1] * 4, [1] * 4)
    summary = summarize(flat, capacity=100, max_replicas=5)
    assert summary.seconds_to_scale_up is None and summary.seconds_to_scale_down is None
    assert summary.load_rise_at is None and summary.load_drop_at is None
    never_carried = samples([100, 900, 900, 100], [1, 2, 3, 3], [1, 3, 3, 3])
    summary = summarize(never_carried, capacity=100, max_replicas=3)
    assert summary.seconds_to_scale_up is None
    assert summary.seconds_to_scale_down is None  # the count never went down after the drop
    assert summary.unmet_load_seconds == 20


# --- the seed's HPA under a spike ----------------------------------------------------------


def test_seed_answer_scales_up_at_the_default_rate_under_a_spike():
    run = simulate_documents(answer(), SPIKE, MODEL, scenario="hpa-ml-serving")
    steps = rescales(run)
    # Steady at minReplicas 3 for 1,500 req/s; at 60 s the queue saturates (80 per pod,
    # ratio 10): max(3+4, 2*3) = 7, then max(7+4, 14) = 14, then maxReplicas 20.
    assert steps[:3] == [(60, 7), (75, 14), (90, 20)]
    assert run.summary.peak_replicas == 20
    # The 7 pods of 60 s are ready at 60+1+240 = 301 (8,750 req/s); the 14 of 75 s at 316.
    assert run.summary.seconds_to_scale_up == 316 - 60
    assert run.summary.unmet_load_seconds == 316 - 60


def test_seed_answer_scales_down_only_after_its_600_second_window():
    run = simulate_documents(answer(), SPIKE, MODEL, scenario="hpa-ml-serving")
    queue = [(p.t, p.metrics.get("inference_queue_depth")) for p in run.timeline]
    last_high = max(t for t, value in queue if value is not None and value > 8 * 1.1)
    downs = [(t, n) for t, n in rescales(run) if t > 90]
    assert downs, "never scaled down"
    first_down, count = downs[0]
    # The first sync whose 600 s window holds no high recommendation any more.
    assert last_high + 600 <= first_down < last_high + 600 + 15
    assert count == 18  # then at most 2 pods per 60 s
    assert all(
        b[0] - a[0] >= 60 and a[1] - b[1] <= 2 for a, b in zip(downs, downs[1:], strict=False)
    )
    assert downs[-1][1] == 3
    # A 60 s window lets it go 540 s earlier.
    docs = answer()
    hpa = next(d for d in docs if d.kind == "HorizontalPodAutoscaler")
    hpa.data["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] = 60
    quicker = simulate_documents(docs, SPIKE, MODEL)
    assert [t for t, _ in rescales(quicker) if t > 90][0] == first_down - 540


def test_a_latency_target_in_the_wrong_unit_pins_the_hpa_at_max():
    # custom-metric-units' starter: "100m" of a metric exported in milliseconds.
    run = simulate_documents(answer("custom-metric-units", "starter.yaml"), SPIKE, MODEL)
    assert run.summary.time_at_max == SPIKE.duration
    fixed = simulate_documents(answer("custom-metric-units"), SPIKE, MODEL)
    assert fixed.summary.time_at_max < SPIKE.duration / 2


def test_cpu_hpa_without_requests_reports_the_controller_error():
    docs = answer("custom-metric-units")  # no Deployment in the file
    hpa = next(d for d in docs if d.kind == "HorizontalPodAutoscaler")
    hpa.data["spec"]["metrics"] = [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    run = simulate_documents(docs, SPIKE, MODEL)
    reasons = {e.reason for e in run.events}
    assert {"FailedGetResourceMetric", "FailedComputeMetricsReplicas"} <= reasons
    assert "missing request for cpu in container main" in run.events[0].message
    assert run.summary.peak_replicas == run.timeline[0].replicas  # nothing ever scales


def test_default_cpu_metric_barely_moves_a_saturated_gpu_server():
    docs = answer()
    hpa = next(d for d in docs if d.kind == "HorizontalPodAutoscaler")
    del hpa.data["spec"]["metrics"]  # defaults to CPU at 80% of the 2-CPU request
    del hpa.data["spec"]["behavior"]
    run = simulate_documents(docs, SPIKE, MODEL)
    assert all(p.metrics.keys() == {"cpu"} for p in run.timeline)
    # Saturated pods use at most 70% x 1.25 = 87% of their CPU request: 87/80 = 1.09 is
    # within the tolerance, so the spike goes unanswered (CPU is a poor signal here).
    assert max(p.metrics["cpu"] for p in run.timeline) == 87
    assert run.summary.peak_replicas == 3
    assert run.summary.unmet_load_seconds == 300
    hpa.data["spec"]["metrics"] = [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50},
            },
        }
    ]
    run = simulate_documents(docs, SPIKE, MODEL)
    # 87/50 = 1.74 -> ceil(5.22) = 6; without behavior at most max(2 x 3, 4) = 6 per sync.
    assert rescales(run)[0] == (60, 6)
    assert run.summary.peak_replicas > 6


# --- lab time --------------------------------------------------------------------------


def test_time_scale_runs_in_lab_time_and_reports_answer_seconds():
    run = simulate_documents(answer(), SPIKE, MODEL, time_scale=10)
    times = [p.t for p in run.timeline]
    # A 1 s lab sync is 10 answer seconds; 1800 s of profile is 180 lab seconds.
    assert times[:3] == [0, 10, 20] and times[-1] == 1800
    assert run.time_scale == 10
    assert rescales(run)[0] == (60, 7)
    plain = simulate_documents(answer(), SPIKE, MODEL)
    # Same story in compressed time, to within the coarser clock.
    lab_up, plain_up = run.summary.seconds_to_scale_up, plain.summary.seconds_to_scale_up
    assert lab_up is not None and plain_up is not None
    assert abs(lab_up - plain_up) <= 20
    assert run.summary.peak_replicas == plain.summary.peak_replicas


# --- bad input ---------------------------------------------------------------------------


def test_hpa_errors_point_at_the_line_in_the_file():
    text = (REPO / "answers/hpa-ml-serving/answer.yaml").read_text()
    text = text.replace("  maxReplicas: 20\n", "")
    docs = load_documents(text).documents
    with pytest.raises(AutoscaleInputError) as caught:
        simulate_documents(docs, SPIKE, MODEL)
    spec_line = text.splitlines().index("spec:") + 1
    assert caught.value.messages(docs, "a.yaml") == [
        f"a.yaml:{spec_line}:1: spec.maxReplicas: must be set and greater than 0"
    ]


def test_a_target_that_does_not_resolve_is_refused_with_its_line():
    text = (REPO / "answers/hpa-ml-serving/answer.yaml").read_text()
    text = text.replace("    name: model-serving\n", "    name: model-server\n", 1)
    docs = load_documents(text).documents
    with pytest.raises(AutoscaleInputError) as caught:
        simulate_documents(docs, SPIKE, MODEL)
    (message,) = caught.value.messages(docs, "a.yaml")
    line = text.splitlines().index("    name: model-server") + 1
    assert message.startswith(f"a.yaml:{line}:")
    assert "FailedGetScale" in message


def test_files_without_an_hpa_or_with_bad_requests():
    docs = load_documents("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n").documents
    with pytest.raises(AutoscaleInputError, match="no HorizontalPodAutoscaler"):
        simulate_documents(docs, SPIKE, MODEL)
    text = (REPO / "answers/hpa-ml-serving/answer.yaml").read_text().replace('cpu: "2"', "cpu: two")
    docs = load_documents(text).documents
    with pytest.raises(AutoscaleInputError) as caught:
        simulate_documents(docs, SPIKE, MODEL)
    (message,) = caught.value.messages(docs, "a.yaml")
    line = text.splitlines().index("              cpu: two") + 1
    assert message.startswith(f"a.yaml:{line}:")
    assert "requests.cpu" in message


def test_time_scale_below_one_is_refused():
    with pytest.raises(AutoscaleInputError, match="timeScale"):
        simulate({}, None, SPIKE, MODEL, time_scale=0.5)


# --- output ------------------------------------------------------------------------------


def test_json_contract():
    run = simulate_documents(answer(), SPIKE, MODEL, scenario="hpa-ml-serving", file="a.yaml")
    data: dict[str, Any] = json.loads(json.dumps(run.as_json()))
    assert data["mode"] == "simulated"
    assert (data["scenario"], data["file"], data["loadProfile"], data["timeScale"]) == (
        "hpa-ml-serving",
        "a.yaml",
        "spike",
        1,
    )
    point = data["timeline"][0]
    assert {"t", "load", "metrics", "desiredReplicas", "replicas"} <= point.keys()
    # 500 req/s per pod: rho = 500 / 1562.5 = 0.32; 8 x (0.32^2 / 0.68) / (0.8^2 / 0.2) = 0.3765,
    # served in milli-units (376m) and averaged as the controller averages them.
    assert point["metrics"]["inference_queue_depth"] == 0.376
    assert set(data["summary"]) == {
        "peakReplicas",
        "secondsToScaleUp",
        "secondsToScaleDown",
        "timeAtMax",
        "unmetLoadSeconds",
        "loadRiseAt",
        "loadDropAt",
    }
    event = data["events"][0]
    assert event == {
        "t": 60,
        "type": "Normal",
        "reason": "SuccessfulRescale",
        "message": "New size: 7; reason: pods metric inference_queue_depth above target",
    }


def test_chart_renders_within_the_width():
    run = simulate_documents(answer(), SPIKE, MODEL)
    console = Console(width=72, record=True, color_system=None)
    console.print(AutoscaleChart(run, height=10))
    text = console.export_text()
    lines = text.splitlines()
    assert lines[0] == "spike · simulated"
    assert all(len(line) <= 72 for line in lines)
    assert lines[1].startswith("20┤") and lines[1].endswith("25k")
    assert "━ replicas" in text and "0:00" in text and "30:00" in text
    # The replicas line reaches the top row (maxReplicas 20) during the spike.
    assert "━" in lines[1]
    words = "\n".join(summary_lines(run))
    assert "peak replicas      20 (maxReplicas 20)" in words
    assert "256 s" in words


def test_chart_of_a_short_run_from_the_timeline_only():
    profile = LoadProfile("tiny", ((0, 100), (30, 100)))
    run = simulate_documents(answer(), profile, MODEL)
    bare = type(run)(**{**run.__dict__, "samples": ()})
    console = Console(width=50, record=True, color_system=None)
    console.print(AutoscaleChart(bare))
    assert "tiny · simulated" in console.export_text()


def test_autoscale_package_imports_no_textual_or_kubernetes():
    code = (
        "import sys\n"
        "import app.autoscale.hpa, app.autoscale.load, app.autoscale.simulate, "
        "app.autoscale.timeline, app.autoscale.chart, app.autoscale.model, "
        "app.autoscale.inputs, app.autoscale.simcluster\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'kubernetes')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("scenario", "name"),
    [
        ("hpa-ml-serving", "answer.yaml"),
        ("hpa-ml-serving", "starter.yaml"),
        ("custom-metric-units", "answer.yaml"),
        ("pdb-with-hpa", "answer.yaml"),
    ],
)
def test_steady_state_search_finds_the_smallest_settled_count(scenario, name):
    from app.autoscale.hpa import HorizontalController, PodRequests, parse_hpa

    _, hpa, _, deployment = pick_documents(answer(scenario, name))
    spec = parse_hpa(hpa)
    requests = pod_requests(deployment, 0)[0] if deployment else PodRequests(())
    for load in (0, 1_500, 5_000, 10_000, 40_000):
        linear = spec.max_replicas
        for replicas in range(spec.min_replicas, spec.max_replicas + 1):
            view = SimDeployment("x", replicas, MODEL).view(0.0, load, requests)
            proposal = HorizontalController(spec).recommend(0.0, view)
            if proposal is None or proposal <= replicas:
                linear = replicas
                break
        assert steady_state_replicas(spec, MODEL, requests, load) == linear, load
