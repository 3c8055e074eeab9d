"""An autoscaling run of a course scenario: from the scenario and an answer's text
to what a run needs, for every front end (the CLI, lint, the terminal app, the
live runner).

This module owns reading a scenario's `autoscale:` block (`scenario_setup`),
choosing the load (`--load`: the scenario's built-ins at its peak and baseline,
or a `t,load` file), picking the HPA and its Deployment out of the answer (the
scenario's Deployment when the answer holds only the HPA), naming the metrics
the scenario's adapter does not serve, and the simulated run (`simulate_run`).
Errors are `AutoscaleInputError` (the answer or the scenario) and
`LoadFileError` (the load), each message naming the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.autoscale.hpa import HPASpec, HPASpecError, parse_hpa
from app.autoscale.inputs import AutoscaleInputError, InputProblem, pick_documents
from app.autoscale.load import BUILTIN_PROFILES, LoadProfile, resolve_profile
from app.autoscale.model import AutoscaleScenario, CapacityModel, scenario_from_mapping
from app.autoscale.simulate import simulate
from app.autoscale.timeline import AutoscaleRun
from app.course.models import Scenario
from app.yamlmap import Document, decode, format_path, load_documents

RESOURCE_METRICS = ("cpu", "memory")
"""What metrics-server serves (the resource metrics API)."""


class RunRefused(ValueError):
    """A run cannot start. `messages` are `file[:line[:column]]: reason` lines."""

    def __init__(self, culprit: str, messages: list[str]):
        self.culprit = culprit
        """`answer` or `scenario`: whose problem it is (the CLI's exit code)."""
        self.messages = messages
        super().__init__("\n".join(messages))


def scenario_setup(scenario: Scenario) -> AutoscaleScenario:
    """The scenario's `autoscale:` block, read. Raises `RunRefused` naming
    `scenario.yaml` when it has none or it is invalid."""
    if scenario.autoscale is None:
        raise RunRefused(
            "scenario",
            [
                f"{scenario.source}: scenario {scenario.id!r} has no autoscale block, so "
                "kprep has no load model to run it with"
            ],
        )
    try:
        return scenario_from_mapping(scenario.autoscale)
    except AutoscaleInputError as exc:
        messages = [f"{scenario.source}: {p.message}" for p in exc.problems]
        raise RunRefused("scenario", messages) from None


@dataclass
class PreparedRun:
    """Everything a run of one answer needs, checked."""

    scenario_id: str
    file: str
    setup: AutoscaleScenario
    profile: LoadProfile
    builtin_load: str | None
    """The built-in profile's name when the load is one, else None (a file)."""
    documents: list[Document]
    hpa_index: int
    hpa: Mapping[str, Any]
    spec: HPASpec
    deployment_index: int | None
    deployment: Mapping[str, Any] | None
    deployment_from_scenario: bool
    notes: list[str] = field(default_factory=list)
    """Things the reader should know (the scenario's Deployment was used, ...)."""
    unserved: list[str] = field(default_factory=list)
    """`file:line: ...` for each metric the scenario's adapter does not serve."""

    @property
    def model(self) -> CapacityModel:
        return self.setup.model

    def problems_at(self, problems: list[InputProblem]) -> list[str]:
        return AutoscaleInputError(problems).messages(self.documents, self.file)


def parse_answer(text: str, file: str) -> list[Document]:
    """The answer's documents; raises `RunRefused` with `file:line` on bad YAML."""
    parsed = load_documents(text)
    if parsed.problems:
        raise RunRefused("answer", [f"{file}:{p.line or 1}: {p.message}" for p in parsed.problems])
    return [d for d in parsed.documents if isinstance(d.data, dict)]


def decode_answer(raw: bytes, file: str) -> str:
    """The answer's text; raises `RunRefused` when it is not text."""
    text, problem = decode(raw)
    if text is None:
        message = problem.message if problem else "not readable text"
        raise RunRefused("answer", [f"{file}: {message}"])
    return text


def prepare(scenario: Scenario, text: str, file: str, load: str | None = None) -> PreparedRun:
    """Read the scenario's block, the load and the answer for one run.

    `load` is a built-in profile's name or a `t,load` file (default: the
    scenario's `autoscale.load`). Raises `RunRefused` or `LoadFileError`.
    """
    setup = scenario_setup(scenario)
    load = load or setup.load
    profile = resolve_profile(
        load,
        peak=setup.peak,
        baseline=setup.baseline,
        duration=setup.duration,
        unit=setup.model.unit,
    )
    documents = parse_answer(text, file)
    try:
        hpa_index, hpa, deployment_index, deployment = pick_documents(documents)
    except AutoscaleInputError as exc:
        raise RunRefused("answer", exc.messages(documents, file)) from None
    try:
        spec = parse_hpa(hpa)
    except HPASpecError as exc:
        problems = [
            InputProblem(f"{format_path(p.path)}: {p.message}", hpa_index, p.path)
            for p in exc.problems
        ]
        raise RunRefused(
            "answer", AutoscaleInputError(problems).messages(documents, file)
        ) from None
    notes = []
    from_scenario = False
    if deployment is None and setup.deployment is None:
        raise RunRefused(
            "answer",
            AutoscaleInputError(
                [
                    InputProblem(
                        f"the file has no Deployment for the HPA to scale (scaleTargetRef names "
                        f"{spec.target_name!r}); the controller would report FailedGetScale. "
                        "Add the Deployment to the file",
                        hpa_index,
                        ("spec", "scaleTargetRef"),
                    )
                ]
            ).messages(documents, file),
        )
    if deployment is None and setup.deployment is not None:
        deployment, from_scenario = setup.deployment, True
        name = (setup.deployment.get("metadata") or {}).get("name", "")
        notes.append(
            f"the answer holds no Deployment: the run scales the scenario's Deployment {name!r}"
        )
    prepared = PreparedRun(
        scenario_id=scenario.id,
        file=file,
        setup=setup,
        profile=profile,
        builtin_load=load if load in BUILTIN_PROFILES else None,
        documents=documents,
        hpa_index=hpa_index,
        hpa=hpa,
        spec=spec,
        deployment_index=None if from_scenario else deployment_index,
        deployment=deployment,
        deployment_from_scenario=from_scenario,
        notes=notes,
    )
    prepared.unserved = prepared.problems_at(unserved_metrics(spec, setup.model, hpa_index))
    return prepared


def unserved_metrics(spec: HPASpec, model: CapacityModel, hpa_index: int) -> list[InputProblem]:
    """Each metric of the HPA that nothing in the scenario's cluster serves: the
    controller reports a FailedGet*Metric event for it at every sync."""
    problems = []
    for index, metric in enumerate(spec.metrics):
        path: tuple[str | int, ...] = ("spec", "metrics", index)
        if metric.type in ("Resource", "ContainerResource"):
            if metric.name not in RESOURCE_METRICS:
                member = "resource" if metric.type == "Resource" else "containerResource"
                problems.append(
                    InputProblem(
                        f"resource metric {metric.name!r} is not served: metrics-server "
                        "reports cpu and memory only",
                        hpa_index,
                        (*path, member, "name"),
                    )
                )
            continue
        served, member, api = {
            "Pods": (model.pod_metrics, "pods", "custom.metrics.k8s.io (per pod)"),
            "Object": (model.object_metrics, "object", "custom.metrics.k8s.io (per object)"),
            "External": (model.external_metrics, "external", "external.metrics.k8s.io"),
        }[metric.type]
        kind = served.get(metric.name)
        if kind is None or (metric.type == "Pods" and kind == "totalLoad"):
            names = ", ".join(
                sorted(n for n, k in served.items() if metric.type != "Pods" or k != "totalLoad")
            )
            problems.append(
                InputProblem(
                    f"metric {metric.name!r} is not served by this scenario's metrics adapter "
                    f"on {api} (it serves: {names or 'nothing'}): the controller reports "
                    f"FailedGet{metric.type}Metric at every sync and never scales on it",
                    hpa_index,
                    (*path, member, "metric", "name"),
                )
            )
    return problems


def simulate_run(prepared: PreparedRun, *, time_scale: float = 1.0) -> AutoscaleRun:
    """The simulated run of a prepared answer. Raises `RunRefused`."""
    try:
        return simulate(
            prepared.hpa,
            prepared.deployment,
            prepared.profile,
            prepared.model,
            time_scale=time_scale,
            scenario=prepared.scenario_id,
            file=prepared.file,
            hpa_document=prepared.hpa_index,
            deployment_document=prepared.deployment_index,
        )
    except AutoscaleInputError as exc:
        raise RunRefused("answer", exc.messages(prepared.documents, prepared.file)) from None


__all__ = [
    "PreparedRun",
    "RunRefused",
    "decode_answer",
    "parse_answer",
    "prepare",
    "scenario_setup",
    "simulate_run",
    "unserved_metrics",
]
