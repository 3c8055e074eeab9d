"""Benchmark the HPA simulator: a 30-minute load profile must simulate in < 100 ms.

    .venv/bin/python bench/bench_autoscale.py [--runs 21] [--scenario hpa-ml-serving]

For each built-in profile (30 min, 10,000 req/s peak over a 1,500 baseline, 1,250
req/s per replica, as in hpa-ml-serving), at timeScale 1 (120 syncs of 15 s) and
10 (180 syncs of 1 lab second), it simulates the scenario's reference answer and
its starter in process (the starter sits at 50 replicas: the most pods per sync),
and prints the median wall time, the median CPU time and the worst wall time.
The simulator is single-threaded and does no I/O, so on an idle core wall time
equals CPU time; on a shared machine wall time also counts waiting for a core.
The goal is judged on the median CPU time; the script exits 1 when a case
misses it. The first call of each case is a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_MS = 100.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--scenario", default="hpa-ml-serving")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from app.autoscale.load import BUILTIN_PROFILES, builtin_profile
    from app.autoscale.model import CapacityModel
    from app.autoscale.simulate import simulate_documents
    from app.yamlmap import load_documents

    model = CapacityModel(capacity=1250)
    answers = {
        "answer": REPO / "answers" / args.scenario / "answer.yaml",
        "starter": REPO / "scenarios" / args.scenario / "starter.yaml",
    }
    worst_median = 0.0
    print(f"simulate a 30-minute profile ({args.runs} runs each, goal < {GOAL_MS:.0f} ms):")
    for label, path in answers.items():
        documents = load_documents(path.read_text()).documents
        for name in BUILTIN_PROFILES:
            profile = builtin_profile(name, peak=10_000, baseline=1_500, duration=1800)
            for time_scale in (1, 10):
                simulate_documents(documents, profile, model, time_scale=time_scale)  # warm-up
                samples, cpu = [], []
                for _ in range(args.runs):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    run = simulate_documents(documents, profile, model, time_scale=time_scale)
                    samples.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.process_time() - start_cpu) * 1000)
                median = statistics.median(samples)
                worst_median = max(worst_median, statistics.median(cpu))
                print(
                    f"  {label:8} {name:8} timeScale {time_scale:>2}: median {median:6.1f} ms "
                    f"(CPU {statistics.median(cpu):5.1f} ms), max {max(samples):6.1f} ms  "
                    f"({len(run.timeline)} syncs, peak {run.summary.peak_replicas} replicas)"
                )
    verdict = "ok" if worst_median < GOAL_MS else "MISSED"
    print(f"worst median CPU time {worst_median:.1f} ms: {verdict}")
    return 0 if worst_median < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
