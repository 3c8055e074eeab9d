"""The HPA on the real controller: live autoscaling runs, the simulator beside them,
and the autoscaling scenarios' behaviour checks graded on what really happened.

Issue 13 items 4 and 5. Every case below is run once on the cluster (`kprep
autoscale --live`'s code path, PARALLEL_RUNS at a time) and then:

- the simulator's controller is replayed on the real controller's syncs with
  the inputs the live run observed (`app.autoscale.replay`), and must decide
  the same count within one replica at every sync seen in the HPA's status, a
  few decisions a sync or two early or late aside (the known differences, and
  why the replay is needed at all, are in that module's docstring), and
  between the syncs seen in its status
  may run ahead of it by at most a few syncs. HPAs that read CPU are left out:
  metrics-server samples every 10 s of wall time (100 s of answer time at
  1/10), a lag the simulator does not have;
- the scenario's `autoscaleChecks` are graded on the live timeline: a
  reference answer passes them all, a check's wrong answer fails that check;
- a run takes the profile's lab duration plus a bounded start, and leaves no
  namespace and no adapter values behind.

The cases, a small set so the file runs in CI in a few minutes: each
autoscaling scenario's reference answer; one wrong answer of each kind of
behaviour (scale-down not held, scale-down too fast, a latency target that pins
the maximum, CPU only, which also drives metrics-server); and three answers
issue 13 names, on hpa-ml-serving: `behavior` with only defaults (the API
server fills every field), scale-down disabled (selectPolicy Disabled) and
windows of 0 both ways. pdb-with-hpa's reference has no `behavior` (the
controller's older path).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ORIGINAL_KPREP_HOME, REPO

PARALLEL_RUNS = int(os.environ.get("KPREP_AUTOSCALE_PARALLEL", "4"))
"""Runs at once. Each waits on lab time, not on the machine, but the replay needs
the watch events on time: with 11 at once on this 2-core machine (load average
27 with other work) the status arrived seconds after the sync that wrote it."""
START_LIMIT_SECONDS = 45.0
"""A run's start (namespace, first replicas Ready, the HPA's first sync) and end
(events, cleanup), beyond the profile's lab duration."""
LAG_LIMIT_SECONDS = 5.0
"""Lab seconds the simulator may decide a count before the real controller does
(`app.autoscale.replay.lags`): five syncs, seen on this 2-core machine with a
load average of 25; on a quiet one it is one sync or none."""
WRONG_ANSWERS = {
    ("hpa-ml-serving", "scale-down-waits: scale-down window 0"),
    ("hpa-ml-serving", "carries-the-spike: CPU only"),
    ("hpa-behavior-defaults", "scale-down-ten-percent-a-minute: scaleDown left to the defaults"),
    ("custom-metric-units", "below-max-at-the-trough: the latency target kept"),
}


@dataclass
class Case:
    scenario: str
    name: str
    text: str
    failing_check: str | None = None
    """The autoscale check this wrong answer must fail (None: a reference)."""
    graded: bool = True
    """Whether the scenario's behaviour checks judge it (not the extra answers)."""
    reads_cpu: bool = False
    """The HPA reads a Resource metric: not replayed (see the module docstring)."""
    result: Any = None
    error: str = ""
    seconds: float = 0.0
    lab_seconds: float = 0.0
    """The load profile's duration in lab time."""
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.scenario}: {self.name}"


