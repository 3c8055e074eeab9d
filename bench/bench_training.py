"""Benchmark of a training live check: the course's PyTorchJob + TrainJob answer through
the real operators (training operator v1.8.1, Trainer v2.0.0 on JobSet v0.8.2).

Not a test: it prints numbers. Uses the cluster of the current KPREP_HOME (start it
with `kprep cluster up`, which runs the operators). Each run is a new
`kprep check ANSWER -s pytorchjob-to-trainjob --live` process (Python start-up
included): submit to report, with the operators creating 4 pods, the scheduler
placing them and the placement tree read back. Goal: < 10 s. Then the attempt
namespaces left behind must be none.

Usage: KPREP_HOME=... .venv/bin/python bench/bench_training.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIO = "pytorchjob-to-trainjob"
ANSWER = REPO / "answers" / SCENARIO / "answer.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    seconds = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "app", "check", str(ANSWER), "-s", SCENARIO, "--live"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds.append(time.perf_counter() - start)
        if result.returncode != 0:
            print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
            return 1
    print(
        f"training live check ({SCENARIO}, 4 pods through the operators): "
        f"median {statistics.median(seconds):.2f} s, min {min(seconds):.2f} s, "
        f"max {max(seconds):.2f} s over {args.runs} runs (goal < 10 s)"
    )
    from app.cluster.active import read_active
    from app.cluster.gc import owned_namespaces
    from app.cluster.kube import Kube
    from app.cluster.registry import make_provider

    active = read_active()
    if active is not None:
        with Kube(make_provider(active.provider, REPO).kubeconfig_path) as kube:
            left = owned_namespaces(kube, include_terminating=False)
        print(f"attempt namespaces left: {len(left)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
