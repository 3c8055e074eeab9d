"""What a live run's metrics pipeline serves at one instant: the load model's values
written for the cluster's metrics adapter and kwok's simulated CPU usage.

This module owns the translation from (load, ready pods) to what the real
controller reads, by the same `CapacityModel` the simulator reads, so a live
run and a simulated one see the same numbers:

- `adapter_values`: the values file of kprep's custom/external metrics adapter
  (`hack/modules/metrics/cmd/kprep-metrics-adapter/values.go`): one rule per
  ready pod and per-pod metric the scenario serves (its value is the model's,
  in milli-units, as the simulator serves it), one External rule per External
  metric of the HPA the scenario serves (the whole load, labelled with the
  HPA's own selector: the simulator, too, matches by name only), one Object
  rule per Object metric likewise;
- `cpu_usage`: each running pod's CPU usage for kwok's
  `kwok.x-k8s.io/usage-cpu` annotation, which kwok's simulated kubelet reports
  and metrics-server scrapes.

Pure: it decides values, the live runner writes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from app.autoscale.hpa import HPASpec, PodRequests
from app.autoscale.model import CapacityModel


def milli(value: float) -> int:
    """A value as an adapter serves it: rounded to milli-units (as the simulator does)."""
    return math.floor(value * 1000 + 0.5)


def _quantity(value: float) -> str:
    return f"{milli(value)}m"


def _plural_resource(api_version: str, kind: str) -> str:
    """The group-resource a RESTMapper gives a kind: `services`, `ingresses.networking.k8s.io`."""
    lower = kind.lower()
    plural = lower + ("es" if lower.endswith(("s", "x", "ch", "sh")) else "s")
    if lower.endswith("y") and not lower.endswith(("ay", "ey", "oy", "uy")):
        plural = lower[:-1] + "ies"
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return f"{plural}.{group}" if group else plural


def adapter_values(
    *,
    namespace: str,
    model: CapacityModel,
    spec: HPASpec,
    load: float,
    ready_pods: Sequence[str],
    loading_pods: Sequence[str] = (),
) -> dict[str, Any]:
    """The adapter's values for `load` shared by `ready_pods` (see the module docstring).

    `loading_pods` are Running but not Ready: they report the model's idle values
    only when `model.pod_metrics_before_ready`, else nothing (as in the simulator).
    """
    per_pod_load = load / len(ready_pods) if ready_pods else 0.0
    pods: list[dict[str, Any]] = []
    for metric, kind in sorted(model.pod_metrics.items()):
        if kind == "totalLoad":
            continue
        ready_value = _quantity(model.pod_value(kind, per_pod_load))
        for pod in ready_pods:
            pods.append(
                {"namespace": namespace, "pod": pod, "metric": metric, "value": ready_value}
            )
        if model.pod_metrics_before_ready:
            idle = _quantity(model.pod_value(kind, 0.0))
            for pod in loading_pods:
                pods.append({"namespace": namespace, "pod": pod, "metric": metric, "value": idle})
    objects: list[dict[str, Any]] = []
    external: list[dict[str, Any]] = []
    for metric_spec in spec.metrics:
        if metric_spec.type == "Object":
            if model.object_metrics.get(metric_spec.name) != "totalLoad":
                continue
            api_version, kind, name = metric_spec.described_object or ("", "", "")
            objects.append(
                {
                    "namespace": namespace,
                    "resource": _plural_resource(api_version, kind),
                    "name": name,
                    "metric": metric_spec.name,
                    "value": _quantity(load),
                }
            )
        elif metric_spec.type == "External":
            if model.external_metrics.get(metric_spec.name) != "totalLoad":
                continue
            selector = metric_spec.selector or {}
            labels = selector.get("matchLabels") if isinstance(selector, Mapping) else None
            external.append(
                {
                    "namespace": namespace,
                    "metric": metric_spec.name,
                    "labels": {str(k): str(v) for k, v in (labels or {}).items()},
                    "value": _quantity(load),
                }
            )
    return {"pods": pods, "objects": objects, "external": external}


def cpu_usage(
    model: CapacityModel,
    requests: PodRequests,
    load: float,
    ready_pods: Sequence[str],
    running_pods: Sequence[str],
) -> dict[str, str]:
    """Pod name -> `kwok.x-k8s.io/usage-cpu` for every running pod: the model's CPU
    share of the pod's request at its load (a pod that is not ready serves nothing).
    A pod without a CPU request is counted against one core, as in the simulator."""
    request = sum(c.requests.get("cpu", 0) for c in requests.containers) or 1000
    per_pod_load = load / len(ready_pods) if ready_pods else 0.0
    ready = set(ready_pods)
    usage = {}
    for pod in running_pods:
        percent = model.cpu_utilization(per_pod_load if pod in ready else 0.0)
        usage[pod] = f"{max(1, math.ceil(request * percent / 100))}m"
    return usage


__all__ = ["adapter_values", "cpu_usage", "milli"]
