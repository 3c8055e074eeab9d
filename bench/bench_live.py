"""Benchmark of the live path: cluster bring-up, one live check, fifty in a row.

Not a test: it prints numbers next to the published peers.

1. `kprep cluster up` in a fresh KPREP_HOME with cached binaries: seconds until
   the API answers and every node is Ready. Peer: kind's single-node
   `kind create cluster`, 12.5 s (v0.12) to 17.1 s (v0.14)
   (kubernetes-sigs/kind#2893). Goal: < 15 s.
2. `kprep check ANSWER --live` end to end (a new process each time, Python
   start-up included), median of several. Goal: < 3 s.
3. Fifty live checks in a row in one process (the terminal app's path):
   first-10 vs last-10 medians (no slow-down), then no attempt namespace and
   no pod left behind.

With `--provider kind` the same on a kind cluster (Docker, kind and the node image
ready: `bash hack/ci-kind.sh`); goals: `up` < 90 s with cached images, a live
check < 5 s (pods really start on kind).

Usage: .venv/bin/python bench/bench_live.py [--runs 50] [--keep-cluster] [--provider kind]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KPREP = [sys.executable, "-m", "app"]
SCENARIO = "gpu-limits"
ANSWER = REPO / "answers" / SCENARIO / "answer.yaml"
KIND_SINGLE_NODE = (12.5, 17.1)


def run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    return time.perf_counter() - start, result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cli-runs", type=int, default=7)
    parser.add_argument("--keep-cluster", action="store_true")
    parser.add_argument("--provider", choices=("kwok", "kind"), default="kwok")
    args = parser.parse_args()
    up_goal, check_goal = (15, 3) if args.provider == "kwok" else (90, 5)

    home = Path(tempfile.mkdtemp(prefix="kprep-bench-"))
    env = dict(os.environ, KPREP_HOME=str(home))
    os.environ["KPREP_HOME"] = str(home)
    print(f"KPREP_HOME={home}")

    # 1. bring-up
    seconds, result = run([*KPREP, "cluster", "up", "--provider", args.provider], env)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return 1
    print(result.stderr.strip())
    low, high = KIND_SINGLE_NODE
    print(
        f"\n[1] kprep cluster up ({args.provider}, 8 nodes, cached binaries/images): "
        f"{seconds:.1f}s wall | kind single node: {low}-{high}s | goal < {up_goal}s: "
        f"{'OK' if seconds < up_goal else 'MISSED'}"
    )

    try:
        # 2. one live check, end to end
        cli: list[float] = []
        for _ in range(args.cli_runs):
            took, result = run([*KPREP, "check", str(ANSWER), "-s", SCENARIO, "--live"], env)
            if result.returncode != 0:
                print(result.stdout, result.stderr, file=sys.stderr)
                return 1
            cli.append(took)
        print(
            f"[2] kprep check --live, end to end ({args.cli_runs} runs): median "
            f"{median(cli):.2f}s, min {min(cli):.2f}s, max {max(cli):.2f}s | goal < "
            f"{check_goal}s: {'OK' if median(cli) < check_goal else 'MISSED'}"
        )

        # 3. fifty in a row, in process
        sys.path.insert(0, str(REPO))
        from app.cluster.gc import owned_namespaces
        from app.course.loader import Course
        from app.grading.engine import Grader
        from app.live.attempt import grade_live
        from app.live.connect import connect

        course = Course(REPO)
        scenario = course.scenario(SCENARIO)
        grader = Grader(scenario, crd_dir=course.crd_dir)
        text = ANSWER.read_text(encoding="utf-8")
        cluster = connect(course, scenario)
        times: list[float] = []
        failures = 0
        try:
            for _ in range(args.runs):
                start = time.perf_counter()
                report = grade_live(course, scenario, grader, text, str(ANSWER), cluster=cluster)
                times.append(time.perf_counter() - start)
                failures += not report.passed
            first, last = times[:10], times[-10:]
            print(
                f"[3] {args.runs} live checks in one process: median {median(times):.2f}s; "
                f"first 10 {median(first):.2f}s, last 10 {median(last):.2f}s "
                f"({'no slow-down' if median(last) <= median(first) * 1.25 else 'SLOWER'}); "
                f"{failures} failed"
            )
            deadline = time.monotonic() + 60
            while owned_namespaces(cluster.kube) and time.monotonic() < deadline:
                time.sleep(0.5)
            left = owned_namespaces(cluster.kube)
            pods = [
                p["metadata"]["name"]
                for p in cluster.kube.get("/api/v1/pods")["items"]
                # kprep-system holds kind's device plugin, not an attempt's pods.
                if p["metadata"]["namespace"].startswith("kprep-")
                and p["metadata"]["namespace"] != "kprep-system"
            ]
            waited = 60 - max(0.0, deadline - time.monotonic())
            print(
                f"    left behind after {waited:.0f}s: {len(left)} namespace(s), "
                f"{len(pods)} pod(s) {'OK' if not left and not pods else 'LEAK'}"
            )
        finally:
            cluster.close()
    finally:
        if not args.keep_cluster:
            took, _ = run([*KPREP, "cluster", "down", "--provider", args.provider], env)
            print(f"kprep cluster down: {took:.1f}s")
            import shutil

            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