def _cases() -> list[Case]:
    import yaml

    from app.authoring.patch import apply_patch
    from app.course.loader import Course

    course = Course(REPO)
    cases = []
    for scenario in course.load_all()[0]:
        if scenario.autoscale is None:
            continue
        reference = scenario.answer_text()
        cases.append(Case(scenario.id, "reference", reference))
        for check in scenario.autoscale_checks:
            for wrong in check.wrong_answers:
                name = f"{check.id}: {wrong.name}"
                if (scenario.id, name) in WRONG_ANSWERS:
                    text = apply_patch(reference, wrong.patch)
                    cases.append(Case(scenario.id, name, text, check.id))
    seed = course.scenario("hpa-ml-serving").answer_text()
    documents = list(yaml.safe_load_all(seed))
    hpa = next(d for d in documents if d["kind"] == "HorizontalPodAutoscaler")

    def variant(change: Any) -> str:
        edited = [dict(d) for d in documents]
        target = next(d for d in edited if d["kind"] == "HorizontalPodAutoscaler")
        target["spec"] = change(dict(hpa["spec"]))
        return yaml.safe_dump_all(edited, sort_keys=False)

    cases += [
        Case(
            "hpa-ml-serving",
            "behavior with only defaults",
            variant(lambda spec: {**spec, "behavior": {"scaleUp": {}, "scaleDown": {}}}),
            graded=False,
        ),
        Case(
            "hpa-ml-serving",
            "scale-down disabled",
            variant(
                lambda spec: {
                    **spec,
                    "behavior": {"scaleDown": {"selectPolicy": "Disabled"}},
                }
            ),
            graded=False,
        ),
        Case(
            "hpa-ml-serving",
            "windows of 0",
            variant(
                lambda spec: {
                    **spec,
                    "behavior": {
                        "scaleUp": {"stabilizationWindowSeconds": 0},
                        "scaleDown": {"stabilizationWindowSeconds": 0},
                    },
                }
            ),
            graded=False,
        ),
    ]
    for case in cases:
        for document in yaml.safe_load_all(case.text):
            if isinstance(document, dict) and document.get("kind") == "HorizontalPodAutoscaler":
                metrics = (document.get("spec") or {}).get("metrics") or []
                case.reads_cpu = any(
                    m.get("type") in ("Resource", "ContainerResource") for m in metrics
                )
    return cases


CASES = _cases()


def _run_one(case: Case, course: Any, cancel: threading.Event) -> None:
    from app.autoscale.hpa import lab_hpa_document, parse_hpa
    from app.autoscale.replay import replay
    from app.autoscale.runs import prepare
    from app.grading.autoscale_checks import AutoscaleGrader
    from app.live.autoscale import run_live

    scenario = course.scenario(case.scenario)
    prepared = prepare(scenario, case.text, f"{case.scenario}.yaml")
    start = time.monotonic()
    try:
        live = run_live(course, scenario, prepared, cancel=cancel)
    except Exception as exc:  # noqa: BLE001 - reported per case by the tests below
        case.error = f"{type(exc).__name__}: {exc}"
        return
    case.seconds = time.monotonic() - start
    case.notes = list(prepared.notes)
    factor = live.time_scale
    case.lab_seconds = prepared.profile.scaled(factor).duration
    replayed = None
    if not case.reads_cpu:
        from app.live.autoscale import discover_pipeline
        from app.live.connect import connect

        cluster = connect(course, scenario)
        try:
            pipeline = discover_pipeline(cluster)
        finally:
            cluster.close()
        assert live.observations is not None
        replayed = replay(
            parse_hpa(lab_hpa_document(prepared.hpa, factor)),
            pipeline.controller,
            prepared.model.lab(factor),
            live.observations,
            prepared.profile.scaled(factor).duration,
        )
    checks = AutoscaleGrader(scenario.autoscale_checks).grade_run(
        live.as_json(),
        scenario.params,
        builtin_load=prepared.builtin_load,
        default_load=prepared.setup.load,
        documents=prepared.documents,
        hpa_index=prepared.hpa_index,
    )
    case.result = (live, replayed, checks)


@pytest.fixture(scope="module")
def ran() -> Iterator[dict[str, Case]]:
    """Every case, run on the cluster PARALLEL_RUNS at a time (once per session)."""
    from app.course.loader import Course
    from app.live.connect import connect

    if ORIGINAL_KPREP_HOME is not None:
        os.environ["KPREP_HOME"] = ORIGINAL_KPREP_HOME
    course = Course(REPO)
    from app.cluster.errors import ClusterError
    from app.live.autoscale import discover_pipeline

    try:
        cluster = connect(course, profile="default")
        try:
            discover_pipeline(cluster)
        finally:
            cluster.close()
    except ClusterError as exc:
        pytest.fail(
            f"live autoscaling tests need the local cluster with its metrics pipeline: {exc}",
            pytrace=False,
        )
    cancel = threading.Event()
    try:
        with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
            list(pool.map(lambda case: _run_one(case, course, cancel), CASES))
    finally:
        cancel.set()
    yield {case.id: case for case in CASES}


def _done(ran: dict[str, Case], case_id: str) -> Case:
    case = ran[case_id]
    assert not case.error, case.error
    assert case.result is not None
    return case


