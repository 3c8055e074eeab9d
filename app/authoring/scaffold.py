"""`kprep scenarios new`: a scenario skeleton that lint rejects until filled in."""

from __future__ import annotations

from pathlib import Path

_SCENARIO = """\
# TODO: write this scenario. Format: scenarios/README.md. `kprep scenarios lint` checks it.
id: {id}
title: "TODO: the question in a few words"
track: {track}
difficulty: medium
order: 100
lesson: {track}
prompt: |
  TODO: state the situation as an interviewer would: numbers, constraints, names.
hints:
  - level: nudge
    text: "TODO: a nudge that names the concept"
  - level: pointer
    text: "TODO: which field to look at"
  - level: near-answer
    text: "TODO: nearly the answer"
checks:
  - id: todo-check
    title: "TODO: what this check tests"
    points: 1
    concept: todo
    match: {{kind: Deployment}}
    expression: "false"
    message: "TODO: why this matters, not only what is missing."
    wrongAnswers: []
followUps:
  - question: "TODO: what the interviewer asks next"
    keyPoints: ["TODO"]
    modelAnswer: "TODO: the answer a strong candidate gives."
"""

_STARTER = """\
# TODO: the starter the candidate edits; keep TODO markers where they must work.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: example
spec:
  selector:
    matchLabels: {{app: example}}
  template:
    metadata:
      labels: {{app: example}}
    spec:
      containers:
        - name: example
          image: example:v1  # TODO
"""


def scaffold(course_root: Path, scenario_id: str, track: str) -> list[Path]:
    scenario_dir = course_root / "scenarios" / scenario_id
    answer_dir = course_root / "answers" / scenario_id
    scenario_dir.mkdir(parents=True)
    answer_dir.mkdir(parents=True, exist_ok=True)
    files = {
        scenario_dir / "scenario.yaml": _SCENARIO.format(id=scenario_id, track=track),
        scenario_dir / "starter.yaml": _STARTER.format(),
        answer_dir / "answer.yaml": "# TODO: the reference answer; it must pass every check.\n",
        answer_dir / "explanation.md": f"# {scenario_id}\n\nTODO: walk through each field.\n",
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
