"""Calibrate and time the follow-up coverage scorer (the `kprep[coach]` extra).

Positives: every follow-up's key points against its own model answer (the course says
the model answer covers them). Negatives: the same key points against answers that
must not cover them: tests/data/coach_unrelated.yaml (off topic, evasive, other
technology), and, as a harder set reported apart, the model answers of follow-ups from
other tracks (Kubernetes vocabulary, another question).

For each threshold it prints point-level precision and recall, and the answer-level
numbers the issue asks for: the share of model answers that cover all their key points
and the share of unrelated answers that cover any. Then it times a whole follow-up
(answer embedded, key points cached, as in the app) and prints the load average, since
the reference machine is shared. Writes bench/coach-results.json.

    .venv/bin/python bench/bench_coach.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.coach.coverage import THRESHOLD, load_scorer  # noqa: E402
from app.course.loader import Course  # noqa: E402

GRID = [round(0.30 + 0.02 * i, 2) for i in range(21)]


def main() -> None:
    started = time.perf_counter()
    scorer = load_scorer()
    load_seconds = time.perf_counter() - started
    scenarios, errors = Course(REPO).load_all()
    if errors:
        sys.exit(f"course errors: {errors}")
    unrelated = yaml.safe_load((REPO / "tests/data/coach_unrelated.yaml").read_text())
    follow_ups = [(s, f) for s in scenarios for f in s.follow_ups]

    def best(points: tuple[str, ...], rows):  # type: ignore[no-untyped-def]
        return (scorer.key_vectors(points) @ rows.T).max(axis=1)

    answer_rows = {id(f): scorer.answer_vectors(f.model_answer) for _, f in follow_ups}
    unrelated_rows = [scorer.answer_vectors(text) for text in unrelated]
    own: list[list[float]] = []
    against_unrelated: list[list[list[float]]] = []
    against_other_tracks: list[list[float]] = []
    for scenario, follow_up in follow_ups:
        own.append([float(x) for x in best(follow_up.key_points, answer_rows[id(follow_up)])])
        against_unrelated.append(
            [[float(x) for x in best(follow_up.key_points, rows)] for rows in unrelated_rows]
        )
        for other_scenario, other in follow_ups:
            if other_scenario.track != scenario.track:
                against_other_tracks.append(
                    [float(x) for x in best(follow_up.key_points, answer_rows[id(other)])]
                )

    def metrics(threshold: float) -> dict[str, float]:
        tp = sum(s >= threshold for scores in own for s in scores)
        positives = sum(len(scores) for scores in own)
        fp = sum(s >= threshold for per in against_unrelated for sc in per for s in sc)
        fp_hard = sum(s >= threshold for scores in against_other_tracks for s in scores)
        hard_total = sum(len(scores) for scores in against_other_tracks)
        recall = tp / positives
        precision = tp / (tp + fp) if tp + fp else 1.0
        # As many other-track pairs as positives, so the rate is comparable to the recall.
        balanced = tp / (tp + fp_hard * positives / hard_total) if tp else 0.0
        return {
            "threshold": threshold,
            "recall": round(recall, 4),
            "precision_vs_unrelated": round(precision, 4),
            "f1_vs_unrelated": round(2 * precision * recall / (precision + recall), 4)
            if precision + recall
            else 0.0,
            "model_answers_covering_all": round(
                sum(all(s >= threshold for s in scores) for scores in own) / len(own), 4
            ),
            "unrelated_answers_covering_any": round(
                sum(any(s >= threshold for s in sc) for per in against_unrelated for sc in per)
                / sum(len(per) for per in against_unrelated),
                4,
            ),
            "other_track_points_covered": round(fp_hard / hard_total, 4),
            "balanced_precision_vs_other_tracks": round(balanced, 4),
            "balanced_f1_vs_other_tracks": round(2 * balanced * recall / (balanced + recall), 4)
            if balanced + recall
            else 0.0,
        }

    table = [metrics(t) for t in GRID]
    best_threshold = max(table, key=lambda row: row["balanced_f1_vs_other_tracks"])["threshold"]
    chosen = metrics(THRESHOLD)
    misses = [
        {"scenario": s.id, "question": f.question, "key_point": k, "score": round(x, 3)}
        for (s, f), scores in zip(follow_ups, own, strict=True)
        for k, x in zip(f.key_points, scores, strict=True)
        if x < THRESHOLD
    ]

    # Speed: a whole follow-up as the app scores it (key points cached after the first).
    wall, cpu = [], []
    for _, follow_up in follow_ups:
        scorer.coverage(follow_up.key_points, "warm the key point cache")
        t, c = time.perf_counter(), time.process_time()
        scorer.coverage(follow_up.key_points, follow_up.model_answer)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    speed = {
        "load_seconds": round(load_seconds, 2),
        "follow_ups": len(wall),
        "wall_ms_median": round(statistics.median(wall), 1),
        "wall_ms_p90": round(sorted(wall)[int(0.9 * len(wall))], 1),
        "cpu_ms_median": round(statistics.median(cpu), 1),
        "cpu_ms_p90": round(sorted(cpu)[int(0.9 * len(cpu))], 1),
        "answer_chars_median": statistics.median(len(f.model_answer) for _, f in follow_ups),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    result = {
        "scorer": scorer.name,
        "threshold": THRESHOLD,
        "key_points": sum(len(f.key_points) for _, f in follow_ups),
        "follow_ups": len(follow_ups),
        "unrelated_answers": len(unrelated),
        "at_threshold": chosen,
        "best_balanced_f1_threshold": best_threshold,
        "grid": table,
        "model_answer_misses": misses,
        "speed": speed,
    }
    (REPO / "bench/coach-results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(follow_ups)} follow-ups, {result['key_points']} key points, "
          f"{len(unrelated)} unrelated answers")  # fmt: skip
    print("thresh  recall  prec(unrel)  all-covered  unrel-any  other-track  bal-prec  bal-f1")
    for row in table:
        mark = " <" if row["threshold"] == THRESHOLD else ""
        print(
            f"{row['threshold']:.2f}    {row['recall']:.3f}   {row['precision_vs_unrelated']:.3f}"
            f"        {row['model_answers_covering_all']:.3f}        "
            f"{row['unrelated_answers_covering_any']:.3f}      "
            f"{row['other_track_points_covered']:.3f}       "
            f"{row['balanced_precision_vs_other_tracks']:.3f}     "
            f"{row['balanced_f1_vs_other_tracks']:.3f}{mark}"
        )
    print(
        f"best balanced F1 against other tracks' answers at {best_threshold} (in use: {THRESHOLD})"
    )
    print("speed:", json.dumps(speed))
    print(f"{len(misses)} key points below the threshold in their own model answer")


if __name__ == "__main__":
    main()
