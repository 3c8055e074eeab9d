"""Answer objects a provider rewrote to run for real, read back as the candidate wrote them.

A provider whose nodes really start containers (kind) applies a rewritten copy of
each answer object (`Provider.runnable`): placeholder images, no probes, cpu and
memory scaled to its nodes. Live checks must judge the answer as written, plus
what the API server filled in, so the rewrite records what it changed and the live
grader calls `restore` on every object and pod it reads back. On a provider that
rewrites nothing (kwok) there is no record and `restore` returns the object as is.

Three records, all annotations:

- `kprep.dev/original-containers` on the metadata beside each rewritten pod spec (a
  Pod's own, or a template's, so every pod created from the template carries it):
  JSON `{"containers": {name: {field: value}}, "initContainers": {...}}` with the
  original value of each field the rewrite touched, `null` when it was absent;
- `kprep.dev/original-spec` on an object whose whole `spec` was rewritten
  (ResourceQuota, LimitRange): the original spec as JSON;
- `kprep.dev/original-volumes` beside a pod spec whose volumes were swapped (an
  `image` volume would pull the candidate's image): JSON `{name: volume}`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from app.k8s.limitrange import apply_container_defaults

Defaults = tuple[dict[str, Any], dict[str, Any]]
"""(default limits, default requests) a LimitRange fills in (`app.k8s.limitrange`)."""
NO_DEFAULTS: Defaults = ({}, {})
ORIGINAL_CONTAINERS = "kprep.dev/original-containers"
ORIGINAL_SPEC = "kprep.dev/original-spec"
ORIGINAL_VOLUMES = "kprep.dev/original-volumes"
CONTAINER_LISTS = ("containers", "initContainers")


def record_containers(
    metadata: dict[str, Any], original_spec: dict[str, Any], fields: tuple[str, ...]
) -> None:
    """Record `fields` of every container in `original_spec` on `metadata` (in place)."""
    record: dict[str, dict[str, dict[str, Any]]] = {}
    for key in CONTAINER_LISTS:
        containers = original_spec.get(key)
        if not isinstance(containers, list):
            continue
        record[key] = {
            str(c.get("name")): {f: copy.deepcopy(c.get(f)) for f in fields}
            for c in containers
            if isinstance(c, dict)
        }
    annotations = metadata.setdefault("annotations", {})
    annotations[ORIGINAL_CONTAINERS] = json.dumps(record, sort_keys=True)


def record_volumes(metadata: dict[str, Any], volumes: dict[str, Any]) -> None:
    """Record the original of each swapped volume, by name, on `metadata` (in place)."""
    annotations = metadata.setdefault("annotations", {})
    annotations[ORIGINAL_VOLUMES] = json.dumps(volumes, sort_keys=True)


def record_spec(obj: dict[str, Any], original_spec: Any) -> None:
    """Record an object's whole original `spec` on its metadata (in place)."""
    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("annotations", {})[ORIGINAL_SPEC] = json.dumps(original_spec)


def restore(obj: Any, limit_defaults: Defaults = NO_DEFAULTS) -> Any:
    """A copy of `obj` with every recorded original put back and the records removed.

    `limit_defaults`: what the attempt's LimitRanges, as written, fill into containers
    (`app.k8s.limitrange`); re-applied to restored containers, since the API server
    filled in the rewritten (scaled) amounts.
    """
    if not isinstance(obj, dict) or not _has_record(obj):
        return obj
    result = copy.deepcopy(obj)
    _restore(result, limit_defaults)
    return result


def _has_record(value: Any) -> bool:
    text = json.dumps(value) if not isinstance(value, str) else value
    return any(key in text for key in (ORIGINAL_CONTAINERS, ORIGINAL_SPEC, ORIGINAL_VOLUMES))


def _pop_record(metadata: Any, key: str) -> Any:
    if not isinstance(metadata, dict):
        return None
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict) or key not in annotations:
        return None
    text = annotations.pop(key)
    if not annotations:
        metadata.pop("annotations")
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _restore(value: Any, limit_defaults: Defaults) -> None:
    if isinstance(value, list):
        for item in value:
            _restore(item, limit_defaults)
        return
    if not isinstance(value, dict):
        return
    spec = _pop_record(value.get("metadata"), ORIGINAL_SPEC)
    if spec is not None:
        value["spec"] = spec
    record = _pop_record(value.get("metadata"), ORIGINAL_CONTAINERS)
    if isinstance(record, dict) and isinstance(value.get("spec"), dict):
        _restore_containers(value["spec"], record, limit_defaults)
    volumes = _pop_record(value.get("metadata"), ORIGINAL_VOLUMES)
    if isinstance(volumes, dict) and isinstance(value.get("spec"), dict):
        value["spec"]["volumes"] = [
            volumes.get(str(v.get("name")), v) if isinstance(v, dict) else v
            for v in value["spec"].get("volumes") or []
        ]
    for item in value.values():
        _restore(item, limit_defaults)


def _restore_containers(
    spec: dict[str, Any], record: dict[str, Any], limit_defaults: Defaults
) -> None:
    for key in CONTAINER_LISTS:
        originals = record.get(key)
        if not isinstance(originals, dict):
            continue
        for container in spec.get(key) or []:
            fields = originals.get(str(container.get("name")))
            if not isinstance(fields, dict):
                continue
            for name, original in fields.items():
                if original is None:
                    container.pop(name, None)
                else:
                    container[name] = original
            _default_like_the_api_server(container)
            apply_container_defaults(container, limit_defaults)


def _default_like_the_api_server(container: dict[str, Any]) -> None:
    """Re-apply the API server's defaults to restored fields (what it stored for them)."""
    resources = container.setdefault("resources", {})
    limits = resources.get("limits")
    if isinstance(limits, dict) and limits:
        requests = resources.setdefault("requests", {})
        for name, value in limits.items():
            requests.setdefault(name, value)
    if "imagePullPolicy" not in container:
        image = str(container.get("image") or "")
        tag = image.rsplit("/", 1)[-1]
        untagged_or_latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
        container["imagePullPolicy"] = "Always" if untagged_or_latest else "IfNotPresent"
