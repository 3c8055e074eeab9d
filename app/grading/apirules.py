"""Offline equivalents of the API server validations the course depends on.

Schemas cannot express these (they live in Go, in
k8s.io/kubernetes/pkg/apis/*/validation). Each rule keeps the API server's
meaning and close to its wording, so a candidate learns the message they will
meet on a real cluster. The live differential test (tests/live) compares these
verdicts with a real API server's dry run; a disagreement is a bug here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from app.k8s.quantity import QuantityError, format_quantity, parse_quantity

PathT = tuple[str | int, ...]

STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class RuleError:
    path: PathT
    message: str


def _field(path: PathT) -> str:
    out = ""
    previous: str | int | None = None
    for part in path:
        if isinstance(part, int) or previous in ("limits", "requests", "labels"):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


def _err(path: PathT, message: str) -> RuleError:
    return RuleError(path, f"{_field(path)}: {message}")


def is_extended_resource_name(name: str) -> bool:
    """Domain-qualified, not kubernetes.io, not requests.* (helper.IsExtendedResourceName)."""
    if "/" not in name or name.startswith("requests."):
        return False
    domain = name.split("/", 1)[0]
    return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io"))


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
        or not _DNS_SUBDOMAIN.match(prefix)
        or not local
        or len(local) > 63
        or not _QUALIFIED_NAME.match(local)
    ):
        return "must be a qualified name"
    if not is_extended_resource_name(name) and not name.startswith("hugepages-"):
        return "must be a standard resource for containers"
    if not _QUALIFIED_NAME.match(f"requests.{name}".replace("/", "-")):
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
            errors.append(_err(where, f'Invalid value: "{name}": {complaint}'))
            continue
        try:
            amount = parse_quantity(raw)
        except QuantityError as exc:
            errors.append(_err(where, f"Invalid value: {raw!r}: {exc}"))
            continue
        if amount < 0:
            errors.append(
                _err(where, f'Invalid value: "{raw}": must be greater than or equal to 0')
            )
            continue
        if is_extended_resource_name(name) and amount.denominator != 1:
            errors.append(_err(where, f'Invalid value: "{raw}": must be an integer'))
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
        if is_extended_resource_name(name):
            if limit is None:
                errors.append(
                    _err(
                        (*path, "limits"),
                        "Required value: Limit must be set for non overcommitable "
                        f"resources (request of {name} has no matching limit)",
                    )
                )
            elif request != limit:
                errors.append(
                    _err(
                        where,
                        f'Invalid value: "{format_quantity(request)}": must be '
                        f"equal to {name} limit of {format_quantity(limit)}",
                    )
                )
        elif (
            limit is not None and request > limit and name in ("cpu", "memory", "ephemeral-storage")
        ):
            errors.append(
                _err(
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
        errors.append(_err(path, "Required value: must specify a handler type"))
    elif len(handlers) > 1:
        errors.append(
            _err((*path, handlers[1]), "Forbidden: may not specify more than 1 handler type")
        )
    if kind in ("livenessProbe", "startupProbe"):
        success = probe.get("successThreshold")
        if isinstance(success, int) and success != 1:
            errors.append(_err((*path, "successThreshold"), f"Invalid value: {success}: must be 1"))
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
                _err(
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
                _err(
                    (*where, "operator"),
                    f'Invalid value: "{operator}": operator '
                    "must be Exists when `key` is empty, which "
                    'means "match all values and all keys"',
                )
            )
        if operator == "Exists" and tol.get("value"):
            errors.append(
                _err(
                    (*where, "operator"),
                    "Invalid value: \"Exists\": value must be empty when `operator` is 'Exists'",
                )
            )
        if operator not in ("Equal", "Exists"):
            errors.append(
                _err(
                    (*where, "operator"),
                    f'Unsupported value: "{operator}": supported values: "Equal", "Exists"',
                )
            )
        effect = tol.get("effect")
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errors.append(
                _err(
                    (*where, "effect"),
                    f'Unsupported value: "{effect}": supported '
                    'values: "NoExecute", "NoSchedule", '
                    '"PreferNoSchedule"',
                )
            )
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errors.append(
                _err(
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
                _err((*where, "maxSkew"), f"Invalid value: {skew}: must be greater than zero")
            )
        mode = item.get("whenUnsatisfiable")
        if mode not in (None, "DoNotSchedule", "ScheduleAnyway"):
            errors.append(
                _err(
                    (*where, "whenUnsatisfiable"),
                    f'Unsupported value: "{mode}": '
                    'supported values: "DoNotSchedule", "ScheduleAnyway"',
                )
            )
        if item.get("minDomains") is not None and mode != "DoNotSchedule":
            errors.append(
                _err(
                    (*where, "minDomains"),
                    "Invalid value: minDomains can only be "
                    "set when whenUnsatisfiable is DoNotSchedule",
                )
            )
        pair = (str(item.get("topologyKey")), str(mode))
        if pair in seen:
            errors.append(_err((*where, "{topologyKey, whenUnsatisfiable}"), "Duplicate value"))
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
                    errors.append(_err((*where, "name"), f'Duplicate value: "{name}"'))
                names.add(name)
                if not _DNS_LABEL.match(name):
                    errors.append(
                        _err(
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
        errors.append(_err((*path, "containers"), "Required value"))
    volumes = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    for section in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(section) or []):
            if not isinstance(container, dict):
                continue
            where = (*path, section, i)
            if not container.get("image"):
                errors.append(_err((*where, "image"), "Required value"))
            for j, port in enumerate(container.get("ports") or []):
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
                            _err(
                                (*where, "ports", j, key),
                                f"Invalid value: {number}: must be between 1 and 65535, inclusive",
                            )
                        )
            for j, mount in enumerate(container.get("volumeMounts") or []):
                name = mount.get("name") if isinstance(mount, dict) else None
                if isinstance(name, str) and name not in volumes:
                    errors.append(_err((*where, "volumeMounts", j, "name"), f'Not found: "{name}"'))
    required = _dig(
        spec, ("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    )
    if isinstance(required, dict) and not required.get("nodeSelectorTerms"):
        errors.append(
            _err(
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


def _selector_matches_labels(selector: Any, labels: Any) -> bool:
    from app.grading.celenv import selector_matches

    return selector_matches(selector, labels)


def _template_path(kind: str) -> PathT | None:
    return {
        "Deployment": ("spec", "template"),
        "StatefulSet": ("spec", "template"),
        "DaemonSet": ("spec", "template"),
        "ReplicaSet": ("spec", "template"),
        "Job": ("spec", "template"),
        "CronJob": ("spec", "jobTemplate", "spec", "template"),
        "Pod": (),
    }.get(kind)


def _dig(data: Any, path: PathT) -> Any:
    for part in path:
        if isinstance(part, int):
            data = data[part] if isinstance(data, list) and part < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
    return data


def validate_object(obj: Any) -> Iterator[RuleError]:
    """All offline API-server rules for one document."""
    if not isinstance(obj, dict):
        return
    kind = str(obj.get("kind"))
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not name and not (isinstance(meta, dict) and meta.get("generateName")):
        yield _err(("metadata", "name"), "Required value: name or generateName is required")
    elif isinstance(name, str) and not _DNS_SUBDOMAIN.match(name) and kind != "Node":
        yield _err(
            ("metadata", "name"),
            f'Invalid value: "{name}": a lowercase RFC 1123 '
            "subdomain must consist of lower case alphanumeric characters, '-' or '.'",
        )

    template_path = _template_path(kind)
    if template_path is not None:
        spec_path = (*template_path, "spec")
        yield from validate_pod_spec(_dig(obj, spec_path), spec_path)
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            selector = _dig(obj, ("spec", "selector"))
            labels = _dig(obj, (*template_path, "metadata", "labels"))
            if not isinstance(selector, dict) or not (
                selector.get("matchLabels") or selector.get("matchExpressions")
            ):
                yield _err(
                    ("spec", "selector"),
                    f"Invalid value: empty selector is invalid for {kind.lower()}"
                    if isinstance(selector, dict)
                    else "Required value",
                )
            elif not _selector_matches_labels(selector, labels):
                yield _err(
                    (*template_path, "metadata", "labels"),
                    f"Invalid value: {labels or {}}: `selector` does not match template `labels`",
                )
        if kind == "Job":
            spec = obj.get("spec") or {}
            # batch/v1 defaults completions and parallelism to 1 when both are unset.
            if (
                isinstance(spec, dict)
                and spec.get("completionMode") == "Indexed"
                and spec.get("completions") is None
                and spec.get("parallelism") is not None
            ):
                yield _err(
                    ("spec", "completions"), "Required value: when completion mode is Indexed"
                )
        if kind in ("Job", "CronJob"):
            # Pods default to Always, which Jobs refuse: the API server asks for a value.
            restart = _dig(obj, (*template_path, "spec", "restartPolicy"))
            if restart is None:
                yield _err(
                    (*template_path, "spec", "restartPolicy"),
                    'Required value: valid values: "OnFailure", "Never"',
                )
            elif restart not in ("OnFailure", "Never"):
                yield _err(
                    (*template_path, "spec", "restartPolicy"),
                    f'Unsupported value: "{restart}": supported values: "OnFailure", "Never"',
                )
        if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
            restart = _dig(obj, (*template_path, "spec", "restartPolicy"))
            if restart not in (None, "Always"):
                yield _err(
                    (*template_path, "spec", "restartPolicy"),
                    f'Unsupported value: "{restart}": supported values: "Always"',
                )
    if kind == "PyTorchJob":
        replicas = _dig(obj, ("spec", "pytorchReplicaSpecs"))
        if isinstance(replicas, dict):
            for role in replicas:
                spec_path = ("spec", "pytorchReplicaSpecs", role, "template", "spec")
                yield from validate_pod_spec(_dig(obj, spec_path), spec_path)
    if kind == "HorizontalPodAutoscaler":
        yield from _validate_hpa(obj)
    yield from _validate_more(obj, kind, template_path)
    if kind == "PodDisruptionBudget":
        spec = obj.get("spec") or {}
        if (
            isinstance(spec, dict)
            and spec.get("minAvailable") is not None
            and spec.get("maxUnavailable") is not None
        ):
            yield _err(
                ("spec",), "Invalid value: minAvailable and maxUnavailable cannot be both set"
            )
        for key in ("minAvailable", "maxUnavailable"):
            value = spec.get(key) if isinstance(spec, dict) else None
            if isinstance(value, int) and value < 0:
                yield _err(
                    ("spec", key), f"Invalid value: {value}: must be greater than or equal to 0"
                )
            if isinstance(value, str) and not re.match(r"^[0-9]+%$", value):
                yield _err(
                    ("spec", key),
                    f'Invalid value: "{value}": a valid percent string '
                    "must be a numeric string followed by an ending '%'",
                )


def _validate_hpa(obj: dict[str, Any]) -> Iterator[RuleError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    minimum = spec.get("minReplicas")
    maximum = spec.get("maxReplicas")
    if isinstance(minimum, int) and minimum < 1:
        yield _err(
            ("spec", "minReplicas"), f"Invalid value: {minimum}: must be greater than or equal to 1"
        )
    if isinstance(maximum, int) and maximum < 1:
        yield _err(("spec", "maxReplicas"), f"Invalid value: {maximum}: must be greater than 0")
    if isinstance(maximum, int) and isinstance(minimum, int) and maximum < minimum:
        yield _err(
            ("spec", "maxReplicas"),
            f"Invalid value: {maximum}: must be greater than or equal to `minReplicas`",
        )
    for i, metric in enumerate(spec.get("metrics") or []):
        if not isinstance(metric, dict):
            continue
        where: PathT = ("spec", "metrics", i)
        mtype = metric.get("type")
        source_key = {
            "Resource": "resource",
            "Pods": "pods",
            "Object": "object",
            "External": "external",
            "ContainerResource": "containerResource",
        }.get(str(mtype))
        if source_key is None:
            yield _err(
                (*where, "type"),
                f'Unsupported value: "{mtype}": supported values: '
                '"ContainerResource", "External", "Object", "Pods", "Resource"',
            )
            continue
        source = metric.get(source_key)
        if not isinstance(source, dict):
            yield _err(
                (*where, source_key),
                "Required value: must populate information for the given metric source",
            )
            continue
        raw_target = source.get("target")
        target: dict[str, Any] = raw_target if isinstance(raw_target, dict) else {}
        tpath = (*where, source_key, "target")
        ttype = target.get("type")
        if ttype not in ("Utilization", "Value", "AverageValue"):
            yield _err(
                (*tpath, "type"),
                "Required value: must specify a metric target type"
                if ttype is None
                else f'Invalid value: "{ttype}": must be either '
                "Utilization, Value, or AverageValue",
            )
        for qkey in ("value", "averageValue"):
            raw = target.get(qkey)
            if raw is None:
                continue
            try:
                amount = parse_quantity(raw)
            except QuantityError as exc:
                yield _err((*tpath, qkey), f"Invalid value: {raw!r}: {exc}")
                continue
            if amount <= 0:
                yield _err((*tpath, qkey), "Invalid value: must be positive")
        utilization = target.get("averageUtilization")
        if isinstance(utilization, int) and utilization <= 0:
            yield _err((*tpath, "averageUtilization"), "Invalid value: must be greater than 0")
        if mtype == "Pods" and target.get("averageValue") is None:
            yield _err(
                (*tpath, "averageValue"),
                "Required value: must specify a positive target averageValue",
            )
        if (
            mtype in ("Resource", "ContainerResource")
            and utilization is None
            and target.get("averageValue") is None
        ):
            yield _err(
                (*tpath, "averageUtilization"),
                "Required value: must set either a target raw value or a target utilization",
            )
        if mtype in ("Resource", "ContainerResource") and target.get("value") is not None:
            yield _err(
                (*tpath, "value"), "Forbidden: may not set a target raw value for a resource metric"
            )
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction in ("scaleUp", "scaleDown"):
            rules = behavior.get(direction)
            if not isinstance(rules, dict):
                continue
            window = rules.get("stabilizationWindowSeconds")
            if isinstance(window, int) and not 0 <= window <= 3600:
                yield _err(
                    ("spec", "behavior", direction, "stabilizationWindowSeconds"),
                    f"Invalid value: {window}: must be less than or equal to 3600"
                    if window > 3600
                    else f"Invalid value: {window}: must be greater than or equal to zero",
                )
            select = rules.get("selectPolicy")
            if select not in (None, "Max", "Min", "Disabled"):
                yield _err(
                    ("spec", "behavior", direction, "selectPolicy"),
                    f'Unsupported value: "{select}": supported values: "Disabled", "Max", "Min"',
                )
            policies = rules.get("policies")
            if isinstance(policies, list) and not policies and select != "Disabled":
                yield _err(
                    ("spec", "behavior", direction, "policies"),
                    "Required value: must specify at least one Policy",
                )
            for j, policy in enumerate(policies or []):
                if not isinstance(policy, dict):
                    continue
                ppath = ("spec", "behavior", direction, "policies", j)
                period = policy.get("periodSeconds")
                if isinstance(period, int) and not 0 < period <= 1800:
                    yield _err(
                        (*ppath, "periodSeconds"),
                        f"Invalid value: {period}: must be "
                        "greater than zero and less than or equal to 1800",
                    )
                value = policy.get("value")
                if isinstance(value, int) and value <= 0:
                    yield _err(
                        (*ppath, "value"), f"Invalid value: {value}: must be greater than zero"
                    )


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character"
)


def _qualified_name_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return _NAME_PART_MESSAGE if name else "name part must be non-empty"
    return None


def _validate_meta(meta: Any, path: PathT) -> Iterator[RuleError]:
    if not isinstance(meta, dict):
        return
    for section in ("labels", "annotations"):
        values = meta.get(section)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            problem = _qualified_name_problem(str(key))
            if problem:
                yield _err((*path, section, str(key)), f'Invalid value: "{key}": {problem}')
            elif (
                section == "labels"
                and isinstance(value, str)
                and (len(value) > 63 or not _LABEL_VALUE.match(value))
            ):
                yield _err(
                    (*path, section, str(key)),
                    f'Invalid value: "{value}": a valid '
                    "label must be an empty string or consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character",
                )


def _is_zero(value: Any) -> bool:
    return value == 0 or value in ("0", "0%")


def _validate_more(
    obj: dict[str, Any], kind: str, template_path: PathT | None
) -> Iterator[RuleError]:
    """Rules the live differential test found missing (label syntax, negative counts, ...)."""
    yield from _validate_meta(obj.get("metadata"), ("metadata",))
    if template_path is not None and template_path:
        yield from _validate_meta(
            _dig(obj, (*template_path, "metadata")), (*template_path, "metadata")
        )
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    counts = {
        "Deployment": ("replicas",),
        "ReplicaSet": ("replicas",),
        "StatefulSet": ("replicas",),
        "Job": ("parallelism", "completions"),
    }
    for key in counts.get(kind, ()):
        value = spec.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            yield _err(("spec", key), f"Invalid value: {value}: must be greater than or equal to 0")
    if kind == "Deployment":
        strategy = spec.get("strategy")
        if isinstance(strategy, dict):
            rolling = strategy.get("rollingUpdate")
            if strategy.get("type") == "Recreate" and rolling is not None:
                yield _err(
                    ("spec", "strategy", "rollingUpdate"),
                    "Forbidden: may not be specified when strategy `type` is 'Recreate'",
                )
            elif (
                isinstance(rolling, dict)
                and _is_zero(rolling.get("maxSurge"))
                and _is_zero(rolling.get("maxUnavailable"))
            ):
                yield _err(
                    ("spec", "strategy", "rollingUpdate", "maxUnavailable"),
                    "Invalid value: 0: may not be 0 when `maxSurge` is 0",
                )
    if kind == "HorizontalPodAutoscaler":
        ref = spec.get("scaleTargetRef")
        if isinstance(ref, dict):
            if not ref.get("name"):
                yield _err(("spec", "scaleTargetRef", "name"), "Required value")
            if not ref.get("apiVersion"):
                yield _err(
                    ("spec", "scaleTargetRef", "apiVersion"),
                    'Invalid value: "": apiVersion must specify API group',
                )
    if kind == "Service":
        headless = spec.get("clusterIP") == "None"
        if not spec.get("ports") and not headless and spec.get("type") != "ExternalName":
            yield _err(("spec", "ports"), "Required value")