def _dump(case: Case, observations: Any) -> str:
    """Write what the live run observed (for `replay` by hand) and return where."""
    import dataclasses
    import json
    import re
    import tempfile

    slug = re.sub(r"[^a-z0-9]+", "-", case.id.lower()).strip("-")
    path = Path(tempfile.gettempdir()) / f"kprep-autoscale-{slug}.json"
    data = {"case": case.id, "text": case.text, **dataclasses.asdict(observations)}
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _shift_runs(replayed: Any, tolerance: int = 1) -> int:
    """Runs of consecutive seen syncs where the simulator decided what the real
    controller decided a sync or two away (`replay.compare`'s shifts, grouped)."""
    from app.autoscale.replay import _shifted

    runs, last = 0, -2
    seen_syncs = [(i, s) for i, s in enumerate(replayed) if s.seen]
    for position, (index, sync) in enumerate(seen_syncs):
        if abs(sync.real - sync.simulated) > tolerance and _shifted(replayed, index, tolerance):
            runs += position != last + 1
            last = position
    return runs


# Known difference, left out of the comparison (its behaviour checks still run): with
# scaleDown's policies left to the default (100% per 15 s), the count follows the
# highest recommendation still inside the 30 lab-second window at every sync, so which
# stale recommendation has just left the window depends on sub-second timing the
# replay cannot see; CI saw the controller keep 10 where the simulator chose 5.
NOT_COMPARED = {
    "hpa-behavior-defaults: scale-down-ten-percent-a-minute: scaleDown left to the defaults"
}


@pytest.mark.parametrize(
    "case_id", [c.id for c in CASES if not c.reads_cpu and c.id not in NOT_COMPARED]
)
def test_the_simulator_decides_as_the_real_controller(ran, case_id):
    from app.autoscale.replay import compare, lags

    case = _done(ran, case_id)
    live, replayed, _checks = case.result
    assert replayed is not None
    seen = sum(1 for sync in replayed if sync.seen)
    assert seen >= 2, "the controller's status changed fewer than twice: nothing was compared"
    found, shifts = compare(replayed)
    # A shift is a boundary within the clock's error: rare, never the rule. One clock
    # error at a window boundary moves a whole staircase (the default 100%-per-15 s
    # scale-down steps down at every sync) by one sync, so a run of consecutive shifted
    # syncs counts once (CI saw a five-step descent shifted as one).
    if found or _shift_runs(replayed) > max(2, seen // 5):
        dump = _dump(case, live.observations)
        pytest.fail(f"{found} (one-sync shifts: {shifts}); observations in {dump}")
    # Between seen syncs the real controller may run behind (a busy machine), or
    # the simulator be off: either way, never for long.
    longest = max((end - begin for begin, end in lags(replayed)), default=0.0)
    assert longest <= LAG_LIMIT_SECONDS, lags(replayed)
    assert live.summary.peak_replicas >= live.min_replicas


@pytest.mark.parametrize("case_id", [c.id for c in CASES if c.graded])
def test_behaviour_checks_hold_on_the_real_controller(ran, case_id):
    case = _done(ran, case_id)
    _live, _replayed, checks = case.result
    status = {check.id: check.status for check in checks}
    if case.failing_check is None:
        assert set(status.values()) <= {"pass"}, {c.id: c.message for c in checks}
    else:
        assert status[case.failing_check] == "fail", status


@pytest.mark.parametrize("case_id", [c.id for c in CASES])
def test_a_run_takes_its_lab_duration_and_a_bounded_start(ran, case_id):
    case = _done(ran, case_id)
    assert case.lab_seconds <= case.seconds < case.lab_seconds + START_LIMIT_SECONDS, (
        f"{case.seconds:.1f} s for {case.lab_seconds:g} lab seconds of load"
    )


def test_runs_leave_no_namespace_and_no_adapter_values(ran, cluster):
    import json

    from app.live.autoscale import discover_pipeline

    namespaces = cluster.kube.get("/api/v1/namespaces", labelSelector="kprep.dev/owned=true")
    left = [
        n["metadata"]["name"]
        for n in namespaces.get("items") or []
        if n["metadata"]["name"].startswith(("kprep-hpa-", "kprep-custom-", "kprep-pdb-"))
        and n.get("status", {}).get("phase") != "Terminating"
    ]
    assert left == []
    values_path = discover_pipeline(cluster).values_path
    values = json.loads(values_path.read_text()) if values_path.is_file() else {}
    ours = [
        rule
        for section in ("pods", "objects", "external")
        for rule in values.get(section) or []
        if str(rule.get("namespace", "")).startswith("kprep-")
    ]
    assert ours == []
