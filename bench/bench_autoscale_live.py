"""Benchmark a live autoscaling run (`kprep autoscale --live`) on the local cluster.

    KPREP_HOME=... .venv/bin/python bench/bench_autoscale_live.py [--scenario hpa-ml-serving]

Needs `kprep cluster up` (kwok, with its add-ons). Runs the scenario's reference
answer once to the end and prints: the start (namespace, first replicas Ready,
the HPA's first sync), the load phase (the profile's duration in lab time), the
end (events, namespace deleted) and the total; then starts a second run,
cancels it 5 s into the load, and prints how long the cancel took to return
and whether the run's namespace is gone. Goals (issue 13): a run in under two
minutes; a cancel within a second or two, nothing left behind.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", default="hpa-ml-serving")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from app.autoscale.runs import prepare
    from app.course.loader import Course
    from app.live.autoscale import run_live
    from app.live.autoscale_loop import RunCancelled
    from app.live.connect import connect

    course = Course(REPO)
    scenario = course.scenario(args.scenario)
    text = scenario.answer_text()
    marks: dict[str, float] = {}
    namespaces: list[str] = []

    def echo(line: str) -> None:
        if line.startswith("t=0s/"):
            marks.setdefault("load", time.monotonic())
        if line.startswith("applied the Deployment"):
            namespaces.append(line.split("namespace ", 1)[1].split(";", 1)[0])

    start = time.monotonic()
    prepared = prepare(scenario, text, f"{args.scenario}.yaml")
    run = run_live(course, scenario, prepared, echo=echo)
    total = time.monotonic() - start
    lab = prepared.profile.scaled(run.time_scale).duration
    began = marks.get("load", start) - start
    print(f"live run of {args.scenario}'s reference, lab time 1/{run.time_scale:g}:")
    print(f"  start   {began:6.1f} s  (namespace, first replicas Ready, first HPA sync)")
    print(f"  load    {lab:6.1f} s  (the profile's {prepared.profile.duration:g} s / factor)")
    print(f"  end     {total - began - lab:6.1f} s  (events, namespace deleted)")
    print(f"  total   {total:6.1f} s  peak {run.summary.peak_replicas} replicas")

    cancel = threading.Event()
    marks.clear()
    outcome: list[str] = []

    def second_run() -> None:
        try:
            run_live(course, scenario, prepare(scenario, text, "x.yaml"), echo=echo, cancel=cancel)
            outcome.append("finished")
        except RunCancelled:
            outcome.append("cancelled")

    worker = threading.Thread(target=second_run)
    worker.start()
    while "load" not in marks and worker.is_alive():
        time.sleep(0.05)
    time.sleep(5)
    asked = time.monotonic()
    cancel.set()
    worker.join(timeout=60)
    took = time.monotonic() - asked
    namespace = namespaces[-1] if len(namespaces) == 2 else ""
    cluster = connect(course, scenario)
    try:
        found = cluster.kube.get(f"/api/v1/namespaces/{namespace}") if namespace else None
    except Exception:  # noqa: BLE001 - ApiError 404: gone
        found = None
    finally:
        cluster.close()
    phase = ((found or {}).get("status") or {}).get("phase", "gone")
    result = outcome[0] if outcome else "still running"
    print(f"  cancel  {took:6.1f} s  ({result}; namespace {phase})")
    return 0 if total < 120 and took < 5 and phase in ("gone", "Terminating") else 1


if __name__ == "__main__":
    sys.exit(main())
