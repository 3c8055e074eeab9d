"""Core (`v1`) rules: container resources, probes, tolerations, topology spread, pod specs,
Services (k8s.io/kubernetes/pkg/apis/core/validation)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from app.grading.apirules.common import (
    PathT,
    RuleError,
    as_list,
    dig,
    err,
    rules_for,
)
from app.k8s.names import DNS_LABEL, DNS_SUBDOMAIN, QUALIFIED_NAME_PART
from app.k8s.pods import template_paths
from app.k8s.quantity import QuantityError, format_quantity, parse_quantity
from app.k8s.resources import is_extended_resource

STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}


def _valid_resource_name(name: str) -> str | None:
    """None when valid, else the API server's complaint."""
    if "/" not in name:
        if name in STANDARD_CONTAINER_RESOURCES or name.startswith("hugepages-"):
            return None
        return "must be a standard resource for containers"
    prefix, _, local = name.partition("/")
    if (
        not prefix
        or len(prefix) > 253
        or not DNS_SUBDOMAIN.match(prefix)
        or not local
        or len(local) > 63
        or not QUALIFIED_NAME_PART.match(local)
    ):
        return "must be a qualified name"
    if not is_extended_resource(name) and not name.startswith("hugepages-"):
        return "must be a standard resource for containers"
    if not QUALIFIED_NAME_PART.match(f"requests.{name}".replace("/", "-")):
        return "doesn't follow extended resource name standard"
    return None


def _quantities(section: Any, path: PathT, errors: list[RuleError]) -> dict[str, Fraction]:
    parsed: dict[str, Fraction] = {}
    if not isinstance(section, dict):
        return parsed
    for name, raw in section.items():
        name = str(name)
        where = (*path, name)
        complaint = _valid_resource_name(name)
        if complaint:
            errors.append(err(where, f'Invalid value: "{name}": {complaint}'))
            continue
        try:
            amount = parse_quantity(raw)
        except QuantityError as exc:
            errors.append(err(where, f"Invalid value: {raw!r}: {exc}"))
            continue
        if amount < 0:
            errors.append(err(where, f'Invalid value: "{raw}": must be greater than or equal to 0'))
            continue
        if is_extended_resource(name) and amount.denominator != 1:
            errors.append(err(where, f'Invalid value: "{raw}": must be an integer'))
        parsed[name] = amount
    return parsed


def validate_resources(resources: Any, path: PathT) -> list[RuleError]:
    """ValidateResourceRequirements for one container."""
    errors: list[RuleError] = []
    if not isinstance(resources, dict):
        return errors
    limits = _quantities(resources.get("limits"), (*path, "limits"), errors)
    requests = _quantities(resources.get("requests"), (*path, "requests"), errors)
    for name, request in requests.items():
        where = (*path, "requests", name)
        limit = limits.get(name)
        if is_extended_resource(name):
            if limit is None:
                errors.append(
                    err(
                        (*path, "limits"),
                        "Required value: Limit must be set for non overcommitable "
                        f"resources (request of {name} has no matching limit)",
                    )
                )
            elif request != limit:
                errors.append(
                    err(
                        where,
                        f'Invalid value: "{format_quantity(request)}": must be '
                        f"equal to {name} limit of {format_quantity(limit)}",
                    )
                )
        elif (
            limit is not None and request > limit and name in ("cpu", "memory", "ephemeral-storage")
        ):
            errors.append(
                err(
                    where,
                    f'Invalid value: "{format_quantity(request)}": must be less '
                    f"than or equal to {name} limit of {format_quantity(limit)}",
                )
            )
    return errors


