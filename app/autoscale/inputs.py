"""What an autoscaling run needs out of the answer file, and what it refuses.

This module owns the input errors every autoscaling front end reports
(`AutoscaleInputError`, each `InputProblem` locating into the file), picking
the HPA and the Deployment it scales out of a parsed answer (`pick_documents`),
the pods' requests as the API server defaults them (`pod_requests`), and the
target reference the controller could not resolve (`check_target`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.autoscale.hpa import ContainerRequests, HPASpec, PodRequests, milli_value
from app.k8s.quantity import QuantityError, parse_quantity
from app.yamlmap import Document, format_path


class AutoscaleInputError(ValueError):
    """The answer or the model cannot be simulated. Each problem names where."""

    def __init__(self, problems: Sequence[InputProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    def messages(self, documents: Sequence[Document] = (), file: str = "") -> list[str]:
        """`file:line:column: message` for problems inside a document of `documents`
        (as `app.yamlmap` parsed them), else `file: message`."""
        out = []
        for problem in self.problems:
            where = file or "answer"
            if problem.document is not None and problem.document < len(documents):
                line, column = documents[problem.document].locate(problem.path)
                where = f"{where}:{line}:{column}"
            out.append(f"{where}: {problem.message}")
        return out


@dataclass(frozen=True)
class InputProblem:
    message: str
    document: int | None = None
    """Index of the document in the file, when the problem is inside one."""
    path: tuple[str | int, ...] = ()


def pick_documents(
    documents: Sequence[Document],
) -> tuple[int, Mapping[str, Any], int | None, Mapping[str, Any] | None]:
    """The HPA and the Deployment it scales, out of a parsed answer file.

    Returns (hpa index, hpa, deployment index, deployment); the Deployment is None
    when the file has none. Raises `AutoscaleInputError` when there is no HPA or
    more than one."""
    hpas = [d for d in documents if d.kind == "HorizontalPodAutoscaler"]
    if not hpas:
        raise AutoscaleInputError(
            [InputProblem("the file has no HorizontalPodAutoscaler to simulate")]
        )
    if len(hpas) > 1:
        raise AutoscaleInputError(
            [
                InputProblem(
                    "the file has several HorizontalPodAutoscalers; the simulator runs one",
                    hpas[1].index,
                    ("kind",),
                )
            ]
        )
    hpa = hpas[0]
    target = (hpa.data.get("spec") or {}).get("scaleTargetRef") or {}
    name = target.get("name") if isinstance(target, Mapping) else None
    deployments = [d for d in documents if d.kind == "Deployment"]
    chosen = next((d for d in deployments if d.name == name), None)
    if chosen is None and len(deployments) == 1:
        chosen = deployments[0]
    if chosen is None:
        return hpa.index, hpa.data, None, None
    return hpa.index, hpa.data, chosen.index, chosen.data


def pod_requests(
    deployment: Mapping[str, Any], document: int | None
) -> tuple[PodRequests, list[InputProblem]]:
    """Requests per container, as the API server defaults them (a request left out
    takes the limit: pkg/apis/core/v1/defaults.go `SetDefaults_Pod`)."""
    problems: list[InputProblem] = []
    template = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}

    def read(resources: object, path: tuple[str | int, ...]) -> dict[str, int]:
        if not isinstance(resources, Mapping):
            return {}
        requests: dict[str, int] = {}
        for section in ("limits", "requests"):  # requests win over defaulted limits
            values = resources.get(section)
            if not isinstance(values, Mapping):
                continue
            for name, raw in values.items():
                try:
                    requests[str(name)] = milli_value(parse_quantity(raw))
                except QuantityError as exc:
                    problems.append(
                        InputProblem(
                            f"{format_path((*path, section, name))}: {exc}",
                            document,
                            (*path, section, name),
                        )
                    )
        return requests

    containers = []
    for group in ("containers", "initContainers"):
        items = template.get(group)
        if not isinstance(items, list):
            continue
        for index, container in enumerate(items):
            if not isinstance(container, Mapping):
                continue
            sidecar = container.get("restartPolicy") == "Always"
            if group == "initContainers" and not sidecar:
                continue
            path = ("spec", "template", "spec", group, index, "resources")
            containers.append(
                ContainerRequests(
                    str(container.get("name", "")),
                    read(container.get("resources"), path),
                    restartable_init=group == "initContainers",
                )
            )
    pod_level = None
    if isinstance(template.get("resources"), Mapping):
        pod_level = read(template["resources"], ("spec", "template", "spec", "resources"))
        pod_level = pod_level or None
    return PodRequests(tuple(containers), pod_level), problems


def check_target(
    spec: HPASpec,
    hpa_index: int | None,
    deployment: Mapping[str, Any] | None,
) -> list[InputProblem]:
    """The controller reads the target's scale subresource; a wrong reference gets
    FailedGetScale and nothing ever scales. Say so before simulating."""
    path = ("spec", "scaleTargetRef")
    problems = []
    if spec.target_kind != "Deployment":
        problems.append(
            InputProblem(
                f"scaleTargetRef.kind is {spec.target_kind!r}: the simulator scales a Deployment",
                hpa_index,
                (*path, "kind"),
            )
        )
    name = ((deployment or {}).get("metadata") or {}).get("name") or ""
    if deployment is not None and spec.target_name != name:
        problems.append(
            InputProblem(
                f"scaleTargetRef.name is {spec.target_name!r} but the Deployment is {name!r}: "
                "the controller would report FailedGetScale and never scale",
                hpa_index,
                (*path, "name"),
            )
        )
    if spec.target_api_version != "apps/v1":
        problems.append(
            InputProblem(
                f"scaleTargetRef.apiVersion is {spec.target_api_version!r}: a Deployment's "
                "scale subresource is served at apps/v1 (FailedGetScale otherwise)",
                hpa_index,
                (*path, "apiVersion"),
            )
        )
    return problems
