"""What the live grader refuses to apply, decided before anything reaches the cluster.

The candidate's YAML runs on a cluster kprep (or the candidate) owns, so the
rules are about keeping an attempt inside its namespace and off the host:

- only kinds the scenario allows (its `allowedKinds`, default: the kinds of its
  reference answer), and only namespaced ones (checked against discovery by the
  caller); `Namespace` documents are skipped, since every attempt runs in a
  fresh namespace of kprep's;
- no privileged containers, hostPath volumes, hostNetwork, hostPID or hostIPC,
  wherever a pod spec is embedded (Deployments, Jobs, CronJobs, custom
  resources);
- at most `MAX_OBJECTS` objects.

A refusal names the field, so the report points at the line; any refusal means
nothing is applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MAX_OBJECTS = 50
HOST_FLAGS = ("hostNetwork", "hostPID", "hostIPC")

PathT = tuple[str | int, ...]


@dataclass(frozen=True)
class Refusal:
    path: PathT
    """Field inside the document that caused it (for the report's line)."""
    message: str


def _walk(node: Any, path: PathT) -> Iterator[tuple[PathT, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def host_access(document: Any) -> list[Refusal]:
    """Privileged containers and host namespaces/paths anywhere in one document."""
    refusals: list[Refusal] = []
    for path, node in _walk(document, ()):
        if not isinstance(node, dict):
            continue
        if "containers" in node:
            for flag in HOST_FLAGS:
                if node.get(flag) is True:
                    refusals.append(
                        Refusal(
                            (*path, flag),
                            f"{flag}: true shares the host's namespaces; kprep does not run it",
                        )
                    )
        if path and path[-1] == "securityContext" and node.get("privileged") is True:
            refusals.append(
                Refusal(
                    (*path, "privileged"),
                    "privileged containers get full access to the host; kprep does not run them",
                )
            )
        if len(path) >= 2 and path[-2] == "volumes" and "hostPath" in node:
            refusals.append(
                Refusal(
                    (*path, "hostPath"),
                    "hostPath volumes expose the host's "
                    "files; kprep does not run them (use emptyDir or a PVC)",
                )
            )
    return refusals


def allowed_kinds(scenario_kinds: Sequence[str], reference_kinds: Sequence[str]) -> set[str]:
    return set(scenario_kinds or reference_kinds)


def kind_refusal(kind: str, allowed: set[str]) -> Refusal | None:
    if kind in allowed:
        return None
    listed = ", ".join(sorted(allowed)) or "none"
    return Refusal(
        ("kind",), f"kprep does not apply {kind} objects for this scenario (allowed: {listed})"
    )