def _validate_probe(probe: Any, path: PathT, kind: str) -> list[RuleError]:
    errors: list[RuleError] = []
    if not isinstance(probe, dict):
        return errors
    handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if h in probe]
    if not handlers:
        errors.append(err(path, "Required value: must specify a handler type"))
    elif len(handlers) > 1:
        errors.append(
            err((*path, handlers[1]), "Forbidden: may not specify more than 1 handler type")
        )
    if kind in ("livenessProbe", "startupProbe"):
        success = probe.get("successThreshold")
        if isinstance(success, int) and success != 1:
            errors.append(err((*path, "successThreshold"), f"Invalid value: {success}: must be 1"))
    for name, minimum in (
        ("periodSeconds", 1),
        ("timeoutSeconds", 1),
        ("failureThreshold", 1),
        ("successThreshold", 1),
        ("initialDelaySeconds", 0),
    ):
        value = probe.get(name)
        if isinstance(value, int) and value < minimum:
            errors.append(
                err(
                    (*path, name),
                    f"Invalid value: {value}: must be greater than or equal to {minimum}",
                )
            )
    return errors


def _validate_tolerations(tolerations: Any, path: PathT) -> list[RuleError]:
    errors: list[RuleError] = []
    if not isinstance(tolerations, list):
        return errors
    for i, tol in enumerate(tolerations):
        if not isinstance(tol, dict):
            continue
        where = (*path, i)
        operator = tol.get("operator") or "Equal"
        key = tol.get("key") or ""
        if not key and operator != "Exists":
            errors.append(
                err(
                    (*where, "operator"),
                    f'Invalid value: "{operator}": operator '
                    "must be Exists when `key` is empty, which "
                    'means "match all values and all keys"',
                )
            )
        if operator == "Exists" and tol.get("value"):
            errors.append(
                err(
                    (*where, "operator"),
                    "Invalid value: \"Exists\": value must be empty when `operator` is 'Exists'",
                )
            )
        if operator not in ("Equal", "Exists"):
            errors.append(
                err(
                    (*where, "operator"),
                    f'Unsupported value: "{operator}": supported values: "Equal", "Exists"',
                )
            )
        effect = tol.get("effect")
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errors.append(
                err(
                    (*where, "effect"),
                    f'Unsupported value: "{effect}": supported '
                    'values: "NoExecute", "NoSchedule", '
                    '"PreferNoSchedule"',
                )
            )
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errors.append(
                err(
                    (*where, "effect"),
                    f'Invalid value: "{effect or ""}": effect '
                    "must be 'NoExecute' when `tolerationSeconds` "
                    "is set",
                )
            )
    return errors


def _validate_spread(constraints: Any, path: PathT) -> list[RuleError]:
    errors: list[RuleError] = []
    if not isinstance(constraints, list):
        return errors
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(constraints):
        if not isinstance(item, dict):
            continue
        where = (*path, i)
        skew = item.get("maxSkew")
        if isinstance(skew, int) and skew <= 0:
            errors.append(
                err((*where, "maxSkew"), f"Invalid value: {skew}: must be greater than zero")
            )
        mode = item.get("whenUnsatisfiable")
        if mode not in (None, "DoNotSchedule", "ScheduleAnyway"):
            errors.append(
                err(
                    (*where, "whenUnsatisfiable"),
                    f'Unsupported value: "{mode}": '
                    'supported values: "DoNotSchedule", "ScheduleAnyway"',
                )
            )
        if item.get("minDomains") is not None and mode != "DoNotSchedule":
            errors.append(
                err(
                    (*where, "minDomains"),
                    "Invalid value: minDomains can only be "
                    "set when whenUnsatisfiable is DoNotSchedule",
                )
            )
        pair = (str(item.get("topologyKey")), str(mode))
        if pair in seen:
            errors.append(err((*where, "{topologyKey, whenUnsatisfiable}"), "Duplicate value"))
        seen.add(pair)
    return errors


