"""Benchmark `kprep check` against kubernetes-validate, the schema-only tool users compare with.

    .venv/bin/python bench/bench_check.py [--runs 21] [--scenario serving-10k]

1. Whole process, alternating kprep and kubernetes-validate on the same
   Deployment + PDB answer; prints both medians and the median of per-pair ratios.
2. In-process re-grade of an already loaded scenario (what the terminal app does
   while the candidate types): median and p95 over 300 grades.
3. One `kprep check` call over 200 answers (an instructor grading a class).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def pick_answer(scenario_id: str) -> Path:
    path = REPO / "answers" / scenario_id / "answer.yaml"
    if not path.is_file():
        sys.exit(f"no reference answer for {scenario_id}")
    return path


def whole_process(answer: Path, scenario_id: str, runs: int) -> None:
    kprep = [str(BIN / "kprep"), "check", str(answer), "-s", scenario_id, "--format", "json"]
    validate = [str(BIN / "kubernetes-validate"), "--strict", "-k", "1.36.0", str(answer)]
    for cmd in (kprep, validate):  # warm caches (the page cache, kprep's schema cache)
        timed(cmd)
    ours, theirs, ratios = [], [], []
    for _ in range(runs):
        a = timed(kprep)
        b = timed(validate)
        ours.append(a)
        theirs.append(b)
        ratios.append(a / b)
    print(f"whole process on {answer.relative_to(REPO)} ({runs} alternating runs):")
    print(f"  kprep check          median {statistics.median(ours) * 1000:7.1f} ms")
    print(f"  kubernetes-validate  median {statistics.median(theirs) * 1000:7.1f} ms")
    print(f"  ratio kprep/kv       median {statistics.median(ratios):.2f}  (goal <= 1.0)")


def regrade(answer: Path, scenario_id: str) -> None:
    sys.path.insert(0, str(REPO))
    from app.course.loader import Course
    from app.grading.engine import Grader

    course = Course(REPO)
    grader = Grader(course.scenario(scenario_id), crd_dir=course.crd_dir)
    text = answer.read_text()
    grader.grade_text(text, "warm")
    samples = []
    for i in range(300):
        edited = text + f"# keystroke {i}\n"
        start = time.perf_counter()
        grader.grade_text(edited, "live")
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(
        f"in-process re-grade of {scenario_id}: median {statistics.median(samples):.2f} ms, "
        f"p95 {samples[int(len(samples) * 0.95)]:.2f} ms  (goal < 30 ms)"
    )


def class_of_200(scenario_id: str) -> None:
    sys.path.insert(0, str(REPO))
    from app.authoring.patch import apply_patch
    from app.course.loader import Course

    scenario = Course(REPO).scenario(scenario_id)
    answer = scenario.answer_text()
    wrongs = [apply_patch(answer, w.patch) for c in scenario.checks for w in c.wrong_answers]
    texts = [answer, scenario.starter_text(), *wrongs]
    folder = Path(tempfile.mkdtemp(prefix="kprep-class-"))
    try:
        files = []
        for i in range(200):
            path = folder / f"student-{i:03d}.yaml"
            path.write_text(texts[i % len(texts)])
            files.append(str(path))
        cmd = [str(BIN / "kprep"), "check", *files, "-s", scenario_id, "--format", "json"]
        samples = [timed(cmd) for _ in range(3)]
        print(
            f"kprep check over 200 answers: median {statistics.median(samples):.2f} s (goal < 10 s)"
        )
    finally:
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--scenario", default="serving-10k")
    args = parser.parse_args()
    scenario_id = args.scenario
    if not (REPO / "scenarios" / scenario_id).is_dir():
        scenario_id = "gpu-limits"
    answer = pick_answer(scenario_id)
    whole_process(answer, scenario_id, args.runs)
    regrade(answer, scenario_id)
    class_of_200(scenario_id)


if __name__ == "__main__":
    main()
