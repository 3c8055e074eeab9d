"""What a LimitRange fills into a pod's containers, as the API server does.

Two steps of the API server, for `type: Container` limits:
- defaulting the LimitRange itself (`SetDefaults_LimitRange` in
  pkg/apis/core/v1/defaults.go): a resource with `max` and no `default` gets
  `default = max`; one with `default` and no `defaultRequest` gets
  `defaultRequest = default`;
- the LimitRanger admission plugin (plugin/pkg/admission/limitranger): a container
  without a limit for a resource gets the `default`, without a request the
  `defaultRequest`.
The kind provider scales a LimitRange's amounts to its host-sized nodes; reading pods
back, `app.cluster.originals` uses these defaults, from the answer as written, to
show the requests and limits kwok (which applies the answer unscaled) would show.
"""

from __future__ import annotations

from typing import Any


def container_defaults(spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(default limits, default requests) of a LimitRange spec's Container limits."""
    limits: dict[str, Any] = {}
    requests: dict[str, Any] = {}
    items = spec.get("limits") if isinstance(spec, dict) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("type") != "Container":
            continue
        default = dict(item.get("default") or {})
        for name, value in (item.get("max") or {}).items():
            default.setdefault(name, value)
        default_request = dict(item.get("defaultRequest") or {})
        for name, value in default.items():
            default_request.setdefault(name, value)
        for name, value in default.items():
            limits.setdefault(name, value)
        for name, value in default_request.items():
            requests.setdefault(name, value)
    return limits, requests


def apply_container_defaults(
    container: dict[str, Any], defaults: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Fill what the container leaves unset, as LimitRanger admission does (in place)."""
    limits, requests = defaults
    if not limits and not requests:
        return
    resources = container.setdefault("resources", {})
    for key, values in (("limits", limits), ("requests", requests)):
        if values:
            current = resources.setdefault(key, {})
            for name, value in values.items():
                current.setdefault(name, value)
