"""Run an answer's Deployment + HPA against a load profile, without a cluster.

This module owns the run: the clock (the controller's sync times, in lab time
when a `time_scale` compresses the run), the loop that syncs the controller of
`app.autoscale.hpa` against the simulated cluster (`app.autoscale.simcluster`)
fed by the load model (`app.autoscale.model`), and the resulting `AutoscaleRun`
(`app.autoscale.timeline`). What the answer file must hold, and the errors it
gets otherwise, are `app.autoscale.inputs`'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from app.autoscale.hpa import (
    ContainerRequests,
    ControllerConfig,
    HorizontalController,
    HPASpecError,
    PodRequests,
    lab_spec,
    parse_hpa,
)
from app.autoscale.inputs import (
    AutoscaleInputError,
    InputProblem,
    check_target,
    pick_documents,
    pod_requests,
)
from app.autoscale.load import LoadProfile
from app.autoscale.model import CapacityModel
from app.autoscale.simcluster import MAX_SIMULATED_REPLICAS, SimDeployment, steady_state_replicas
from app.autoscale.timeline import (
    AutoscaleRun,
    RunEvent,
    Sample,
    TimelinePoint,
    fold_event,
    summarize,
)
from app.yamlmap import Document, format_path


def simulate(
    hpa: Mapping[str, Any],
    deployment: Mapping[str, Any] | None,
    profile: LoadProfile,
    model: CapacityModel,
    *,
    time_scale: float = 1.0,
    config: ControllerConfig | None = None,
    initial_replicas: int | None = None,
    scenario: str = "",
    file: str = "",
    hpa_document: int | None = None,
    deployment_document: int | None = None,
) -> AutoscaleRun:
    """Simulate the HPA scaling the Deployment under `profile`.

    `hpa` and `deployment` are parsed documents (`Document.data`); without a
    Deployment the target's pods request no resources (pass the scenario's
    Deployment when the answer has none and the HPA uses Resource metrics). With
    `time_scale` k > 1 the run happens in lab time as a live run would (every
    duration divided by k, at least 1 s; controller settings from
    `ControllerConfig.for_lab`), and reports times multiplied back by k.
    `initial_replicas` defaults to `steady_state_replicas` for the profile's
    first load. The `*_document` indexes locate problems in the file.

    Raises `AutoscaleInputError` for anything the run cannot start with.
    """
    if not (isinstance(time_scale, int | float) and math.isfinite(time_scale) and time_scale >= 1):
        raise AutoscaleInputError([InputProblem("timeScale must be a number >= 1")])
    try:
        answer_spec = parse_hpa(hpa)
    except HPASpecError as exc:
        raise AutoscaleInputError(
            [
                InputProblem(f"{format_path(p.path)}: {p.message}", hpa_document, p.path)
                for p in exc.problems
            ]
        ) from None
    problems = check_target(answer_spec, hpa_document, deployment)
    requests = PodRequests(())
    if deployment is not None:
        requests, request_problems = pod_requests(deployment, deployment_document)
        problems += request_problems
    if answer_spec.max_replicas > MAX_SIMULATED_REPLICAS:
        problems.append(
            InputProblem(
                f"maxReplicas {answer_spec.max_replicas} is above the {MAX_SIMULATED_REPLICAS} "
                "pods the simulator runs",
                hpa_document,
                ("spec", "maxReplicas"),
            )
        )
    if problems:
        raise AutoscaleInputError(problems)
    if deployment is None:
        # No Deployment in the file (some scenarios ask for the HPA alone): pods of one
        # container that requests nothing, so Resource metrics fail as they would.
        requests = PodRequests((ContainerRequests("main", {}),))

    config = config or ControllerConfig.for_lab(time_scale)
    spec = lab_spec(answer_spec, time_scale)
    lab_model = model.lab(time_scale)
    lab_profile = profile.scaled(time_scale)
    sync_every = max(1, round(config.sync_period))

    if initial_replicas is None:
        initial_replicas = steady_state_replicas(
            spec, lab_model, requests, lab_profile.at(0), config
        )
    target = SimDeployment(answer_spec.target_name or "deployment", initial_replicas, lab_model)
    controller = HorizontalController(spec, config)

    timeline: list[TimelinePoint] = []
    events: list[RunEvent] = []
    samples: list[Sample] = []
    end = math.ceil(lab_profile.duration)
    loads = lab_profile.every_second(end)
    for second in range(end + 1):
        now = float(second)
        load = loads[second]
        answer_t = now * time_scale
        if second % sync_every == 0:
            result = controller.sync(now, target.view(now, load, requests))
            timeline.append(
                TimelinePoint(
                    t=answer_t,
                    load=load,
                    metrics={m.key: m.value for m in result.metrics if m.value is not None},
                    desired_replicas=result.desired_replicas,
                    replicas=result.current_replicas,
                    ready_replicas=target.ready_count(now),
                    conditions=result.conditions,
                )
            )
            for event in result.events:
                fold_event(events, RunEvent(answer_t, event.type, event.reason, event.message))
            if result.rescale:
                target.scale(result.desired_replicas, now)
        samples.append(Sample(answer_t, load, target.spec_replicas, target.ready_count(now)))

    return AutoscaleRun(
        scenario=scenario,
        file=file,
        mode="simulated",
        load_profile=profile.name,
        time_scale=time_scale,
        timeline=tuple(timeline),
        events=tuple(events),
        summary=summarize(samples, model.capacity, answer_spec.max_replicas),
        capacity=model.capacity,
        unit=model.unit,
        min_replicas=answer_spec.min_replicas,
        max_replicas=answer_spec.max_replicas,
        samples=tuple(samples),
    )


def simulate_documents(
    documents: Sequence[Document],
    profile: LoadProfile,
    model: CapacityModel,
    **options: Any,
) -> AutoscaleRun:
    """`simulate` on a parsed answer file (`ParsedFile.documents`); problems locate
    into it with `AutoscaleInputError.messages(documents, file)`."""
    hpa_index, hpa, deployment_index, deployment = pick_documents(documents)
    return simulate(
        hpa,
        deployment,
        profile,
        model,
        hpa_document=hpa_index,
        deployment_document=deployment_index,
        **options,
    )


__all__ = ["simulate", "simulate_documents"]
