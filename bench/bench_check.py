"""Benchmark `kprep check` against the schema-only tools users compare it with.

    .venv/bin/python bench/bench_check.py [--runs 21] [--scenario serving-10k]
        [--kubeconform PATH] [--class-runs 7]

1. Whole process on one answer, alternating kprep and kubernetes-validate on the
   same Deployment + PDB answer; prints both medians and the median of per-pair
   ratios (goal <= 0.6).
2. In-process re-grade of an already loaded scenario (what the terminal app does
   while the candidate types), in this process and through the worker process
   that enforces the CEL budget: median and p95 over 300 grades (goal < 30 ms).
3. A class: one `kprep check` call over 200 answers (every check, on every core)
   alternating with kubeconform's schema-only pass over the same 200 files, on as
   many goroutines as cores, pointed at the same Kubernetes 1.36 strict schemas
   (kubernetes-validate's, made standalone: the `$defs` each kind reaches inlined,
   nothing else changed). Goal: kprep's wall time <= 1.0x kubeconform's.
   kubeconform comes from `bash hack/build-kubeconform.sh` (its Go module).
4. The largest inputs: hostile answers of at most 1 MiB (5,000 containers, 200
   documents, deep nesting, long strings, many keys), graded whole process; the
   slowest (goal <= 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


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
    print(f"1. whole process on {answer.relative_to(REPO)} ({runs} alternating runs):")
    print(f"   kprep check          median {statistics.median(ours) * 1000:7.1f} ms")
    print(f"   kubernetes-validate  median {statistics.median(theirs) * 1000:7.1f} ms")
    print(f"   ratio kprep/kv       median {statistics.median(ratios):.2f}  (goal <= 0.6)")


def regrade(answer: Path, scenario_id: str) -> None:
    from app.course.loader import Course
    from app.grading.engine import Grader

    course = Course(REPO)
    text = answer.read_text()
    print(f"2. re-grade of a loaded scenario ({scenario_id}), 300 grades:")
    for label, isolate in (("in this process", False), ("through the worker", True)):
        grader = Grader(course.scenario(scenario_id), crd_dir=course.crd_dir, isolate=isolate)
        grader.grade_text(text, "warm")
        samples = []
        for i in range(300):
            edited = text + f"# keystroke {i}\n"
            start = time.perf_counter()
            grader.grade_text(edited, "live")
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        print(
            f"   {label:20} median {statistics.median(samples):6.2f} ms, "
            f"p95 {samples[int(len(samples) * 0.95)]:6.2f} ms  (goal < 30 ms)"
        )


# A kind's file points into _definitions.json; definitions point at each other locally.
_DEFINITION_REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")


def _inline(node: Any, definitions: dict[str, Any], needed: dict[str, Any]) -> Any:
    """`node` with references into _definitions.json pointing at local `$defs` instead,
    collecting every definition it reaches into `needed`."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            is_ref = key == "$ref" and isinstance(value, str)
            match = _DEFINITION_REF.match(value) if is_ref else None
            if match:
                name = match.group(1)
                if name not in needed:
                    needed[name] = None
                    needed[name] = _inline(definitions[name], definitions, needed)
                out[key] = f"#/$defs/{name}"
            else:
                out[key] = _inline(value, definitions, needed)
        return out
    if isinstance(node, list):
        return [_inline(item, definitions, needed) for item in node]
    return node


def standalone_schemas(folder: Path, kinds: set[tuple[str, str]]) -> Path:
    """kubernetes-validate's 1.36 strict schemas for `kinds`, one self-contained file each
    (kubeconform cannot follow their `/api/_definitions.json` references)."""
    from app.grading.schema import _file_stem, _schema_root

    root = _schema_root()
    definitions = json.loads((root / "_definitions.json").read_text())["$defs"]
    for api_version, kind in kinds:
        stem = _file_stem(api_version, kind)
        needed: dict[str, Any] = {}
        standalone = _inline(json.loads((root / f"{stem}.json").read_text()), definitions, needed)
        standalone["$defs"] = needed
        (folder / f"{stem}.json").write_text(json.dumps(standalone))
    return folder