def validate_pod_spec(spec: Any, path: PathT) -> list[RuleError]:
    errors: list[RuleError] = []
    if not isinstance(spec, dict):
        return errors
    names: set[str] = set()
    for section in ("initContainers", "containers"):
        containers = spec.get(section)
        if not isinstance(containers, list):
            continue
        for i, container in enumerate(containers):
            if not isinstance(container, dict):
                continue
            where = (*path, section, i)
            name = container.get("name")
            if isinstance(name, str):
                if name in names:
                    errors.append(err((*where, "name"), f'Duplicate value: "{name}"'))
                names.add(name)
                if not DNS_LABEL.match(name):
                    errors.append(
                        err(
                            (*where, "name"),
                            f'Invalid value: "{name}": a lowercase '
                            "RFC 1123 label must consist of lower case alphanumeric "
                            "characters or '-'",
                        )
                    )
            errors.extend(validate_resources(container.get("resources"), (*where, "resources")))
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if section == "containers" or container.get("restartPolicy") == "Always":
                    errors.extend(_validate_probe(container.get(probe), (*where, probe), probe))
    errors.extend(_validate_tolerations(spec.get("tolerations"), (*path, "tolerations")))
    errors.extend(
        _validate_spread(
            spec.get("topologySpreadConstraints"), (*path, "topologySpreadConstraints")
        )
    )
    errors.extend(_validate_pod_basics(spec, path))
    return errors


def _validate_pod_basics(spec: dict[str, Any], path: PathT) -> list[RuleError]:
    """Containers and images present, port ranges, volume mounts that name a volume,
    non-empty required node selector terms (found by the live differential test)."""
    errors: list[RuleError] = []
    if not spec.get("containers"):
        errors.append(err((*path, "containers"), "Required value"))
    # Names only: a YAML tag can make a name a set or a map, which a set cannot hold.
    volumes = {
        v["name"]
        for v in as_list(spec.get("volumes"))
        if isinstance(v, dict) and isinstance(v.get("name"), str)
    }
    for section in ("initContainers", "containers"):
        for i, container in enumerate(as_list(spec.get(section))):
            if not isinstance(container, dict):
                continue
            where = (*path, section, i)
            if not container.get("image"):
                errors.append(err((*where, "image"), "Required value"))
            for j, port in enumerate(as_list(container.get("ports"))):
                if not isinstance(port, dict):
                    continue
                for key in ("containerPort", "hostPort"):
                    number = port.get(key)
                    if (
                        isinstance(number, int)
                        and not (1 <= number <= 65535)
                        and not (key == "hostPort" and number == 0)
                    ):
                        errors.append(
                            err(
                                (*where, "ports", j, key),
                                f"Invalid value: {number}: must be between 1 and 65535, inclusive",
                            )
                        )
            for j, mount in enumerate(as_list(container.get("volumeMounts"))):
                name = mount.get("name") if isinstance(mount, dict) else None
                if isinstance(name, str) and name not in volumes:
                    errors.append(err((*where, "volumeMounts", j, "name"), f'Not found: "{name}"'))
    required = dig(
        spec, ("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    )
    if isinstance(required, dict) and not required.get("nodeSelectorTerms"):
        errors.append(
            err(
                (
                    *path,
                    "affinity",
                    "nodeAffinity",
                    "requiredDuringSchedulingIgnoredDuringExecution",
                    "nodeSelectorTerms",
                ),
                "Required value: must have at least one node selector term",
            )
        )
    return errors


@rules_for("", "Pod")
@rules_for("apps", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
@rules_for("batch", "Job", "CronJob")
@rules_for("kubeflow.org", "PyTorchJob")
def validate_templates(obj: dict[str, Any]) -> Iterator[RuleError]:
    """Every pod template of a workload (each PyTorchJob role) is a valid pod spec."""
    for path in template_paths(obj):
        spec_path = (*path, "spec")
        yield from validate_pod_spec(dig(obj, spec_path), spec_path)


@rules_for("", "Service")
def validate_service(obj: dict[str, Any]) -> Iterator[RuleError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    headless = spec.get("clusterIP") == "None"
    if not spec.get("ports") and not headless and spec.get("type") != "ExternalName":
        yield err(("spec", "ports"), "Required value")
