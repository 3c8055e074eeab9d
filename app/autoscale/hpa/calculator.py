"""pkg/controller/podautoscaler/replica_calculator.go: from metric samples to a replica count.

The pieces every metric source shares: tolerances, grouping pods into ready,
unready, missing and ignored (`group_pods`), the usage and utilization ratios
with Go's integer arithmetic, the second pass over unready and missing pods, and
the per-pod division of Object and External AverageValue targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.autoscale.hpa.spec import INT32_MAX, INT64_MAX
from app.autoscale.hpa.view import PodRequests, PodState


@dataclass(frozen=True)
class Tolerances:
    """replica_calculator.go `Tolerances`."""

    scale_down: float
    scale_up: float

    def is_within(self, usage_ratio: float) -> bool:
        """`Tolerances.isWithin`: no change while the ratio is inside [1-down, 1+up]."""
        return (1.0 - self.scale_down) <= usage_ratio <= (1.0 + self.scale_up)


class CalcError(Exception):
    """A metric failed; the message is the controller's error text."""


@dataclass
class PodGroups:
    ready_count: int
    unready: set[str]
    missing: set[str]
    ignored: set[str]


def group_pods(
    pods: Sequence[PodState],
    metrics: Mapping[str, Any],
    resource: str,
    now: float,
    cpu_initialization_period: float,
    initial_readiness_delay: float,
) -> PodGroups:
    """replica_calculator.go `groupPods`: which pods count, which are unready,
    which have no metric, which are ignored (deleting or failed)."""
    groups = PodGroups(0, set(), set(), set())
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            groups.ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            groups.unready.add(pod.name)
            continue
        metric = metrics.get(pod.name)
        if metric is None:
            groups.missing.add(pod.name)
            continue
        if resource == "cpu":
            if pod.ready is None or pod.start_time is None or pod.ready_transition_time is None:
                unready = True
            elif pod.start_time + cpu_initialization_period > now:
                # Within the CPU-initialization period: ignore the sample if the pod is
                # unready, or if one metric window has not passed since it turned ready.
                unready = (not pod.ready) or (
                    metric.timestamp < pod.ready_transition_time + metric.window
                )
            else:
                # Afterwards: ignore it only if it is unready and has never been ready
                # (its last transition came within the initial-readiness delay).
                unready = (not pod.ready) and (
                    pod.start_time + initial_readiness_delay > pod.ready_transition_time
                )
            if unready:
                groups.unready.add(pod.name)
                continue
        groups.ready_count += 1
    return groups


def pod_request(requests: PodRequests, pod_name: str, resource: str, container: str | None) -> int:
    """replica_calculator.go `calculateRequests` for one pod."""
    if requests.pod_level is not None and not container:
        # `calculatePodLevelRequests` (PodLevelResources is on by default in 1.36).
        if resource not in requests.pod_level:
            raise CalcError(f"missing pod-level request for {resource} in Pod {pod_name}")
        return requests.pod_level[resource]
    total = 0
    for c in requests.containers:
        if not container or container == c.name:
            if resource not in c.requests:
                raise CalcError(
                    f"missing request for {resource} in container {c.name} of Pod {pod_name}"
                )
            total += c.requests[resource]
        if container == c.name:
            return total
    if container:
        raise CalcError(f"container {container} not found in Pod {pod_name}")
    return total


def utilization_ratio(
    metrics: Mapping[str, int], requests: Mapping[str, int], target: int
) -> tuple[float, int, int]:
    """metrics/utilization.go `GetResourceUtilizationRatio` (integer percentage, then ratio)."""
    metrics_total = 0
    requests_total = 0
    entries = 0
    for pod_name, value in metrics.items():
        if pod_name not in requests:
            continue
        metrics_total += value
        requests_total += requests[pod_name]
        entries += 1
    if requests_total == 0:
        raise CalcError("no metrics returned matched known pods")
    utilization = go_div(metrics_total * 100, requests_total)
    return utilization / target, utilization, go_div(metrics_total, entries)


def usage_ratio(metrics: Mapping[str, int], target: int) -> tuple[float, int]:
    """metrics/utilization.go `GetMetricUsageRatio`."""
    total = sum(metrics.values())
    usage = go_div(total, len(metrics))
    return usage / target, usage


def go_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def ceil_int32(value: float) -> int:
    """int32(math.Ceil(x)) for the values the controller produces."""
    return min(INT32_MAX, math.ceil(value))


def replicas_with_unready_and_missing(
    usage_ratio: float,
    metrics: dict[str, int],
    groups: PodGroups,
    current_replicas: int,
    tolerances: Tolerances,
    missing_value_on_scale_down: Mapping[str, int],
    recompute: Callable[[dict[str, int]], float],
) -> int:
    """The shared second half of `GetResourceReplicas` and `calcPlainMetricReplicas`."""
    scale_up_with_unready = bool(groups.unready) and usage_ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if tolerances.is_within(usage_ratio):
            return current_replicas
        return ceil_int32(usage_ratio * groups.ready_count)
    if groups.missing:
        if usage_ratio < 1.0:
            # Scale-down: missing pods count as at the target (100% of the request for
            # utilization, or the target itself when it is above 100%).
            for name in groups.missing:
                metrics[name] = missing_value_on_scale_down[name]
        elif usage_ratio > 1.0:
            # Scale-up: missing pods count as using nothing.
            for name in groups.missing:
                metrics[name] = 0
    if scale_up_with_unready:
        for name in groups.unready:
            metrics[name] = 0
    new_ratio = recompute(metrics)
    if (
        tolerances.is_within(new_ratio)
        or (usage_ratio < 1.0 and new_ratio > 1.0)
        or (usage_ratio > 1.0 and new_ratio < 1.0)
    ):
        # Too small a change, or the assumptions flipped the direction: hold.
        return current_replicas
    new_replicas = ceil_int32(new_ratio * len(metrics))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (
        new_ratio > 1.0 and new_replicas < current_replicas
    ):
        return current_replicas
    return new_replicas


def per_pod_replicas(
    status_replicas: int, usage: int, target_per_pod: int, tolerances: Tolerances
) -> tuple[int, int]:
    """replica_calculator.go `GetObjectPerPodMetricReplicas` and
    `GetExternalPerPodMetricReplicas`: AverageValue targets divide the total by the
    pods that exist (status.replicas), not by the ready ones."""
    replicas = status_replicas
    if status_replicas == 0:
        return math.ceil(usage / target_per_pod), usage
    ratio = usage / (target_per_pod * replicas)
    if not tolerances.is_within(ratio):
        result = math.ceil(usage / target_per_pod)
        replicas = INT32_MAX if result > INT32_MAX else result
    per_pod = INT64_MAX if usage >= INT64_MAX else math.ceil(usage / status_replicas)
    return replicas, per_pod