def find_kubeconform(given: str | None) -> Path | None:
    for candidate in (
        given,
        os.environ.get("KUBECONFORM"),
        shutil.which("kubeconform"),
        str(Path.home() / ".cache/kprep/bin/kubeconform-v0.8.0/kubeconform"),
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def class_of_200(scenario_id: str, kubeconform: Path | None, runs: int) -> None:
    from app.authoring.patch import apply_patch
    from app.course.loader import Course

    scenario = Course(REPO).scenario(scenario_id)
    answer = scenario.answer_text()
    wrongs = [apply_patch(answer, w.patch) for c in scenario.checks for w in c.wrong_answers]
    texts = [answer, scenario.starter_text(), *wrongs]
    folder = Path(tempfile.mkdtemp(prefix="kprep-class-"))
    try:
        files = []
        kinds: set[tuple[str, str]] = set()
        for i in range(200):
            path = folder / f"student-{i:03d}.yaml"
            text = texts[i % len(texts)]
            path.write_text(text)
            files.append(str(path))
            for doc in yaml.safe_load_all(text):
                if isinstance(doc, dict):
                    kinds.add((str(doc.get("apiVersion")), str(doc.get("kind"))))
        kprep = [str(BIN / "kprep"), "check", *files, "-s", scenario_id, "--format", "json"]
        print(f"3. a class: 200 answers to {scenario_id} in one call, {cores()} cores:")
        if kubeconform is None:
            samples = [timed(kprep) for _ in range(runs)]
            print(f"   kprep check          median {statistics.median(samples):.2f} s")
            print("   kubeconform not found: `bash hack/build-kubeconform.sh` builds it")
            return
        schemas = folder / "schemas"
        schemas.mkdir()
        standalone_schemas(schemas, kinds)
        theirs = [
            str(kubeconform),
            "-strict",
            "-n",
            str(cores()),
            "-schema-location",
            f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            *files,
        ]
        check = subprocess.run(theirs, capture_output=True, text=True, check=False)
        if (
            "could not find schema" in check.stdout
            or "failed validation: could not" in check.stdout
        ):
            sys.exit(f"kubeconform found no schema: {check.stdout[:400]}")
        timed(kprep)
        ours_s, theirs_s, ratios = [], [], []
        for _ in range(runs):
            a = timed(kprep)
            b = timed(theirs)
            ours_s.append(a)
            theirs_s.append(b)
            ratios.append(a / b)
        print(f"   kprep check (every check)  median {statistics.median(ours_s):.2f} s")
        print(f"   kubeconform (schema only)  median {statistics.median(theirs_s):.2f} s")
        print(
            f"   ratio kprep/kubeconform    median {statistics.median(ratios):.2f}  (goal <= 1.0)"
        )
    finally:
        shutil.rmtree(folder)


def largest_inputs(scenario_id: str) -> None:
    """Hostile answers of at most 1 MiB, graded whole process; the slowest."""
    answer = yaml.safe_load(pick_answer("gpu-limits").read_text())
    container = answer["spec"]["template"]["spec"]["containers"][0]
    cases: dict[str, str] = {}
    wide = json.loads(json.dumps(answer))
    wide["spec"]["template"]["spec"]["containers"] = [
        dict(json.loads(json.dumps(container)), name=f"c{i}") for i in range(5000)
    ]
    cases["5,000 containers"] = json.dumps(wide, separators=(",", ":"))
    many = yaml.safe_dump(answer)
    cases["200 documents"] = "---\n".join([many] * 200)
    cases["nesting 10,000 deep"] = "a: " + "[" * 10000 + "]" * 10000 + "\n"
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    cases["a 1 MB string"] = config_map + f"data: {{k: '{'x' * 1_000_000}'}}\n"
    keys = ", ".join(f"k{i}: v" for i in range(60_000))
    cases["60,000 keys"] = config_map + f"data: {{{keys}}}\n"
    env = [{"name": f"V{i}", "value": "x"} for i in range(12_000)]
    long_env = json.loads(json.dumps(answer))
    long_env["spec"]["template"]["spec"]["containers"][0]["env"] = env
    cases["12,000 env entries"] = json.dumps(long_env, separators=(",", ":"))
    folder = Path(tempfile.mkdtemp(prefix="kprep-large-"))
    try:
        worst = (0.0, "")
        print("4. the largest inputs (<= 1 MiB each), whole process:")
        for name, text in cases.items():
            data = text.encode()
            assert len(data) <= 1024 * 1024, (name, len(data))
            path = folder / "answer.yaml"
            path.write_bytes(data)
            cmd = [str(BIN / "kprep"), "check", str(path), "-s", "gpu-limits", "--format", "json"]
            seconds = min(timed(cmd) for _ in range(3))
            worst = max(worst, (seconds, name))
            print(f"   {name:22} {len(data) / 1024:7.0f} KiB  {seconds:5.2f} s")
        print(f"   slowest: {worst[1]}, {worst[0]:.2f} s  (goal <= 2 s)")
    finally:
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--class-runs", type=int, default=7)
    parser.add_argument("--scenario", default="serving-10k")
    parser.add_argument(
        "--kubeconform", help="kubeconform binary (default: hack/build-kubeconform.sh's)"
    )
    parser.add_argument(
        "--only", choices=["whole", "regrade", "class", "large"], help="run one part"
    )
    args = parser.parse_args()
    scenario_id = args.scenario
    if not (REPO / "scenarios" / scenario_id).is_dir():
        scenario_id = "gpu-limits"
    answer = pick_answer(scenario_id)
    if args.only in (None, "whole"):
        whole_process(answer, scenario_id, args.runs)
    if args.only in (None, "regrade"):
        regrade(answer, scenario_id)
    if args.only in (None, "class"):
        class_of_200(scenario_id, find_kubeconform(args.kubeconform), args.class_runs)
    if args.only in (None, "large"):
        largest_inputs(scenario_id)


if __name__ == "__main__":
    main()
